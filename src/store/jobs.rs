//! The job queue's queries. A worker claims a due job with one conditional `UPDATE … RETURNING`
//! (both databases support it; PostgreSQL also skips rows other workers hold), which sets a lease;
//! finishing a job is conditional on still holding that lease.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, Query};
use sea_orm::{ColumnTrait, Condition, DbBackend, DbErr, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::Conn;
use super::entities::account::{self, AccountStatus};
use super::entities::job::{self, JobStatus};
use crate::domain::ids::AccountId;

/// A job to enqueue.
#[derive(Clone, Debug)]
pub struct NewJob {
    pub account_id: Option<AccountId>,
    pub kind: String,
    pub payload: serde_json::Value,
    pub run_at: DateTime<Utc>,
    pub max_attempts: i32,
    /// Enqueueing twice with the same key enqueues once.
    pub dedupe_key: Option<String>,
    pub schedule_name: Option<String>,
}

/// Records the job; `None` when a job with the same dedupe key already exists.
pub async fn enqueue(
    conn: &impl Conn,
    new: NewJob,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, DbErr> {
    let id = Uuid::new_v4();
    let model = job::ActiveModel {
        id: Set(id),
        account_id: Set(new.account_id),
        kind: Set(new.kind),
        payload: Set(new.payload),
        status: Set(JobStatus::Queued),
        run_at: Set(new.run_at),
        attempts: Set(0),
        max_attempts: Set(Ord::max(new.max_attempts, 1)),
        lease_owner: Set(None),
        lease_expires_at: Set(None),
        last_error: Set(None),
        dedupe_key: Set(new.dedupe_key),
        schedule_name: Set(new.schedule_name),
        created_at: Set(now),
        updated_at: Set(now),
        finished_at: Set(None),
    };
    let inserted = job::Entity::insert(model)
        .on_conflict_do_nothing_on([job::Column::DedupeKey])
        .exec_without_returning(conn)
        .await?;
    Ok(match inserted {
        sea_orm::TryInsertResult::Inserted(rows) if rows > 0 => Some(id),
        _ => None,
    })
}

/// Due and not held by a live lease, and not of a suspended account.
fn claimable(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(
            Condition::any()
                .add(
                    Condition::all()
                        .add(job::Column::Status.eq(JobStatus::Queued))
                        .add(job::Column::RunAt.lte(now)),
                )
                .add(
                    Condition::all()
                        .add(job::Column::Status.eq(JobStatus::Running))
                        .add(job::Column::LeaseExpiresAt.lt(now)),
                ),
        )
        .add(
            Condition::any().add(job::Column::AccountId.is_null()).add(
                job::Column::AccountId.in_subquery(
                    Query::select()
                        .column(account::Column::Id)
                        .from(account::Entity)
                        .and_where(account::Column::Status.eq(AccountStatus::Active))
                        .to_owned(),
                ),
            ),
        )
}

/// Claims the next due job for `owner` until `now + lease`; `None` when nothing is due (or
/// another worker won the race for it).
pub async fn claim_next(
    conn: &impl Conn,
    owner: &str,
    now: DateTime<Utc>,
    lease: Duration,
) -> Result<Option<job::Model>, DbErr> {
    let mut next = Query::select();
    next.column(job::Column::Id)
        .from(job::Entity)
        .cond_where(claimable(now))
        .order_by(job::Column::RunAt, sea_orm::Order::Asc)
        .order_by(job::Column::Id, sea_orm::Order::Asc)
        .limit(1);
    if conn.get_database_backend() == DbBackend::Postgres {
        next.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let claimed = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(JobStatus::Running))
        .col_expr(job::Column::LeaseOwner, Expr::value(owner))
        .col_expr(job::Column::LeaseExpiresAt, Expr::value(now + lease))
        .col_expr(
            job::Column::Attempts,
            Expr::col(job::Column::Attempts).add(1),
        )
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        // `id = (SELECT … LIMIT 1)`, a scalar subquery PostgreSQL evaluates once. With
        // `id IN (SELECT … LIMIT 1 FOR UPDATE SKIP LOCKED)` the planner may re-run the subquery
        // per row, each run skipping the row the previous one locked, and claim several jobs
        // of which only the first is returned (the others would stay RUNNING, unowned in fact).
        .filter(
            Expr::col(job::Column::Id).eq(Expr::SubQuery(None, Box::new(next.to_owned().into()))),
        )
        .filter(claimable(now))
        .exec_with_returning(conn)
        .await?;
    Ok(claimed.into_iter().next())
}

fn held(id: Uuid, owner: &str) -> Condition {
    Condition::all()
        .add(job::Column::Id.eq(id))
        .add(job::Column::Status.eq(JobStatus::Running))
        .add(job::Column::LeaseOwner.eq(owner))
}

/// Keeps a running job's lease alive.
pub async fn extend_lease(
    conn: &impl Conn,
    id: Uuid,
    owner: &str,
    until: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = job::Entity::update_many()
        .col_expr(job::Column::LeaseExpiresAt, Expr::value(until))
        .filter(held(id, owner))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Ends a held job: SUCCEEDED, FAILED (with the error) or CANCELLED.
pub async fn finish(
    conn: &impl Conn,
    id: Uuid,
    owner: &str,
    status: JobStatus,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(status))
        .col_expr(
            job::Column::LastError,
            Expr::value(error.map(str::to_owned)),
        )
        .col_expr(job::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(
            job::Column::LeaseExpiresAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(job::Column::FinishedAt, Expr::value(now))
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .filter(held(id, owner))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Puts a held job back in the queue to run at `run_at` (a retry, or a release at shutdown).
pub async fn requeue(
    conn: &impl Conn,
    id: Uuid,
    owner: &str,
    run_at: DateTime<Utc>,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(JobStatus::Queued))
        .col_expr(job::Column::RunAt, Expr::value(run_at))
        .col_expr(
            job::Column::LastError,
            Expr::value(error.map(str::to_owned)),
        )
        .col_expr(job::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(
            job::Column::LeaseExpiresAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .filter(held(id, owner))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn find(conn: &impl Conn, id: Uuid) -> Result<Option<job::Model>, DbErr> {
    job::Entity::find_by_id(id).one(conn).await
}

/// Jobs of a kind, oldest first (for tests and operators' views).
pub async fn by_kind(conn: &impl Conn, kind: &str) -> Result<Vec<job::Model>, DbErr> {
    use sea_orm::QueryOrder;
    job::Entity::find()
        .filter(job::Column::Kind.eq(kind))
        .order_by_asc(job::Column::CreatedAt)
        .order_by_asc(job::Column::Id)
        .all(conn)
        .await
}

/// Deletes finished jobs older than the given ages.
pub async fn purge_finished(
    conn: &impl Conn,
    succeeded_before: DateTime<Utc>,
    failed_before: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let result = job::Entity::delete_many()
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(
                            job::Column::Status.is_in([JobStatus::Succeeded, JobStatus::Cancelled]),
                        )
                        .add(job::Column::FinishedAt.lt(succeeded_before)),
                )
                .add(
                    Condition::all()
                        .add(job::Column::Status.eq(JobStatus::Failed))
                        .add(job::Column::FinishedAt.lt(failed_before)),
                ),
        )
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}
