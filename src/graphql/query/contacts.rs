//! Account contacts by topic and the contact setup banner.

use async_graphql::{Context, Object};

use crate::graphql::context::{caller, services};
use crate::graphql::types::contacts::{ContactSetup, ContactTopic};

#[derive(Default)]
pub struct ContactQuery;

#[Object]
impl ContactQuery {
    /// Every topic the vendor contacts the account about, with its contacts, whether it is
    /// required and whether it is satisfied. Needs ACCOUNT_CONTACTS READ.
    async fn contact_topics(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ContactTopic>> {
        let topics = services(ctx).contact_topics(caller(ctx)?).await?;
        Ok(topics.into_iter().map(ContactTopic).collect())
    }

    /// Whether the account's contacts are complete and current, for the app's banner on load.
    /// Needs ACCOUNT_CONTACTS READ.
    async fn contact_setup(&self, ctx: &Context<'_>) -> async_graphql::Result<ContactSetup> {
        Ok(ContactSetup(
            services(ctx).contact_setup(caller(ctx)?).await?,
        ))
    }
}
