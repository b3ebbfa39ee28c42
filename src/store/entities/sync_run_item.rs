use sea_orm::entity::prelude::*;

use crate::domain::ids::{AccountId, SyncRunId, UserId};
use crate::domain::sync::{ItemAction, ItemStatus};

/// What a run did (or would do) for one upstream record or linked user. Records that needed no
/// change have no item: the run counts them.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sync_run_items")]
pub struct Model {
    pub account_id: AccountId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub run_id: SyncRunId,
    /// The record's place in the upstream listing; users gone upstream come after it.
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    pub external_id: String,
    pub user_id: Option<UserId>,
    pub action: ItemAction,
    pub status: ItemStatus,
    /// `[{field, before, after}]` (`domain::sync::FieldChange`).
    pub changes: Option<Json>,
    pub error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
