//! Saved user views.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
};

use super::Conn;
use super::entities::user_view as view;
use crate::domain::ids::{AccountId, UserViewId};

/// The account's views by name.
pub async fn list(conn: &impl Conn, account: AccountId) -> Result<Vec<view::Model>, DbErr> {
    view::Entity::find()
        .filter(view::Column::AccountId.eq(account))
        .order_by_asc(view::Column::NameKey)
        .order_by_asc(view::Column::Id)
        .all(conn)
        .await
}

pub async fn find(
    conn: &impl Conn,
    account: AccountId,
    id: UserViewId,
) -> Result<Option<view::Model>, DbErr> {
    view::Entity::find_by_id(id)
        .filter(view::Column::AccountId.eq(account))
        .one(conn)
        .await
}

pub async fn insert(conn: &impl Conn, model: view::Model) -> Result<view::Model, DbErr> {
    model.into_active_model().reset_all().insert(conn).await
}

/// Saves every column but the id and account of an existing view.
pub async fn update(conn: &impl Conn, model: view::Model) -> Result<view::Model, DbErr> {
    let (id, account) = (model.id, model.account_id);
    let mut active = model.into_active_model().reset_all();
    active.id = sea_orm::ActiveValue::Unchanged(id);
    active.account_id = sea_orm::ActiveValue::Unchanged(account);
    active.update(conn).await
}

/// False when no such view is in the account.
pub async fn delete(conn: &impl Conn, account: AccountId, id: UserViewId) -> Result<bool, DbErr> {
    let result = view::Entity::delete_many()
        .filter(view::Column::AccountId.eq(account))
        .filter(view::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}
