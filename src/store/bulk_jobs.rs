//! Bulk user jobs and their rows. Rows are read and written a chunk at a time, so memory stays
//! flat however many rows a job has.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, IntoIden, Query, TableRef, ValueTuple};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Select,
};

use super::entities::{bulk_user_job as job, bulk_user_job_row as row, external_identity, user};
use super::user_links::{self, Groups, ResourceAccess, Roles, Skills, UserLink};
use super::{Conn, one_of};
use crate::domain::bulk::{FirstSeen, JobStatus, RowStatus};
use crate::domain::ids::{AccountId, BulkUserJobId, UserId};

pub async fn insert_job(conn: &impl Conn, model: job::Model) -> Result<job::Model, DbErr> {
    super::insert_model::<job::ActiveModel>(conn, model).await
}

pub async fn update_job(conn: &impl Conn, model: job::Model) -> Result<job::Model, DbErr> {
    super::update_model::<job::ActiveModel>(conn, model).await
}

pub async fn find_job(
    conn: &impl Conn,
    account: AccountId,
    id: BulkUserJobId,
) -> Result<Option<job::Model>, DbErr> {
    job::Entity::find_by_id(id)
        .filter(job::Column::AccountId.eq(account))
        .one(conn)
        .await
}

pub async fn find_by_key(
    conn: &impl Conn,
    account: AccountId,
    key: &str,
) -> Result<Option<job::Model>, DbErr> {
    job::Entity::find()
        .filter(job::Column::AccountId.eq(account))
        .filter(job::Column::IdempotencyKey.eq(key))
        .one(conn)
        .await
}

/// A page of the account's jobs, newest first.
pub async fn page_jobs(
    conn: &impl Conn,
    account: AccountId,
    offset: u64,
    limit: u64,
) -> Result<Vec<job::Model>, DbErr> {
    job::Entity::find()
        .filter(job::Column::AccountId.eq(account))
        .order_by_desc(job::Column::CreatedAt)
        .order_by_desc(job::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(conn)
        .await
}

pub async fn count_jobs(conn: &impl Conn, account: AccountId) -> Result<u64, DbErr> {
    job::Entity::find()
        .filter(job::Column::AccountId.eq(account))
        .count(conn)
        .await
}

/// The tables a running job both grows and looks rows up in, directly or through foreign-key
/// checks (the audit log only grows, so its statistics do not matter to the job).
pub const GROWING_TABLES: &[&str] = &[
    "users",
    "user_skills",
    "group_members",
    "user_roles",
    "user_resource_access",
    "external_identities",
    "bulk_user_job_rows",
];

/// Records rows in multi-row inserts.
pub async fn insert_rows(conn: &impl Conn, rows: Vec<row::Model>) -> Result<(), DbErr> {
    let models: Vec<_> = rows
        .into_iter()
        .map(|model| model.into_active_model().reset_all())
        .collect();
    super::insert_batched(conn, &models).await
}

/// Results written per statement: six values each, within the values a PostgreSQL statement is
/// kept to (see `insert_batched`).
const RESULTS_PER_UPDATE: usize = 40;

/// Writes processed rows' results in place, one `UPDATE … FROM (VALUES …)` per batch of rows,
/// instead of one update per row.
pub async fn save_results(
    conn: &impl Conn,
    job: BulkUserJobId,
    rows: &[row::Model],
) -> Result<(), DbErr> {
    let result = Alias::new("result");
    let from_result = |column: &str| Expr::col((result.clone(), Alias::new(column)));
    for batch in rows.chunks(RESULTS_PER_UPDATE) {
        let results = batch
            .iter()
            .map(|r| {
                ValueTuple::Many(vec![
                    r.position.into(),
                    r.status.into(),
                    r.user_id.into(),
                    r.agent_id.into(),
                    r.errors.clone().into(),
                    r.processed_at.into(),
                ])
            })
            .collect();
        let update = Query::update()
            .table(row::Entity)
            .values([
                (row::Column::Status, from_result("column2")),
                (row::Column::UserId, from_result("column3")),
                (row::Column::AgentId, from_result("column4")),
                (row::Column::Errors, from_result("column5")),
                (row::Column::ProcessedAt, from_result("column6")),
            ])
            .from(TableRef::ValuesList(results, result.clone().into_iden()))
            .and_where(Expr::col((row::Entity, row::Column::JobId)).eq(job))
            .and_where(
                Expr::col((row::Entity, row::Column::Position))
                    .equals((result.clone(), Alias::new("column1"))),
            )
            .to_owned();
        conn.execute(&update).await?;
    }
    Ok(())
}

/// The next rows still to process, in order.
pub async fn queued_rows(
    conn: &impl Conn,
    job: BulkUserJobId,
    limit: u64,
) -> Result<Vec<row::Model>, DbErr> {
    row::Entity::find()
        .filter(row::Column::JobId.eq(job))
        .filter(row::Column::Status.eq(RowStatus::Queued))
        .order_by_asc(row::Column::Position)
        .limit(limit)
        .all(conn)
        .await
}

/// Marks every row not processed yet as CANCELLED; returns how many.
pub async fn cancel_queued_rows(
    conn: &impl Conn,
    job: BulkUserJobId,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let result = row::Entity::update_many()
        .col_expr(row::Column::Status, Expr::value(RowStatus::Cancelled))
        .col_expr(row::Column::ProcessedAt, Expr::value(now))
        .filter(row::Column::JobId.eq(job))
        .filter(row::Column::Status.eq(RowStatus::Queued))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

fn rows_of(
    account: AccountId,
    job: BulkUserJobId,
    status: Option<RowStatus>,
) -> Select<row::Entity> {
    let mut select = row::Entity::find()
        .filter(row::Column::AccountId.eq(account))
        .filter(row::Column::JobId.eq(job));
    if let Some(status) = status {
        select = select.filter(row::Column::Status.eq(status));
    }
    select
}

/// A page of a job's rows in source order.
pub async fn page_rows(
    conn: &impl Conn,
    account: AccountId,
    job: BulkUserJobId,
    status: Option<RowStatus>,
    offset: u64,
    limit: u64,
) -> Result<Vec<row::Model>, DbErr> {
    rows_of(account, job, status)
        .order_by_asc(row::Column::Position)
        .offset(offset)
        .limit(limit)
        .all(conn)
        .await
}

pub async fn count_rows(
    conn: &impl Conn,
    account: AccountId,
    job: BulkUserJobId,
    status: Option<RowStatus>,
) -> Result<u64, DbErr> {
    rows_of(account, job, status).count(conn).await
}

/// The first position in the job of each username key, given agent ID and link key among those
/// asked: a later row with the same value duplicates an earlier one.
pub async fn first_seen(
    conn: &impl Conn,
    job: BulkUserJobId,
    usernames: Vec<String>,
    agent_ids: Vec<i64>,
    links: Vec<String>,
) -> Result<FirstSeen, DbErr> {
    let rows = || row::Entity::find().filter(row::Column::JobId.eq(job));
    let position = row::Column::Position;
    Ok(FirstSeen {
        usernames: super::first_positions(
            conn,
            rows(),
            row::Column::UsernameKey,
            position,
            usernames,
        )
        .await?,
        agent_ids: super::first_positions(
            conn,
            rows(),
            row::Column::GivenAgentId,
            position,
            agent_ids,
        )
        .await?,
        links: super::first_positions(conn, rows(), row::Column::LinkKey, position, links).await?,
    })
}

/// The agent IDs the job's rows give in `[from, to)`.
pub async fn given_agent_ids_between(
    conn: &impl Conn,
    job: BulkUserJobId,
    from: i64,
    to: i64,
) -> Result<Vec<i64>, DbErr> {
    row::Entity::find()
        .select_only()
        .column(row::Column::GivenAgentId)
        .filter(row::Column::JobId.eq(job))
        .filter(row::Column::GivenAgentId.gte(from))
        .filter(row::Column::GivenAgentId.lt(to))
        .into_tuple::<i64>()
        .all(conn)
        .await
}

/// The agent IDs users of the account hold in `[from, to)`.
pub async fn used_agent_ids_between(
    conn: &impl Conn,
    account: AccountId,
    from: i64,
    to: i64,
) -> Result<Vec<i64>, DbErr> {
    user::Entity::find()
        .select_only()
        .column(user::Column::AgentId)
        .filter(user::Column::AccountId.eq(account))
        .filter(user::Column::AgentId.gte(from))
        .filter(user::Column::AgentId.lt(to))
        .into_tuple::<i64>()
        .all(conn)
        .await
}

/// Who in the account holds each of these username keys.
pub async fn username_holders(
    conn: &impl Conn,
    account: AccountId,
    keys: Vec<String>,
) -> Result<HashMap<String, UserId>, DbErr> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    user::Entity::find()
        .select_only()
        .column(user::Column::UsernameKey)
        .column(user::Column::Id)
        .filter(user::Column::AccountId.eq(account))
        .filter(one_of(conn, user::Column::UsernameKey, keys))
        .into_tuple::<(String, UserId)>()
        .all(conn)
        .await
        .map(|found| found.into_iter().collect())
}

/// Who in the account holds each of these agent IDs.
pub async fn agent_id_holders(
    conn: &impl Conn,
    account: AccountId,
    ids: Vec<i64>,
) -> Result<HashMap<i64, UserId>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    user::Entity::find()
        .select_only()
        .column(user::Column::AgentId)
        .column(user::Column::Id)
        .filter(user::Column::AccountId.eq(account))
        .filter(one_of(conn, user::Column::AgentId, ids))
        .into_tuple::<(i64, UserId)>()
        .all(conn)
        .await
        .map(|found| found.into_iter().collect())
}

/// Which of these external records (source, id) are linked to a user of the account.
pub async fn linked_externals(
    conn: &impl Conn,
    account: AccountId,
    records: &[(String, String)],
) -> Result<HashSet<(String, String)>, DbErr> {
    if records.is_empty() {
        return Ok(HashSet::new());
    }
    let ids: Vec<String> = records.iter().map(|(_, id)| id.clone()).collect();
    let found = external_identity::Entity::find()
        .select_only()
        .column(external_identity::Column::Source)
        .column(external_identity::Column::ExternalId)
        .filter(external_identity::Column::AccountId.eq(account))
        .filter(one_of(conn, external_identity::Column::ExternalId, ids))
        .into_tuple::<(String, String)>()
        .all(conn)
        .await?;
    Ok(found.into_iter().collect())
}

/// Asks a running job to stop after its current row; false when it has finished.
pub async fn request_cancel(
    conn: &impl Conn,
    account: AccountId,
    id: BulkUserJobId,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = job::Entity::update_many()
        .col_expr(job::Column::CancelRequestedAt, Expr::value(now))
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .filter(job::Column::AccountId.eq(account))
        .filter(job::Column::Id.eq(id))
        .filter(job::Column::Status.is_in([JobStatus::Queued, JobStatus::Running]))
        .filter(job::Column::CancelRequestedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Whether a stop was asked for the job (read inside the chunk's transaction).
pub async fn cancel_requested(conn: &impl Conn, id: BulkUserJobId) -> Result<bool, DbErr> {
    let found = job::Entity::find_by_id(id)
        .select_only()
        .column(job::Column::CancelRequestedAt)
        .into_tuple::<Option<DateTime<Utc>>>()
        .one(conn)
        .await?;
    Ok(found.flatten().is_some())
}

/// Gives the template's skills, groups, roles and queue and line access to each of `created`
/// (new users, who have none yet) and `activated` (pending users, whose own are replaced: they
/// start from the template).
pub async fn copy_memberships(
    conn: &impl Conn,
    account: AccountId,
    template: UserId,
    created: &[UserId],
    activated: &[UserId],
) -> Result<(), DbErr> {
    copy_ties::<Skills>(conn, account, template, created, activated).await?;
    copy_ties::<Groups>(conn, account, template, created, activated).await?;
    copy_ties::<Roles>(conn, account, template, created, activated).await?;
    copy_ties::<ResourceAccess>(conn, account, template, created, activated).await
}

async fn copy_ties<L: UserLink>(
    conn: &impl Conn,
    account: AccountId,
    template: UserId,
    created: &[UserId],
    activated: &[UserId],
) -> Result<(), DbErr> {
    user_links::remove_all::<L>(conn, account, activated).await?;
    let users: Vec<UserId> = created.iter().chain(activated).copied().collect();
    user_links::copy_from_template::<L>(conn, account, template, &users).await
}

/// Links users to their external records.
pub async fn link_externals(
    conn: &impl Conn,
    account: AccountId,
    links: Vec<(UserId, String, String)>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let models: Vec<_> = links
        .into_iter()
        .map(|(user, source, id)| super::sync::link_model(account, user, &source, &id, now))
        .collect();
    super::insert_batched(conn, &models).await
}
