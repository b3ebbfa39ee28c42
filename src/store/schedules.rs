//! Schedules' queries. A tick is taken by moving `next_run_at` from the value the worker saw to
//! the next one in a conditional `UPDATE`: of several replicas, exactly one succeeds.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};

use super::Conn;
use super::entities::schedule::{self, ScheduleAnchor};
use crate::domain::ids::AccountId;

/// How often a schedule fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Every {
    Seconds(i64),
    Months(i32),
}

/// A schedule to create if it does not exist yet.
#[derive(Clone, Debug)]
pub struct NewSchedule {
    pub name: String,
    pub account_id: Option<AccountId>,
    pub job_kind: String,
    pub payload: serde_json::Value,
    pub every: Every,
    pub anchor: ScheduleAnchor,
    pub jitter_seconds: i32,
    pub first_run_at: DateTime<Utc>,
}

/// Creates the schedule unless one of that name exists (its timing is then left as it is).
pub async fn ensure(conn: &impl Conn, new: NewSchedule, now: DateTime<Utc>) -> Result<(), DbErr> {
    let (every_seconds, every_months) = match new.every {
        Every::Seconds(seconds) => (Some(seconds), None),
        Every::Months(months) => (None, Some(months)),
    };
    let model = schedule::ActiveModel {
        name: Set(new.name),
        account_id: Set(new.account_id),
        job_kind: Set(new.job_kind),
        payload: Set(new.payload),
        every_seconds: Set(every_seconds),
        every_months: Set(every_months),
        anchor: Set(new.anchor),
        jitter_seconds: Set(new.jitter_seconds),
        next_run_at: Set(Some(new.first_run_at)),
        last_fired_at: Set(None),
        last_completed_at: Set(None),
        enabled: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    };
    schedule::Entity::insert(model)
        .on_conflict_do_nothing_on([schedule::Column::Name])
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn find(conn: &impl Conn, name: &str) -> Result<Option<schedule::Model>, DbErr> {
    schedule::Entity::find_by_id(name.to_owned())
        .one(conn)
        .await
}

/// Enabled schedules whose time has come.
pub async fn due(conn: &impl Conn, now: DateTime<Utc>) -> Result<Vec<schedule::Model>, DbErr> {
    schedule::Entity::find()
        .filter(schedule::Column::Enabled.eq(true))
        .filter(schedule::Column::NextRunAt.lte(now))
        .order_by_asc(schedule::Column::NextRunAt)
        .order_by_asc(schedule::Column::Name)
        .all(conn)
        .await
}

/// Takes the tick planned for `expected`: moves `next_run_at` to `next` (None while an
/// after-completion run is under way). False when another worker took it first.
pub async fn take_tick(
    conn: &impl Conn,
    name: &str,
    expected: DateTime<Utc>,
    next: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = schedule::Entity::update_many()
        .col_expr(schedule::Column::NextRunAt, Expr::value(next))
        .col_expr(schedule::Column::LastFiredAt, Expr::value(now))
        .col_expr(schedule::Column::UpdatedAt, Expr::value(now))
        .filter(schedule::Column::Name.eq(name))
        .filter(schedule::Column::NextRunAt.eq(expected))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Records that a run ended and, for after-completion schedules, plans the next one.
pub async fn completed(
    conn: &impl Conn,
    name: &str,
    next: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut update = schedule::Entity::update_many()
        .col_expr(schedule::Column::LastCompletedAt, Expr::value(now))
        .col_expr(schedule::Column::UpdatedAt, Expr::value(now))
        .filter(schedule::Column::Name.eq(name));
    if let Some(next) = next {
        update = update
            .col_expr(schedule::Column::NextRunAt, Expr::value(next))
            .filter(schedule::Column::NextRunAt.is_null());
    }
    update.exec(conn).await?;
    Ok(())
}

/// Turns a schedule on or off.
pub async fn set_enabled(
    conn: &impl Conn,
    name: &str,
    enabled: bool,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = schedule::Entity::update_many()
        .col_expr(schedule::Column::Enabled, Expr::value(enabled))
        .col_expr(schedule::Column::UpdatedAt, Expr::value(now))
        .filter(schedule::Column::Name.eq(name))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Changes how often a schedule fires and, with `next`, when it fires next.
pub async fn retime(
    conn: &impl Conn,
    name: &str,
    every_seconds: i64,
    jitter_seconds: i32,
    next: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut update = schedule::Entity::update_many()
        .col_expr(schedule::Column::EverySeconds, Expr::value(every_seconds))
        .col_expr(
            schedule::Column::EveryMonths,
            Expr::value(Option::<i32>::None),
        )
        .col_expr(schedule::Column::JitterSeconds, Expr::value(jitter_seconds))
        .col_expr(schedule::Column::UpdatedAt, Expr::value(now))
        .filter(schedule::Column::Name.eq(name));
    if let Some(next) = next {
        update = update.col_expr(schedule::Column::NextRunAt, Expr::value(next));
    }
    update.exec(conn).await?;
    Ok(())
}

/// Plans the next run at `at` (a failing source's slower pace); the worker's own planning at
/// completion then leaves it as it is.
pub async fn plan_next(
    conn: &impl Conn,
    name: &str,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    schedule::Entity::update_many()
        .col_expr(schedule::Column::NextRunAt, Expr::value(at))
        .col_expr(schedule::Column::UpdatedAt, Expr::value(now))
        .filter(schedule::Column::Name.eq(name))
        .exec(conn)
        .await?;
    Ok(())
}
