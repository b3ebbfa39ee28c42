//! An account's connections to catalog integrations.

use std::collections::HashMap;

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter};

use super::Conn;
use super::entities::connection;
use crate::domain::ids::{AccountId, ConnectionId};

/// Every connection of the account, by integration key (one statement; an account has at most
/// one per catalog entry).
pub async fn by_integration(
    conn: &impl Conn,
    account: AccountId,
) -> Result<HashMap<String, connection::Model>, DbErr> {
    Ok(connection::Entity::find()
        .filter(connection::Column::AccountId.eq(account))
        .into_model::<ConnectionRecord>()
        .all(conn)
        .await?
        .into_iter()
        .map(|ConnectionRecord(row)| (row.integration_key.clone(), row))
        .collect())
}

super::read_by_position! {
    /// A connection read by column position (see [`super::ByPosition`]): listing the catalog
    /// reads every connection of the account, on every request that shows a status.
    struct ConnectionRecord(connection) {
        id: value(Id),
        account_id: value(AccountId),
        integration_key: value(IntegrationKey),
        status: value(Status),
        settings: get(Settings),
        secrets: value(Secrets),
        connected_by_user_id: value(ConnectedByUserId),
        connected_by_label: value(ConnectedByLabel),
        connected_at: value(ConnectedAt),
        connected_by_request_id: value(ConnectedByRequestId),
        connected_by_verified: value(ConnectedByVerified),
        created_at: value(CreatedAt),
        updated_at: value(UpdatedAt),
    }
}

pub async fn find(
    conn: &impl Conn,
    account: AccountId,
    integration_key: &str,
) -> Result<Option<connection::Model>, DbErr> {
    connection::Entity::find()
        .filter(connection::Column::AccountId.eq(account))
        .filter(connection::Column::IntegrationKey.eq(integration_key))
        .one(conn)
        .await
}

/// Inserts or updates the whole row.
pub async fn save(
    conn: &impl Conn,
    model: connection::Model,
    exists: bool,
) -> Result<connection::Model, DbErr> {
    let id = model.id;
    let mut active = model.into_active_model();
    if exists {
        // Every column is written; the key stays as it is.
        active = active.reset_all();
        active.id = sea_orm::ActiveValue::Unchanged(id);
        active.update(conn).await
    } else {
        active.insert(conn).await
    }
}

/// Every connection that holds secrets, across accounts (key rotation).
pub async fn with_secrets(conn: &impl Conn) -> Result<Vec<connection::Model>, DbErr> {
    connection::Entity::find()
        .filter(connection::Column::Secrets.is_not_null())
        .all(conn)
        .await
}

/// Swaps a connection's encrypted secrets, unless they changed since they were read.
pub async fn replace_secrets(
    conn: &impl Conn,
    id: ConnectionId,
    expected: &str,
    fresh: &str,
) -> Result<bool, DbErr> {
    let result = connection::Entity::update_many()
        .col_expr(connection::Column::Secrets, Expr::value(fresh))
        .filter(connection::Column::Id.eq(id))
        .filter(connection::Column::Secrets.eq(expected))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}
