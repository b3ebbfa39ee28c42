//! An account's connections to catalog integrations.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};

use super::Conn;
use super::entities::connection;
use crate::domain::ids::AccountId;

/// Every connection of the account, by integration key (one statement; an account has at most
/// one per catalog entry).
pub async fn by_integration(
    conn: &impl Conn,
    account: AccountId,
) -> Result<HashMap<String, connection::Model>, DbErr> {
    Ok(connection::Entity::find()
        .filter(connection::Column::AccountId.eq(account))
        .all(conn)
        .await?
        .into_iter()
        .map(|row| (row.integration_key.clone(), row))
        .collect())
}
