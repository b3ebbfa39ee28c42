use sea_orm::entity::prelude::*;

use crate::domain::ids::{AccountId, SyncRunId};

/// A record a run fetched, staged until the run has applied it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sync_upstream_users")]
pub struct Model {
    pub account_id: AccountId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub run_id: SyncRunId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    pub external_id: String,
    pub username: Option<String>,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The folded username a new user would get, for "earlier in the listing" checks.
    pub username_key: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
