//! Users of an account.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait, Func, Query, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DbErr, EntityTrait, FromQueryResult, Order,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select,
    sea_query::NullOrdering,
};

use super::entities::{external_identity, group_member, user};
use super::{Conn, FixedStatement, one_of};
use crate::domain::ids::{AccountId, GroupId, UserId};
use crate::domain::user::{UserKind, UserStatus, UserType};

/// Which users a list shows. `text` matches names and usernames, and emails only when
/// `text_matches_email` (the caller may read personal data).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserFilter {
    pub statuses: Vec<UserStatus>,
    pub kinds: Vec<UserKind>,
    pub user_types: Vec<UserType>,
    pub group_id: Option<GroupId>,
    /// Users linked to a record of any of these external sources (e.g. `intercom`).
    pub sources: Vec<String>,
    pub text: Option<String>,
    /// Set per caller (who may read email addresses), never stored with a view.
    #[serde(skip)]
    pub text_matches_email: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UserOrder {
    #[default]
    Username,
    DisplayName,
    CreatedAt,
}

pub async fn insert(conn: &impl Conn, model: user::ActiveModel) -> Result<user::Model, DbErr> {
    model.insert(conn).await
}

pub async fn update(conn: &impl Conn, model: user::ActiveModel) -> Result<user::Model, DbErr> {
    model.update(conn).await
}

pub async fn find(
    conn: &impl Conn,
    account: AccountId,
    id: UserId,
) -> Result<Option<user::Model>, DbErr> {
    static FIND: FixedStatement = FixedStatement::new();
    let statement = FIND.statement(
        conn.get_database_backend(),
        || {
            user::Entity::find_by_id(id)
                .filter(user::Column::AccountId.eq(account))
                .limit(1)
                .into_query()
        },
        vec![id.into(), account.into(), 1u64.into()],
    );
    Ok(UserRecord::find_by_statement(statement)
        .one(conn)
        .await?
        .map(|UserRecord(user)| user))
}

pub async fn find_by_username(
    conn: &impl Conn,
    account: AccountId,
    username: &str,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::AccountId.eq(account))
        .filter(user::Column::UsernameKey.eq(username.to_lowercase()))
        .one(conn)
        .await
}

super::read_by_position! {
    /// A user read by column position (see [`super::ByPosition`]): lists of users (pages,
    /// contacts, the loaders' batches) read many wide rows with mostly empty optional columns.
    pub struct UserRecord(user) {
        id: value(Id),
        account_id: value(AccountId),
        kind: value(Kind),
        status: value(Status),
        username: value(Username),
        username_key: value(UsernameKey),
        display_name: value(DisplayName),
        first_name: value(FirstName),
        last_name: value(LastName),
        email: value(Email),
        email_key: value(EmailKey),
        phone: value(Phone),
        preferred_language: value(PreferredLanguage),
        user_type: value(UserType),
        country: value(Country),
        telephony_region: value(TelephonyRegion),
        licence_type: value(LicenceType),
        agent_id: value(AgentId),
        email_invalid_at: value(EmailInvalidAt),
        title: value(Title),
        is_distribution_list: value(IsDistributionList),
        may_contact_for_interviews: value(MayContactForInterviews),
        may_contact_for_product_updates: value(MayContactForProductUpdates),
        created_at: value(CreatedAt),
        updated_at: value(UpdatedAt),
    }
}

/// The users with these ids in the account, by id (the DataLoader's batch).
pub async fn by_ids(
    conn: &impl Conn,
    account: AccountId,
    ids: &[UserId],
) -> Result<HashMap<UserId, user::Model>, DbErr> {
    let users = user::Entity::find()
        .filter(user::Column::AccountId.eq(account))
        .filter(one_of(conn, user::Column::Id, ids.iter().copied()))
        .into_model::<UserRecord>()
        .all(conn)
        .await?;
    Ok(users
        .into_iter()
        .map(|UserRecord(user)| (user.id, user))
        .collect())
}

fn filtered(account: AccountId, filter: &UserFilter) -> Select<user::Entity> {
    let mut condition = Condition::all().add(user::Column::AccountId.eq(account));
    if !filter.statuses.is_empty() {
        condition = condition.add(user::Column::Status.is_in(filter.statuses.clone()));
    }
    if !filter.kinds.is_empty() {
        condition = condition.add(user::Column::Kind.is_in(filter.kinds.clone()));
    }
    if !filter.user_types.is_empty() {
        condition = condition.add(user::Column::UserType.is_in(filter.user_types.clone()));
    }
    if let Some(group) = filter.group_id {
        condition = condition.add(
            user::Column::Id.in_subquery(
                Query::select()
                    .column(group_member::Column::UserId)
                    .from(group_member::Entity)
                    .and_where(group_member::Column::AccountId.eq(account))
                    .and_where(group_member::Column::GroupId.eq(group))
                    .to_owned(),
            ),
        );
    }
    if !filter.sources.is_empty() {
        condition = condition.add(
            user::Column::Id.in_subquery(
                Query::select()
                    .column(external_identity::Column::UserId)
                    .from(external_identity::Entity)
                    .and_where(external_identity::Column::AccountId.eq(account))
                    .and_where(external_identity::Column::Source.is_in(filter.sources.clone()))
                    .to_owned(),
            ),
        );
    }
    if let Some(text) = filter
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
        let like = |column: user::Column| -> SimpleExpr {
            Expr::expr(Func::lower(Expr::col(column)))
                .like(sea_orm::sea_query::LikeExpr::new(pattern.clone()).escape('\\'))
        };
        let mut any = Condition::any()
            .add(like(user::Column::UsernameKey))
            .add(like(user::Column::DisplayName))
            .add(like(user::Column::FirstName))
            .add(like(user::Column::LastName));
        if filter.text_matches_email {
            any = any.add(like(user::Column::EmailKey));
        }
        condition = condition.add(any);
    }
    user::Entity::find().filter(condition)
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The ids of the filtered users by username (the id breaks ties), at most `limit`.
pub async fn matching_ids(
    conn: &impl Conn,
    account: AccountId,
    filter: &UserFilter,
    limit: u64,
) -> Result<Vec<UserId>, DbErr> {
    filtered(account, filter)
        .select_only()
        .column(user::Column::Id)
        .order_by_asc(user::Column::UsernameKey)
        .order_by_asc(user::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await
}

/// One page of the filtered users, in a stable order (the id breaks ties).
pub async fn page(
    conn: &impl Conn,
    account: AccountId,
    filter: &UserFilter,
    order: UserOrder,
    offset: u64,
    limit: u64,
) -> Result<Vec<user::Model>, DbErr> {
    let query = filtered(account, filter);
    let query = match order {
        // NULLs sort differently per database: put them last explicitly, with `NULLS LAST`
        // rather than an `IS NULL` term, so the `(account_id, username_key)` index serves the
        // order and a page reads its rows instead of sorting the whole account.
        UserOrder::Username => {
            query.order_by_with_nulls(user::Column::UsernameKey, Order::Asc, NullOrdering::Last)
        }
        UserOrder::DisplayName => {
            query.order_by_with_nulls(user::Column::DisplayName, Order::Asc, NullOrdering::Last)
        }
        UserOrder::CreatedAt => query.order_by_asc(user::Column::CreatedAt),
    };
    query
        .order_by_asc(user::Column::Id)
        .offset(offset)
        .limit(limit)
        .into_model::<UserRecord>()
        .all(conn)
        .await
        .map(|users| users.into_iter().map(|UserRecord(user)| user).collect())
}

pub async fn count(
    conn: &impl Conn,
    account: AccountId,
    filter: &UserFilter,
) -> Result<u64, DbErr> {
    filtered(account, filter).count(conn).await
}

/// Sets a user's status (user sync deactivating a user gone upstream).
pub async fn set_status(
    conn: &impl Conn,
    account: AccountId,
    id: UserId,
    status: UserStatus,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(
            user::Column::Status,
            sea_orm::sea_query::Expr::value(status),
        )
        .col_expr(
            user::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(user::Column::AccountId.eq(account))
        .filter(user::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}
