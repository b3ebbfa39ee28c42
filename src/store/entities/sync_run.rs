use sea_orm::entity::prelude::*;

use crate::domain::ids::{AccountId, SyncRunId, SyncSourceId, UserId};
use crate::domain::sync::{RunStatus, RunTrigger};

/// One execution of a user sync, or its dry-run preview, with its counts.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sync_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: SyncRunId,
    pub account_id: AccountId,
    pub source_id: SyncSourceId,
    pub trigger: RunTrigger,
    /// A preview: the same fetch and checks, nothing changed.
    pub dry_run: bool,
    pub status: RunStatus,
    pub fetched: i32,
    pub created: i32,
    pub updated: i32,
    pub unchanged: i32,
    pub missing: i32,
    pub deactivated: i32,
    pub conflicts: i32,
    pub failed: i32,
    /// The last staged record whose change is applied: a resumed run goes on after it.
    pub applied_through: i32,
    /// The users gone upstream have been handled.
    pub missing_applied: bool,
    pub error: Option<String>,
    pub requested_by: Option<UserId>,
    pub decided_by: Option<UserId>,
    pub decided_at: Option<DateTimeUtc>,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
