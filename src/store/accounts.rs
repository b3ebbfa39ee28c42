//! Accounts (tenants).

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use super::entities::account::{self, AccountStatus};
use super::entities::user;
use super::{Conn, one_of};
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
        contacts_reviewed_at: Set(None),
        allowed_contact_domains: Set(None),
        contact_reminder_period: Set(None),
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

/// Which accounts an operator's list shows. `text` matches the slug or the name, in any case.
#[derive(Clone, Debug, Default)]
pub struct AccountFilter {
    pub statuses: Vec<AccountStatus>,
    pub text: Option<String>,
}

fn filtered(filter: &AccountFilter) -> sea_orm::Select<account::Entity> {
    use sea_orm::Condition;
    use sea_orm::sea_query::{ExprTrait, Func, LikeExpr};

    let mut condition = Condition::all();
    if !filter.statuses.is_empty() {
        condition = condition.add(account::Column::Status.is_in(filter.statuses.clone()));
    }
    if let Some(text) = filter
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
        let like = |column: account::Column| {
            Expr::expr(Func::lower(Expr::col(column)))
                .like(LikeExpr::new(pattern.clone()).escape('\\'))
        };
        condition = condition.add(
            Condition::any()
                .add(like(account::Column::Slug))
                .add(like(account::Column::Name)),
        );
    }
    account::Entity::find().filter(condition)
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// One page of the filtered accounts, by slug (unique).
pub async fn page(
    conn: &impl Conn,
    filter: &AccountFilter,
    offset: u64,
    limit: u64,
) -> Result<Vec<account::Model>, DbErr> {
    use sea_orm::QuerySelect;
    filtered(filter)
        .order_by_asc(account::Column::Slug)
        .offset(offset)
        .limit(limit)
        .all(conn)
        .await
}

pub async fn count_filtered(conn: &impl Conn, filter: &AccountFilter) -> Result<u64, DbErr> {
    filtered(filter).count(conn).await
}

/// Seats in use (ACTIVE LOGIN users) of each of these accounts, in one statement; an account
/// without any is absent.
pub async fn seats_used_by(
    conn: &impl Conn,
    ids: &[AccountId],
) -> Result<std::collections::HashMap<AccountId, u64>, DbErr> {
    use sea_orm::QuerySelect;
    use sea_orm::sea_query::ExprTrait;
    let rows: Vec<(AccountId, i64)> = user::Entity::find()
        .select_only()
        .column(user::Column::AccountId)
        .column_as(Expr::col(user::Column::Id).count(), "seats")
        .filter(one_of(conn, user::Column::AccountId, ids.iter().copied()))
        .filter(user::Column::Kind.eq(UserKind::Login))
        .filter(user::Column::Status.eq(UserStatus::Active))
        .group_by(user::Column::AccountId)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, seats)| (id, u64::try_from(seats).unwrap_or_default()))
        .collect())
}

/// How many users of the account have each kind and status, in one statement.
pub async fn user_counts(
    conn: &impl Conn,
    id: AccountId,
) -> Result<Vec<(UserKind, UserStatus, u64)>, DbErr> {
    use sea_orm::QuerySelect;
    use sea_orm::sea_query::ExprTrait;
    let rows: Vec<(UserKind, UserStatus, i64)> = user::Entity::find()
        .select_only()
        .column(user::Column::Kind)
        .column(user::Column::Status)
        .column_as(Expr::col(user::Column::Id).count(), "users")
        .filter(user::Column::AccountId.eq(id))
        .group_by(user::Column::Kind)
        .group_by(user::Column::Status)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(kind, status, n)| (kind, status, u64::try_from(n).unwrap_or_default()))
        .collect())
}

/// Changes the status only when it is `from` (a conditional `UPDATE`); whether it changed.
pub async fn set_status(
    conn: &impl Conn,
    id: AccountId,
    from: AccountStatus,
    to: AccountStatus,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = account::Entity::update_many()
        .col_expr(account::Column::Status, Expr::value(to))
        .col_expr(account::Column::UpdatedAt, Expr::value(now))
        .filter(account::Column::Id.eq(id))
        .filter(account::Column::Status.eq(from))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Sets the name and the licence limit.
pub async fn update_details(
    conn: &impl Conn,
    id: AccountId,
    name: &str,
    licence_limit: i32,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = account::Entity::update_many()
        .col_expr(account::Column::Name, Expr::value(name))
        .col_expr(account::Column::LicenceLimit, Expr::value(licence_limit))
        .col_expr(account::Column::UpdatedAt, Expr::value(now))
        .filter(account::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}
