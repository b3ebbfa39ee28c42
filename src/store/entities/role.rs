use sea_orm::entity::prelude::*;

use crate::domain::ids::{AccountId, RoleId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "roles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: RoleId,
    pub account_id: AccountId,
    pub name: String,
    pub name_key: String,
    pub description: Option<String>,
    /// The built-in Account Admin role: FULL everywhere, not editable.
    pub is_account_admin: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
