use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use super::notice::AccountNotice;
use super::platform::LicenceUsage;
use crate::graphql::context::{caller, services};
use crate::graphql::errors::field_or_denial;
use crate::graphql::relay::encode_id;
use crate::store::entities::account::{self, AccountStatus};

pub const ACCOUNT: &str = "Account";

/// A customer company: the tenant every record belongs to.
#[derive(Clone)]
pub struct Account(pub account::Model);

/// A customer company: the tenant every record belongs to.
#[Object]
impl Account {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        encode_id(ACCOUNT, &self.0.id.to_string())
    }
    /// URL name: lowercase letters, digits and hyphens.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// The company's name as shown in the product.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// How many ACTIVE LOGIN users the account may have.
    async fn licence_limit(&self) -> i32 {
        self.0.licence_limit
    }
    /// Whether the account is suspended (its users' tokens are refused while it is).
    async fn suspended(&self) -> bool {
        self.0.status == AccountStatus::Suspended
    }
    /// When the account was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// How the licence seats are used: the limit, seats in use, pending and non-login users.
    /// Needs USERS READ (`null` with FORBIDDEN at this field otherwise).
    async fn licence_usage(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<LicenceUsage>> {
        let usage = services(ctx).licence_usage(caller(ctx)?).await;
        Ok(field_or_denial(ctx, usage)?.map(Into::into))
    }
    /// The email domains topic contacts must use (and their subdomains); empty: any domain.
    /// Needs ACCOUNT_CONTACTS READ.
    async fn allowed_contact_domains(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<String>>> {
        Ok(field_or_denial(
            ctx,
            services(ctx).allowed_contact_domains(caller(ctx)?).await,
        )?)
    }
    /// The vendor's notices about integrations the account uses, newest first, until the viewer
    /// dismisses them (`dismissNotice`). Needs INTEGRATIONS READ.
    async fn notices(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only notices the viewer has not dismissed.", default = false)]
        unread_only: bool,
    ) -> async_graphql::Result<Option<Vec<AccountNotice>>> {
        let notices = services(ctx)
            .account_notices(caller(ctx)?, unread_only)
            .await
            .map(|list| {
                list.into_iter()
                    .map(|(notice, dismissed)| AccountNotice { notice, dismissed })
                    .collect()
            });
        Ok(field_or_denial(ctx, notices)?)
    }
}
