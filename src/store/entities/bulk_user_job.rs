use sea_orm::entity::prelude::*;

use crate::domain::bulk::{JobSource, JobStatus};
use crate::domain::ids::{AccountId, BulkUserJobId, UserId};

/// A job that creates (or activates) users from a template user, with its progress.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bulk_user_jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: BulkUserJobId,
    pub account_id: AccountId,
    pub requested_by: UserId,
    pub template_user_id: UserId,
    /// The same key returns the same job (per account).
    pub idempotency_key: Option<String>,
    pub source: JobSource,
    /// The job whose failed rows this one retries.
    pub retry_of: Option<BulkUserJobId>,
    /// Agent IDs are generated from here for rows without one; `None`: no generation.
    pub starting_agent_id: Option<i64>,
    /// Where the next generated agent ID search starts (every lower candidate is taken).
    pub next_agent_id: Option<i64>,
    pub status: JobStatus,
    pub total: i32,
    pub processed: i32,
    pub created: i32,
    pub failed: i32,
    pub skipped: i32,
    pub cancel_requested_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
