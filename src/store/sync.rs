//! User sync: sources, runs, the records a run staged and the items it wrote. A run reads its
//! staged records a chunk at a time and finds users gone upstream with one anti-join, so memory
//! stays flat however large the directory is.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DbErr, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::entities::{
    external_identity as link, sync_run as run, sync_run_item as item, sync_source as source,
    sync_upstream_user as staged, user,
};
use super::{Conn, one_of};
use crate::domain::ids::{AccountId, SyncRunId, SyncSourceId, UserId};
use crate::domain::sync::ItemAction;
use crate::domain::user::UserKind;

/// The tables a first import grows and looks rows up in.
pub const GROWING_TABLES: &[&str] = &[
    "users",
    "external_identities",
    "sync_upstream_users",
    "sync_run_items",
];

pub async fn insert_source(conn: &impl Conn, model: source::Model) -> Result<source::Model, DbErr> {
    super::insert_model::<source::ActiveModel>(conn, model).await
}

pub async fn update_source(conn: &impl Conn, model: source::Model) -> Result<source::Model, DbErr> {
    super::update_model::<source::ActiveModel>(conn, model).await
}

pub async fn find_source(
    conn: &impl Conn,
    account: AccountId,
    id: SyncSourceId,
) -> Result<Option<source::Model>, DbErr> {
    source::Entity::find_by_id(id)
        .filter(source::Column::AccountId.eq(account))
        .one(conn)
        .await
}

pub async fn source_by_integration(
    conn: &impl Conn,
    account: AccountId,
    key: &str,
) -> Result<Option<source::Model>, DbErr> {
    source::Entity::find()
        .filter(source::Column::AccountId.eq(account))
        .filter(source::Column::IntegrationKey.eq(key))
        .one(conn)
        .await
}

pub async fn list_sources(
    conn: &impl Conn,
    account: AccountId,
) -> Result<Vec<source::Model>, DbErr> {
    source::Entity::find()
        .filter(source::Column::AccountId.eq(account))
        .order_by_asc(source::Column::IntegrationKey)
        .all(conn)
        .await
}

/// Makes `run` the source's active run unless another one holds it; false when one does. Of
/// several replicas starting a run at once, exactly one wins.
pub async fn claim_source(
    conn: &impl Conn,
    id: SyncSourceId,
    run: SyncRunId,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = source::Entity::update_many()
        .col_expr(source::Column::ActiveRunId, Expr::value(run))
        .col_expr(source::Column::UpdatedAt, Expr::value(now))
        .filter(source::Column::Id.eq(id))
        .filter(source::Column::ActiveRunId.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn insert_run(conn: &impl Conn, model: run::Model) -> Result<run::Model, DbErr> {
    super::insert_model::<run::ActiveModel>(conn, model).await
}

pub async fn update_run(conn: &impl Conn, model: run::Model) -> Result<run::Model, DbErr> {
    super::update_model::<run::ActiveModel>(conn, model).await
}

pub async fn find_run(
    conn: &impl Conn,
    account: AccountId,
    id: SyncRunId,
) -> Result<Option<run::Model>, DbErr> {
    run::Entity::find_by_id(id)
        .filter(run::Column::AccountId.eq(account))
        .one(conn)
        .await
}

/// A page of a source's runs, newest first.
pub async fn page_runs(
    conn: &impl Conn,
    account: AccountId,
    source: SyncSourceId,
    offset: u64,
    limit: u64,
) -> Result<Vec<run::Model>, DbErr> {
    run::Entity::find()
        .filter(run::Column::AccountId.eq(account))
        .filter(run::Column::SourceId.eq(source))
        .order_by_desc(run::Column::CreatedAt)
        .order_by_desc(run::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(conn)
        .await
}

pub async fn count_runs(
    conn: &impl Conn,
    account: AccountId,
    source: SyncSourceId,
) -> Result<u64, DbErr> {
    run::Entity::find()
        .filter(run::Column::AccountId.eq(account))
        .filter(run::Column::SourceId.eq(source))
        .count(conn)
        .await
}

/// Stages fetched records; a record already staged for the run (listed twice while the
/// upstream changed under the paging) is kept once.
pub async fn stage(conn: &impl Conn, records: &[staged::ActiveModel]) -> Result<(), DbErr> {
    for batch in records.chunks(super::rows_per_insert::<staged::Entity>(conn)) {
        staged::Entity::insert_many(batch.to_vec())
            .on_conflict_do_nothing_on([staged::Column::RunId, staged::Column::ExternalId])
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// How many distinct records the run staged.
pub async fn count_staged(conn: &impl Conn, run: SyncRunId) -> Result<u64, DbErr> {
    staged::Entity::find()
        .filter(staged::Column::RunId.eq(run))
        .count(conn)
        .await
}

/// Forgets what a run staged (when it ends, or before a fetch starts over).
pub async fn clear_staged(conn: &impl Conn, run: SyncRunId) -> Result<(), DbErr> {
    staged::Entity::delete_many()
        .filter(staged::Column::RunId.eq(run))
        .exec(conn)
        .await?;
    Ok(())
}

/// The next staged records after `position`, in listing order.
pub async fn staged_after(
    conn: &impl Conn,
    run: SyncRunId,
    position: i32,
    limit: u64,
) -> Result<Vec<staged::Model>, DbErr> {
    staged::Entity::find()
        .filter(staged::Column::RunId.eq(run))
        .filter(staged::Column::Position.gt(position))
        .order_by_asc(staged::Column::Position)
        .limit(limit)
        .all(conn)
        .await
}

/// For each of these username keys, the first position in the run's listing that has it.
pub async fn first_username_positions(
    conn: &impl Conn,
    run: SyncRunId,
    keys: Vec<String>,
) -> Result<HashMap<String, i32>, DbErr> {
    super::first_positions(
        conn,
        staged::Entity::find().filter(staged::Column::RunId.eq(run)),
        staged::Column::UsernameKey,
        staged::Column::Position,
        keys,
    )
    .await
}

/// The source's links to these external records, by external id.
pub async fn links_by_external_ids(
    conn: &impl Conn,
    account: AccountId,
    source_key: &str,
    ids: Vec<String>,
) -> Result<HashMap<String, link::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let found = link::Entity::find()
        .filter(link::Column::AccountId.eq(account))
        .filter(link::Column::Source.eq(source_key))
        .filter(one_of(conn, link::Column::ExternalId, ids))
        .all(conn)
        .await?;
    Ok(found
        .into_iter()
        .map(|link| (link.external_id.clone(), link))
        .collect())
}

/// Which of `users` are linked to a record of the source, or were linked by an earlier record
/// of the run (a preview writes no links, only items).
pub async fn claimed_users(
    conn: &impl Conn,
    account: AccountId,
    source_key: &str,
    run: SyncRunId,
    users: Vec<UserId>,
) -> Result<Vec<UserId>, DbErr> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let mut claimed: Vec<UserId> = link::Entity::find()
        .select_only()
        .column(link::Column::UserId)
        .filter(link::Column::AccountId.eq(account))
        .filter(link::Column::Source.eq(source_key))
        .filter(one_of(conn, link::Column::UserId, users.clone()))
        .into_tuple()
        .all(conn)
        .await?;
    let linked_in_run: Vec<Option<UserId>> = item::Entity::find()
        .select_only()
        .column(item::Column::UserId)
        .filter(item::Column::RunId.eq(run))
        .filter(item::Column::Action.eq(ItemAction::Link))
        .filter(one_of(conn, item::Column::UserId, users))
        .into_tuple()
        .all(conn)
        .await?;
    claimed.extend(linked_in_run.into_iter().flatten());
    Ok(claimed)
}

/// Login users of the account whose `column` (a folded key) is one of `keys`.
pub async fn login_users_by_key(
    conn: &impl Conn,
    account: AccountId,
    column: user::Column,
    keys: Vec<String>,
) -> Result<Vec<user::Model>, DbErr> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    user::Entity::find()
        .filter(user::Column::AccountId.eq(account))
        .filter(user::Column::Kind.eq(UserKind::Login))
        .filter(one_of(conn, column, keys))
        .all(conn)
        .await
}

/// The source's links whose record the run did not fetch, after `after` (by link id), in
/// batches: one anti-join against the staged records.
pub async fn missing_links(
    conn: &impl Conn,
    account: AccountId,
    source_key: &str,
    run: SyncRunId,
    after: Option<crate::domain::ids::ExternalIdentityId>,
    limit: u64,
) -> Result<Vec<link::Model>, DbErr> {
    let fetched = Query::select()
        .expr(Expr::val(1))
        .from(staged::Entity)
        .and_where(Expr::col((staged::Entity, staged::Column::RunId)).eq(run))
        .and_where(
            Expr::col((staged::Entity, staged::Column::ExternalId))
                .equals((link::Entity, link::Column::ExternalId)),
        )
        .to_owned();
    let mut select = link::Entity::find()
        .filter(link::Column::AccountId.eq(account))
        .filter(link::Column::Source.eq(source_key))
        .filter(Condition::all().add(Expr::exists(fetched).not()));
    if let Some(after) = after {
        select = select.filter(link::Column::Id.gt(after));
    }
    select
        .order_by_asc(link::Column::Id)
        .limit(limit)
        .all(conn)
        .await
}

/// How many users are linked to the source.
pub async fn count_links(
    conn: &impl Conn,
    account: AccountId,
    source_key: &str,
) -> Result<u64, DbErr> {
    link::Entity::find()
        .filter(link::Column::AccountId.eq(account))
        .filter(link::Column::Source.eq(source_key))
        .count(conn)
        .await
}

/// Records that a link's record has been gone upstream since `since`, for `missed` complete runs.
pub async fn set_link_missing(
    conn: &impl Conn,
    link: &link::Model,
    since: DateTime<Utc>,
    missed: i32,
) -> Result<(), DbErr> {
    link::Entity::update_many()
        .col_expr(link::Column::MissingSince, Expr::value(since))
        .col_expr(link::Column::MissedRuns, Expr::value(missed))
        .filter(link::Column::Id.eq(link.id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Clears the gone-upstream flag of a record that is back.
pub async fn clear_missing(
    conn: &impl Conn,
    account: AccountId,
    source_key: &str,
    external_id: &str,
) -> Result<(), DbErr> {
    link::Entity::update_many()
        .col_expr(
            link::Column::MissingSince,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(link::Column::MissedRuns, Expr::value(0))
        .filter(link::Column::AccountId.eq(account))
        .filter(link::Column::Source.eq(source_key))
        .filter(link::Column::ExternalId.eq(external_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Links users to their upstream records, in multi-row inserts.
pub async fn insert_links(
    conn: &impl Conn,
    account: AccountId,
    source_key: &str,
    links: &[(UserId, &str)],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let models: Vec<_> = links
        .iter()
        .map(|(user, external_id)| link_model(account, *user, source_key, external_id, now))
        .collect();
    super::insert_batched(conn, &models).await
}

/// A new link of `user` to the record `external_id` of `source_key`.
pub(super) fn link_model(
    account: AccountId,
    user: UserId,
    source_key: &str,
    external_id: &str,
    now: DateTime<Utc>,
) -> link::ActiveModel {
    link::ActiveModel {
        id: Set(crate::domain::ids::ExternalIdentityId::new()),
        account_id: Set(account),
        user_id: Set(user),
        source: Set(source_key.to_owned()),
        external_id: Set(external_id.to_owned()),
        created_at: Set(now),
        missing_since: Set(None),
        missed_runs: Set(0),
    }
}

/// Links a user to an upstream record.
pub async fn insert_link(
    conn: &impl Conn,
    account: AccountId,
    user: UserId,
    source_key: &str,
    external_id: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    link::Entity::insert(link_model(account, user, source_key, external_id, now))
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Records a chunk's items.
pub async fn insert_items(conn: &impl Conn, items: Vec<item::Model>) -> Result<(), DbErr> {
    let models: Vec<_> = items
        .into_iter()
        .map(|model| model.into_active_model().reset_all())
        .collect();
    super::insert_batched(conn, &models).await
}

/// A page of a run's items in listing order, optionally of one action.
pub async fn page_items(
    conn: &impl Conn,
    account: AccountId,
    run: SyncRunId,
    action: Option<ItemAction>,
    offset: u64,
    limit: u64,
) -> Result<Vec<item::Model>, DbErr> {
    let mut select = item::Entity::find()
        .filter(item::Column::AccountId.eq(account))
        .filter(item::Column::RunId.eq(run));
    if let Some(action) = action {
        select = select.filter(item::Column::Action.eq(action));
    }
    select
        .order_by_asc(item::Column::Position)
        .offset(offset)
        .limit(limit)
        .all(conn)
        .await
}

pub async fn count_items(
    conn: &impl Conn,
    account: AccountId,
    run: SyncRunId,
    action: Option<ItemAction>,
) -> Result<u64, DbErr> {
    let mut select = item::Entity::find()
        .filter(item::Column::AccountId.eq(account))
        .filter(item::Column::RunId.eq(run));
    if let Some(action) = action {
        select = select.filter(item::Column::Action.eq(action));
    }
    select.count(conn).await
}

/// Since when each of `users` that a sync flagged as gone upstream has been missing (the
/// earliest, should several sources flag one user).
pub async fn missing_since_by_users(
    conn: &impl Conn,
    account: AccountId,
    users: &[UserId],
) -> Result<HashMap<UserId, Option<DateTime<Utc>>>, DbErr> {
    let found: Vec<(UserId, Option<DateTime<Utc>>)> = link::Entity::find()
        .select_only()
        .column(link::Column::UserId)
        .column(link::Column::MissingSince)
        .filter(link::Column::AccountId.eq(account))
        .filter(one_of(conn, link::Column::UserId, users.iter().copied()))
        .filter(link::Column::MissingSince.is_not_null())
        .into_tuple()
        .all(conn)
        .await?;
    let mut result: HashMap<UserId, Option<DateTime<Utc>>> = HashMap::new();
    for (user, since) in found {
        let entry = result.entry(user).or_insert(since);
        if since < *entry {
            *entry = since;
        }
    }
    Ok(result)
}
