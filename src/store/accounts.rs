//! Accounts (tenants).

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use super::Conn;
use super::entities::account::{self, AccountStatus};
use super::entities::user;
use crate::domain::ids::AccountId;
use crate::domain::user::{UserKind, UserStatus};
use chrono::{DateTime, Utc};
use sea_orm::DbErr;

pub struct NewAccount<'a> {
    pub id: AccountId,
    pub slug: &'a str,
    pub name: &'a str,
    pub licence_limit: i32,
    pub now: DateTime<Utc>,
}

pub async fn insert(conn: &impl Conn, new: NewAccount<'_>) -> Result<account::Model, DbErr> {
    account::ActiveModel {
        id: Set(new.id),
        slug: Set(new.slug.to_owned()),
        name: Set(new.name.to_owned()),
        licence_limit: Set(new.licence_limit),
        status: Set(AccountStatus::Active),
        created_at: Set(new.now),
        updated_at: Set(new.now),
    }
    .insert(conn)
    .await
}

pub async fn find(conn: &impl Conn, id: AccountId) -> Result<Option<account::Model>, DbErr> {
    account::Entity::find_by_id(id).one(conn).await
}

pub async fn find_by_slug(conn: &impl Conn, slug: &str) -> Result<Option<account::Model>, DbErr> {
    account::Entity::find()
        .filter(account::Column::Slug.eq(slug))
        .one(conn)
        .await
}

pub async fn count(conn: &impl Conn) -> Result<u64, DbErr> {
    account::Entity::find().count(conn).await
}

pub async fn list(conn: &impl Conn) -> Result<Vec<account::Model>, DbErr> {
    account::Entity::find()
        .order_by_asc(account::Column::Slug)
        .all(conn)
        .await
}

/// Takes the account's row lock for the rest of the transaction (a conditional `UPDATE`, which
/// both databases honour, unlike `SELECT … FOR UPDATE` on SQLite). Changes that must see a stable
/// set of admins or seats serialise on it.
pub async fn lock(conn: &impl Conn, id: AccountId, now: DateTime<Utc>) -> Result<bool, DbErr> {
    let result = account::Entity::update_many()
        .col_expr(account::Column::UpdatedAt, Expr::value(now))
        .filter(account::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// ACTIVE LOGIN users: the seats in use.
pub async fn seats_used(conn: &impl Conn, id: AccountId) -> Result<u64, DbErr> {
    user::Entity::find()
        .filter(user::Column::AccountId.eq(id))
        .filter(user::Column::Kind.eq(UserKind::Login))
        .filter(user::Column::Status.eq(UserStatus::Active))
        .count(conn)
        .await
}
