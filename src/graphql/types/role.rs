use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::enums::{PermissionArea, PermissionLevel};
use crate::domain::permission::Grants;
use crate::graphql::context::loaders;
use crate::graphql::relay::encode_id;
use crate::store::entities::role;

pub const ROLE: &str = "Role";

/// A named set of grants in the account.
#[derive(Clone)]
pub struct Role {
    model: role::Model,
    /// Known when the service loaded them; otherwise read through the loader.
    grants: Option<Grants>,
}

impl Role {
    pub fn new(model: role::Model) -> Self {
        Self {
            model,
            grants: None,
        }
    }

    pub fn with_grants(model: role::Model, grants: Grants) -> Self {
        Self {
            model,
            grants: Some(grants),
        }
    }
}

/// One area's level.
#[derive(SimpleObject, Clone, Copy)]
pub struct Grant {
    /// The permission area.
    pub area: PermissionArea,
    /// The level granted in that area.
    pub level: PermissionLevel,
}

/// Every area with its level.
pub fn grant_list(grants: &Grants) -> Vec<Grant> {
    grants
        .iter()
        .map(|(area, level)| Grant {
            area: area.into(),
            level: level.into(),
        })
        .collect()
}

/// A named set of grants in the account: a level for each permission area. Listing or looking up
/// roles, and `User.roles`, need ROLES READ.
#[Object]
impl Role {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        encode_id(ROLE, &self.model.id.to_string())
    }
    /// Unique in the account in any letter case; at most 100 characters.
    async fn name(&self) -> &str {
        &self.model.name
    }
    /// Free text; absent when none was given.
    async fn description(&self) -> Option<&str> {
        self.model.description.as_deref()
    }
    /// The built-in Account Admin role: FULL everywhere, cannot be edited or deleted.
    async fn is_account_admin(&self) -> bool {
        self.model.is_account_admin
    }
    /// The level of every permission area.
    async fn grants(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Grant>> {
        let grants = match self.grants {
            Some(grants) => grants,
            None => loaders(ctx)?
                .grants_of_role()
                .load_one(self.model.id)
                .await?
                .unwrap_or_default(),
        };
        Ok(grant_list(&grants))
    }
    /// When the role was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
}
