use sea_orm::entity::prelude::*;

use crate::domain::bulk::RowStatus;
use crate::domain::ids::{AccountId, BulkUserJobId, UserId};

/// One source row of a bulk user job and its result.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bulk_user_job_rows")]
pub struct Model {
    pub account_id: AccountId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub job_id: BulkUserJobId,
    /// The row's place in the source, from 1.
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    /// The row as given (`domain::bulk::SourceRow`).
    pub source: Json,
    /// The folded username, for "earlier in the batch" checks.
    pub username_key: Option<String>,
    /// The agent ID the row gives, for "earlier in the batch" checks and generation.
    pub given_agent_id: Option<i64>,
    /// The source record the row links its user to (a pending user or an external record), for
    /// "already linked" and "earlier in the batch" checks.
    pub link_key: Option<String>,
    pub status: RowStatus,
    /// The user created or activated.
    pub user_id: Option<UserId>,
    /// The agent ID the user got (given or generated).
    pub agent_id: Option<i64>,
    /// Every reason the row failed or was skipped (`[{code, message}]`).
    pub errors: Option<Json>,
    pub processed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
