use sea_orm::entity::prelude::*;

use crate::domain::ids::{AccountId, SyncRunId, SyncSourceId};
use crate::domain::sync::{PrimaryIdentifier, SourceStatus};

/// An account's upstream of users: one per integration, read through the account's connection.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sync_sources")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: SyncSourceId,
    pub account_id: AccountId,
    pub integration_key: String,
    /// `None`: username (where the upstream has usernames), then email.
    pub primary_identifier: Option<PrimaryIdentifier>,
    /// Seconds between runs, counted from the end of the last one.
    pub every_seconds: i64,
    /// Deactivate a user gone upstream for this many consecutive complete runs; `None`: never.
    pub deactivate_after_missed_runs: Option<i32>,
    pub enabled: bool,
    pub status: SourceStatus,
    pub consecutive_failures: i32,
    /// The run under way or awaiting approval: at most one per source.
    pub active_run_id: Option<SyncRunId>,
    pub last_run_at: Option<DateTimeUtc>,
    /// Why the last run failed (names no secret).
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
