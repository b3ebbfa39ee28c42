//! Integration contacts: who at an account receives technical notices about an integration.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, DbErr, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect, Related, Set,
};

use super::entities::{integration_contact, user};
use super::users::UserRecord;
use super::{Conn, TIE_OWNER, TieOwner, one_of, tied, tied_as};
use crate::domain::ids::{AccountId, UserId};

/// Each integration's contacts (users), for the DataLoader: one statement.
pub async fn by_integrations(
    conn: &impl Conn,
    account: AccountId,
    keys: &[String],
) -> Result<HashMap<String, Vec<user::Model>>, DbErr> {
    let select = user::Entity::find()
        .join_rev(
            JoinType::InnerJoin,
            <integration_contact::Entity as Related<user::Entity>>::to(),
        )
        .column_as(integration_contact::Column::IntegrationKey, TIE_OWNER)
        .filter(integration_contact::Column::AccountId.eq(account))
        .filter(one_of(
            conn,
            integration_contact::Column::IntegrationKey,
            keys.iter().cloned(),
        ))
        .order_by_asc(integration_contact::Column::CreatedAt)
        .order_by_asc(integration_contact::Column::UserId);
    let mut result: HashMap<String, Vec<user::Model>> = HashMap::new();
    for (TieOwner(key), UserRecord(user)) in tied_as(conn, select).await? {
        result.entry(key).or_default().push(user);
    }
    Ok(result)
}

/// Each user's integrations (keys), for the DataLoader: one statement.
pub async fn by_users(
    conn: &impl Conn,
    account: AccountId,
    users: &[UserId],
) -> Result<HashMap<UserId, Vec<String>>, DbErr> {
    let rows = integration_contact::Entity::find()
        .filter(integration_contact::Column::AccountId.eq(account))
        .filter(one_of(
            conn,
            integration_contact::Column::UserId,
            users.iter().copied(),
        ))
        .order_by_asc(integration_contact::Column::IntegrationKey)
        .all(conn)
        .await?;
    let mut result: HashMap<UserId, Vec<String>> = HashMap::new();
    for row in rows {
        result
            .entry(row.user_id)
            .or_default()
            .push(row.integration_key);
    }
    Ok(result)
}

/// Makes `user` a contact of `key`; adding twice is harmless.
pub async fn add(
    conn: &impl Conn,
    account: AccountId,
    key: &str,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let inserted = integration_contact::Entity::insert(integration_contact::ActiveModel {
        account_id: Set(account),
        user_id: Set(user),
        integration_key: Set(key.to_owned()),
        created_at: Set(now),
    })
    .on_conflict_do_nothing_on([
        integration_contact::Column::UserId,
        integration_contact::Column::IntegrationKey,
    ])
    .exec_without_returning(conn)
    .await?;
    Ok(matches!(inserted, sea_orm::TryInsertResult::Inserted(n) if n > 0))
}

pub async fn remove(
    conn: &impl Conn,
    account: AccountId,
    key: &str,
    user: UserId,
) -> Result<bool, DbErr> {
    let result = integration_contact::Entity::delete_many()
        .filter(integration_contact::Column::AccountId.eq(account))
        .filter(integration_contact::Column::IntegrationKey.eq(key))
        .filter(integration_contact::Column::UserId.eq(user))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Removes every contact of `key` (before a replacement).
pub async fn clear(conn: &impl Conn, account: AccountId, key: &str) -> Result<u64, DbErr> {
    let result = integration_contact::Entity::delete_many()
        .filter(integration_contact::Column::AccountId.eq(account))
        .filter(integration_contact::Column::IntegrationKey.eq(key))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

/// Every integration contact of the account, as (integration key, user).
pub async fn by_account(
    conn: &impl Conn,
    account: AccountId,
) -> Result<Vec<(String, user::Model)>, DbErr> {
    let select = user::Entity::find()
        .join_rev(
            JoinType::InnerJoin,
            <integration_contact::Entity as Related<user::Entity>>::to(),
        )
        .column_as(integration_contact::Column::IntegrationKey, TIE_OWNER)
        .filter(integration_contact::Column::AccountId.eq(account))
        .order_by_asc(integration_contact::Column::IntegrationKey);
    Ok(tied(conn, select)
        .await?
        .into_iter()
        .map(|(TieOwner(key), user)| (key, user))
        .collect())
}
