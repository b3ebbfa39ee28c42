//! The outbox's queries.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

use super::Conn;
use super::entities::outbox_message::{self, OutboxStatus};
use super::entities::user;
use crate::domain::ids::{AccountId, UserId};

pub async fn insert(
    conn: &impl Conn,
    model: outbox_message::ActiveModel,
) -> Result<outbox_message::Model, DbErr> {
    model.insert(conn).await
}

pub async fn find(conn: &impl Conn, id: Uuid) -> Result<Option<outbox_message::Model>, DbErr> {
    outbox_message::Entity::find_by_id(id).one(conn).await
}

/// Records one delivery attempt's outcome; `status` PENDING keeps it for a retry.
pub async fn record_attempt(
    conn: &impl Conn,
    id: Uuid,
    status: OutboxStatus,
    reply: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let mut update = outbox_message::Entity::update_many()
        .col_expr(outbox_message::Column::Status, Expr::value(status))
        .col_expr(
            outbox_message::Column::Attempts,
            Expr::col(outbox_message::Column::Attempts).add(1),
        )
        .col_expr(
            outbox_message::Column::LastReply,
            Expr::value(reply.map(str::to_owned)),
        )
        .col_expr(outbox_message::Column::UpdatedAt, Expr::value(now));
    if status == OutboxStatus::Delivered {
        update = update.col_expr(outbox_message::Column::DeliveredAt, Expr::value(now));
    }
    let result = update
        .filter(outbox_message::Column::Id.eq(id))
        .filter(outbox_message::Column::Status.eq(OutboxStatus::Pending))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Marks a user's address invalid after a permanent failure — unless it changed meanwhile. True
/// when the address was valid until now.
pub async fn mark_address_invalid(
    conn: &impl Conn,
    user_id: UserId,
    address: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = user::Entity::update_many()
        .col_expr(user::Column::EmailInvalidAt, Expr::value(now))
        .filter(user::Column::Id.eq(user_id))
        .filter(user::Column::EmailKey.eq(address.to_lowercase()))
        .filter(user::Column::EmailInvalidAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Which outbox messages to list.
#[derive(Clone, Debug, Default)]
pub struct OutboxFilter {
    pub account_id: Option<AccountId>,
    pub statuses: Vec<OutboxStatus>,
    pub to_address: Option<String>,
}

fn filtered(filter: &OutboxFilter) -> Select<outbox_message::Entity> {
    let mut condition = Condition::all();
    if let Some(account) = filter.account_id {
        condition = condition.add(outbox_message::Column::AccountId.eq(account));
    }
    if !filter.statuses.is_empty() {
        condition = condition.add(outbox_message::Column::Status.is_in(filter.statuses.clone()));
    }
    if let Some(address) = &filter.to_address {
        condition = condition.add(outbox_message::Column::ToAddress.eq(address.clone()));
    }
    outbox_message::Entity::find().filter(condition)
}

/// Newest first.
pub async fn page(
    conn: &impl Conn,
    filter: &OutboxFilter,
    offset: u64,
    limit: u64,
) -> Result<Vec<outbox_message::Model>, DbErr> {
    filtered(filter)
        .order_by_desc(outbox_message::Column::CreatedAt)
        .order_by_desc(outbox_message::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(conn)
        .await
}

pub async fn count(conn: &impl Conn, filter: &OutboxFilter) -> Result<u64, DbErr> {
    filtered(filter).count(conn).await
}
