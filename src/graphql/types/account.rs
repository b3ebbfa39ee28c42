use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use super::platform::LicenceUsage;
use crate::error::AppError;
use crate::graphql::context::{caller, services};
use crate::graphql::errors::deny_field;
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
        match services(ctx).licence_usage(caller(ctx)?).await {
            Ok(usage) => Ok(Some(usage.into())),
            Err(denied @ (AppError::Forbidden(..) | AppError::InsufficientScopes { .. })) => {
                deny_field(ctx, denied);
                Ok(None)
            }
            Err(other) => Err(other.into()),
        }
    }
}
