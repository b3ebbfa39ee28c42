//! The query root, merged from one object per area.

mod audit;
mod bulk_users;
mod connection_requests;
mod contacts;
mod directory;
mod integrations;
pub mod notices;
mod platform;
mod user_sync;
pub mod users;

use async_graphql::{Context, ID, MergedObject, Object};

use crate::graphql::context::{caller, services};
use crate::graphql::types::account::Account;
use crate::graphql::types::node::{self, Node};
use crate::graphql::types::viewer::Viewer;

/// Reads. Every field needs a bearer token: account data needs an account user (who sees only
/// their own account), account management a platform operator.
#[derive(MergedObject, Default)]
pub struct Query(
    RootQuery,
    users::UserQuery,
    directory::DirectoryQuery,
    integrations::IntegrationQuery,
    audit::AuditQuery,
    contacts::ContactQuery,
    platform::PlatformQuery,
    notices::NoticeQuery,
    connection_requests::ConnectionRequestQuery,
    bulk_users::BulkUserQuery,
    user_sync::UserSyncQuery,
);

#[derive(Default)]
pub struct RootQuery;

#[Object]
impl RootQuery {
    /// The caller: their user, account and effective permissions.
    async fn viewer(&self, ctx: &Context<'_>) -> async_graphql::Result<Viewer> {
        Ok(Viewer(caller(ctx)?.clone()))
    }

    /// The caller's account.
    async fn account(&self, ctx: &Context<'_>) -> async_graphql::Result<Account> {
        Ok(Account(services(ctx).account(caller(ctx)?).await?))
    }

    /// Any object by its global id. Unknown ids and other accounts' ids are both NOT_FOUND.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global id, as returned by any `id` field.")] id: ID,
    ) -> async_graphql::Result<Option<Node>> {
        Ok(Some(node::resolve(ctx, &id).await?))
    }
}
