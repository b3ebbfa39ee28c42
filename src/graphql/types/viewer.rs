use async_graphql::{Context, Object};

use super::account::Account;
use super::role::{Grant, grant_list};
use super::user::User;
use crate::auth::principal::AccountUser;
use crate::graphql::context::services;

/// The caller: their user, their account, and what they may do.
pub struct Viewer(pub AccountUser);

/// The caller: their user, their account, and what they may do.
#[Object]
impl Viewer {
    /// The caller's own user record.
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        Ok(User::from(services(ctx).viewer(&self.0).await?))
    }
    /// The caller's account.
    async fn account(&self, ctx: &Context<'_>) -> async_graphql::Result<Account> {
        Ok(Account(services(ctx).account(&self.0).await?))
    }
    /// The effective level per area: the caller's roles, narrowed by the token's scopes.
    async fn permissions(&self) -> Vec<Grant> {
        grant_list(&self.0.effective())
    }
    /// The token's scopes; empty when the token is not scoped (it then has the user's rights).
    async fn scopes(&self) -> Vec<String> {
        self.0.scopes.names()
    }
}
