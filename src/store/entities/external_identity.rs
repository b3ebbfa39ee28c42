use sea_orm::entity::prelude::*;

use crate::domain::ids::{AccountId, ExternalIdentityId, UserId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "external_identities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: ExternalIdentityId,
    pub account_id: AccountId,
    pub user_id: UserId,
    pub source: String,
    pub external_id: String,
    pub created_at: DateTimeUtc,
    /// Since when a user sync has not found the record upstream (never deleted: flagged).
    pub missing_since: Option<DateTimeUtc>,
    /// Consecutive complete sync runs that did not find the record.
    pub missed_runs: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
