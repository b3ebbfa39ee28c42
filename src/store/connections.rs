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

/// A connection read by column position (see [`super::ByPosition`]): listing the catalog reads
/// every connection of the account, on every request that shows a status.
struct ConnectionRecord(connection::Model);

impl sea_orm::FromQueryResult for ConnectionRecord {
    fn from_query_result(row: &sea_orm::QueryResult, pre: &str) -> Result<Self, DbErr> {
        use connection::Column as C;
        debug_assert!(
            pre.is_empty(),
            "a connection is read from an unprefixed row"
        );
        let at = super::ByPosition(row);
        let model = connection::Model {
            id: at.get(C::Id as usize)?,
            account_id: at.get(C::AccountId as usize)?,
            integration_key: at.get(C::IntegrationKey as usize)?,
            status: at.get(C::Status as usize)?,
            settings: at.get(C::Settings as usize)?,
            secrets: at.optional(C::Secrets as usize)?,
            connected_by_user_id: at.optional(C::ConnectedByUserId as usize)?,
            connected_by_label: at.optional(C::ConnectedByLabel as usize)?,
            connected_at: at.optional(C::ConnectedAt as usize)?,
            connected_by_request_id: at.optional(C::ConnectedByRequestId as usize)?,
            connected_by_verified: at.get(C::ConnectedByVerified as usize)?,
            created_at: at.get(C::CreatedAt as usize)?,
            updated_at: at.get(C::UpdatedAt as usize)?,
        };
        at.checked(model).map(Self)
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
