//! Connection requests, their integrations and their invite links.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Select, UpdateMany,
};

use super::entities::{connection_request, connection_request_item, connection_request_link};
use super::{Conn, one_of};
use crate::domain::connection_request::{ItemStatus, RequestStatus};
use crate::domain::ids::{AccountId, ConnectionRequestId, InviteLinkId, UserId};

/// Writes a new request with its integrations and its first link.
pub async fn insert(
    conn: &impl Conn,
    request: connection_request::Model,
    items: Vec<connection_request_item::Model>,
    link: connection_request_link::Model,
) -> Result<connection_request::Model, DbErr> {
    let request = request.into_active_model().insert(conn).await?;
    connection_request_item::Entity::insert_many(items.into_iter().map(|i| i.into_active_model()))
        .exec(conn)
        .await?;
    link.into_active_model().insert(conn).await?;
    Ok(request)
}

pub async fn find(
    conn: &impl Conn,
    account: AccountId,
    id: ConnectionRequestId,
) -> Result<Option<connection_request::Model>, DbErr> {
    connection_request::Entity::find_by_id(id)
        .filter(connection_request::Column::AccountId.eq(account))
        .one(conn)
        .await
}

/// Writes every column of the request.
pub async fn update(
    conn: &impl Conn,
    request: connection_request::Model,
) -> Result<connection_request::Model, DbErr> {
    super::update_model::<connection_request::ActiveModel>(conn, request).await
}

/// Records the first explicit use of the request's link; false when it was already recorded.
/// One conditional update, so two first POSTs at once record it once.
pub async fn mark_opened(
    conn: &impl Conn,
    account: AccountId,
    id: ConnectionRequestId,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = touch(account, id, now)
        .col_expr(connection_request::Column::OpenedAt, Expr::value(now))
        .filter(connection_request::Column::OpenedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Takes the request's row lock for the rest of the transaction (see `accounts::lock`).
pub async fn lock(
    conn: &impl Conn,
    account: AccountId,
    id: ConnectionRequestId,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = touch(account, id, now).exec(conn).await?;
    Ok(result.rows_affected == 1)
}

/// An update of one request of the account that sets its `updated_at`.
fn touch(
    account: AccountId,
    id: ConnectionRequestId,
    now: DateTime<Utc>,
) -> UpdateMany<connection_request::Entity> {
    connection_request::Entity::update_many()
        .col_expr(connection_request::Column::UpdatedAt, Expr::value(now))
        .filter(connection_request::Column::AccountId.eq(account))
        .filter(connection_request::Column::Id.eq(id))
}

fn listed(account: AccountId, status: Option<RequestStatus>) -> Select<connection_request::Entity> {
    let mut select = connection_request::Entity::find()
        .filter(connection_request::Column::AccountId.eq(account));
    if let Some(status) = status {
        select = select.filter(connection_request::Column::Status.eq(status));
    }
    select
}

/// A page of the account's requests, newest first.
pub async fn page(
    conn: &impl Conn,
    account: AccountId,
    status: Option<RequestStatus>,
    offset: u64,
    limit: u64,
) -> Result<Vec<connection_request::Model>, DbErr> {
    listed(account, status)
        .order_by_desc(connection_request::Column::CreatedAt)
        .order_by_desc(connection_request::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(conn)
        .await
}

pub async fn count(
    conn: &impl Conn,
    account: AccountId,
    status: Option<RequestStatus>,
) -> Result<u64, DbErr> {
    listed(account, status).count(conn).await
}

/// When the requests created since `since` in the account, or by one of its users, were
/// created, oldest first (creation limits).
pub async fn created_since(
    conn: &impl Conn,
    account: AccountId,
    requester: Option<UserId>,
    since: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>, DbErr> {
    let mut select = connection_request::Entity::find()
        .select_only()
        .column(connection_request::Column::CreatedAt)
        .filter(connection_request::Column::AccountId.eq(account))
        .filter(connection_request::Column::CreatedAt.gte(since));
    if let Some(requester) = requester {
        select = select.filter(connection_request::Column::RequesterId.eq(requester));
    }
    select
        .order_by_asc(connection_request::Column::CreatedAt)
        .into_tuple()
        .all(conn)
        .await
}

/// Each request's integrations in the order the requester listed them: one statement.
pub async fn items(
    conn: &impl Conn,
    account: AccountId,
    requests: &[ConnectionRequestId],
) -> Result<HashMap<ConnectionRequestId, Vec<connection_request_item::Model>>, DbErr> {
    let rows = connection_request_item::Entity::find()
        .filter(connection_request_item::Column::AccountId.eq(account))
        .filter(one_of(
            conn,
            connection_request_item::Column::RequestId,
            requests.iter().copied(),
        ))
        .order_by_asc(connection_request_item::Column::Position)
        .all(conn)
        .await?;
    let mut result: HashMap<ConnectionRequestId, Vec<connection_request_item::Model>> =
        HashMap::new();
    for row in rows {
        result.entry(row.request_id).or_default().push(row);
    }
    Ok(result)
}

/// Marks one integration of a request connected; false when it is not part of the request.
pub async fn mark_item_connected(
    conn: &impl Conn,
    account: AccountId,
    request: ConnectionRequestId,
    key: &str,
    connected_by: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = connection_request_item::Entity::update_many()
        .col_expr(
            connection_request_item::Column::Status,
            Expr::value(ItemStatus::Connected),
        )
        .col_expr(
            connection_request_item::Column::ConnectedAt,
            Expr::value(now),
        )
        .col_expr(
            connection_request_item::Column::ConnectedBy,
            Expr::value(connected_by),
        )
        .filter(connection_request_item::Column::AccountId.eq(account))
        .filter(connection_request_item::Column::RequestId.eq(request))
        .filter(connection_request_item::Column::IntegrationKey.eq(key))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// The link whose token hashes to one of `hashes` (one per key of the ring), with its request.
/// Across accounts by design: the token is the credential, and the row names the account.
pub async fn link_by_hashes(
    conn: &impl Conn,
    hashes: Vec<String>,
) -> Result<Option<(connection_request_link::Model, connection_request::Model)>, DbErr> {
    let Some(link) = connection_request_link::Entity::find()
        .filter(one_of(
            conn,
            connection_request_link::Column::TokenHash,
            hashes,
        ))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    Ok(find(conn, link.account_id, link.request_id)
        .await?
        .map(|request| (link, request)))
}

/// One link of the account, with its request (an invitee session names its link).
pub async fn link(
    conn: &impl Conn,
    account: AccountId,
    id: InviteLinkId,
) -> Result<Option<(connection_request_link::Model, connection_request::Model)>, DbErr> {
    let Some(link) = connection_request_link::Entity::find_by_id(id)
        .filter(connection_request_link::Column::AccountId.eq(account))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    Ok(find(conn, account, link.request_id)
        .await?
        .map(|request| (link, request)))
}

/// Replaces the request's current link with `fresh`: the old one stops working at once.
pub async fn replace_link(
    conn: &impl Conn,
    fresh: connection_request_link::Model,
) -> Result<(), DbErr> {
    connection_request_link::Entity::update_many()
        .col_expr(
            connection_request_link::Column::ReplacedAt,
            Expr::value(fresh.created_at),
        )
        .filter(connection_request_link::Column::AccountId.eq(fresh.account_id))
        .filter(connection_request_link::Column::RequestId.eq(fresh.request_id))
        .filter(connection_request_link::Column::ReplacedAt.is_null())
        .exec(conn)
        .await?;
    fresh.into_active_model().insert(conn).await?;
    Ok(())
}

/// Pending requests whose link ran out, across accounts, oldest first (the expiry sweep).
pub async fn due_to_expire(
    conn: &impl Conn,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<connection_request::Model>, DbErr> {
    connection_request::Entity::find()
        .filter(connection_request::Column::Status.eq(RequestStatus::Pending))
        .filter(connection_request::Column::ExpiresAt.lte(now))
        .order_by_asc(connection_request::Column::ExpiresAt)
        .limit(limit)
        .all(conn)
        .await
}

/// Ends a pending request (EXPIRED or REVOKED), unless it changed meanwhile; true when it did.
pub async fn end(
    conn: &impl Conn,
    account: AccountId,
    id: ConnectionRequestId,
    status: RequestStatus,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = connection_request::Entity::update_many()
        .col_expr(connection_request::Column::Status, Expr::value(status))
        .col_expr(connection_request::Column::EndedAt, Expr::value(now))
        .col_expr(connection_request::Column::UpdatedAt, Expr::value(now))
        .filter(connection_request::Column::AccountId.eq(account))
        .filter(connection_request::Column::Id.eq(id))
        .filter(connection_request::Column::Status.eq(RequestStatus::Pending))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// A new link row for a request.
pub fn new_link(
    account: AccountId,
    request: ConnectionRequestId,
    token_hash: String,
    now: DateTime<Utc>,
) -> connection_request_link::Model {
    connection_request_link::Model {
        id: InviteLinkId::new(),
        account_id: account,
        request_id: request,
        token_hash,
        created_at: now,
        replaced_at: None,
    }
}

/// Sets only the fields of an item that a new request starts with.
pub fn new_item(
    account: AccountId,
    request: ConnectionRequestId,
    key: &str,
    position: i32,
) -> connection_request_item::Model {
    connection_request_item::Model {
        account_id: account,
        request_id: request,
        integration_key: key.to_owned(),
        position,
        status: ItemStatus::Pending,
        connected_at: None,
        connected_by: None,
    }
}
