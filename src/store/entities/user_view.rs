use sea_orm::entity::prelude::*;

use crate::domain::ids::{AccountId, UserId, UserViewId};

/// A saved filter over an account's users.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_views")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: UserViewId,
    pub account_id: AccountId,
    pub name: String,
    /// The folded name: unique per account.
    pub name_key: String,
    /// The filter (`store::users::UserFilter` as JSON).
    pub filter: Json,
    pub created_by: Option<UserId>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
