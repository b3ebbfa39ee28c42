//! Queues and lines, and users' access to them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, IntoActiveModel, JoinType, QueryFilter,
    QueryOrder, QuerySelect, Related,
};

use super::entities::{telephony_resource as resource, user_resource_access as access};
use super::{Conn, LevelledTie, TIE_LEVEL, TIE_OWNER, one_of, tied};
use crate::domain::ids::{AccountId, TelephonyResourceId, UserId};
use crate::domain::telephony::{AccessLevel, ResourceKind};

/// A user's access to one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceAccess {
    pub resource: resource::Model,
    pub level: AccessLevel,
}

/// The account's resources, of one kind or all, by kind and name.
pub async fn list(
    conn: &impl Conn,
    account: AccountId,
    kind: Option<ResourceKind>,
) -> Result<Vec<resource::Model>, DbErr> {
    let mut query = resource::Entity::find().filter(resource::Column::AccountId.eq(account));
    if let Some(kind) = kind {
        query = query.filter(resource::Column::Kind.eq(kind));
    }
    query
        .order_by_asc(resource::Column::Kind)
        .order_by_asc(resource::Column::NameKey)
        .order_by_asc(resource::Column::Id)
        .all(conn)
        .await
}

pub async fn find(
    conn: &impl Conn,
    account: AccountId,
    id: TelephonyResourceId,
) -> Result<Option<resource::Model>, DbErr> {
    resource::Entity::find_by_id(id)
        .filter(resource::Column::AccountId.eq(account))
        .one(conn)
        .await
}

/// How many of `ids` exist in the account.
pub async fn count_existing(
    conn: &impl Conn,
    account: AccountId,
    ids: &[TelephonyResourceId],
) -> Result<usize, DbErr> {
    Ok(resource::Entity::find()
        .filter(resource::Column::AccountId.eq(account))
        .filter(one_of(conn, resource::Column::Id, ids.iter().copied()))
        .all(conn)
        .await?
        .len())
}

pub async fn insert(conn: &impl Conn, model: resource::Model) -> Result<(), DbErr> {
    resource::Entity::insert(model.into_active_model().reset_all())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Renames and re-describes; false when no such resource is in the account.
pub async fn update(
    conn: &impl Conn,
    account: AccountId,
    id: TelephonyResourceId,
    name: &str,
    description: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = resource::Entity::update_many()
        .col_expr(resource::Column::Name, Expr::value(name))
        .col_expr(resource::Column::NameKey, Expr::value(name.to_lowercase()))
        .col_expr(
            resource::Column::Description,
            Expr::value(description.map(str::to_owned)),
        )
        .col_expr(resource::Column::UpdatedAt, Expr::value(now))
        .filter(resource::Column::AccountId.eq(account))
        .filter(resource::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Each user's access: one statement for any number of users.
pub async fn access_by_users(
    conn: &impl Conn,
    account: AccountId,
    users: &[UserId],
) -> Result<HashMap<UserId, Vec<ResourceAccess>>, DbErr> {
    let select = resource::Entity::find()
        .join_rev(
            JoinType::InnerJoin,
            <access::Entity as Related<resource::Entity>>::to(),
        )
        .column_as(access::Column::UserId, TIE_OWNER)
        .column_as(access::Column::Level, TIE_LEVEL)
        .filter(access::Column::AccountId.eq(account))
        .filter(one_of(conn, access::Column::UserId, users.iter().copied()))
        .order_by_asc(resource::Column::Kind)
        .order_by_asc(resource::Column::NameKey)
        .order_by_asc(resource::Column::Id);
    let mut result: HashMap<UserId, Vec<ResourceAccess>> = HashMap::new();
    for (tie, resource) in tied::<_, LevelledTie<UserId, AccessLevel>>(conn, select).await? {
        result.entry(tie.owner).or_default().push(ResourceAccess {
            resource,
            level: tie.level,
        });
    }
    Ok(result)
}
