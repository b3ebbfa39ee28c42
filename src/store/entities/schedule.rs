use sea_orm::entity::prelude::*;

use crate::domain::ids::AccountId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "schedules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    pub account_id: Option<AccountId>,
    pub job_kind: String,
    pub payload: Json,
    pub every_seconds: Option<i64>,
    pub every_months: Option<i32>,
    pub anchor: ScheduleAnchor,
    pub jitter_seconds: i32,
    pub next_run_at: Option<DateTimeUtc>,
    pub last_fired_at: Option<DateTimeUtc>,
    pub last_completed_at: Option<DateTimeUtc>,
    pub enabled: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// When the next run is counted from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
pub enum ScheduleAnchor {
    /// From the planned time of the previous run.
    #[sea_orm(string_value = "FIXED")]
    Fixed,
    /// From the end of the previous run.
    #[sea_orm(string_value = "AFTER_COMPLETION")]
    AfterCompletion,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
