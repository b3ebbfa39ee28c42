//! Roles, their grants, and who holds them.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, FromQueryResult, JoinType, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Related, Set,
};

use super::entities::account::{self, AccountStatus};
use super::entities::{role, role_grant, user, user_role};
use super::{Conn, FixedStatement, TIE_OWNER, TieOwner, one_of};
use crate::domain::ids::{AccountId, RoleId, UserId};
use crate::domain::permission::{Area, Grants, Level};
use crate::domain::user::{UserKind, UserStatus};

pub async fn insert(conn: &impl Conn, model: role::ActiveModel) -> Result<role::Model, DbErr> {
    model.insert(conn).await
}

pub async fn update(conn: &impl Conn, model: role::ActiveModel) -> Result<role::Model, DbErr> {
    model.update(conn).await
}

pub async fn find(
    conn: &impl Conn,
    account: AccountId,
    id: RoleId,
) -> Result<Option<role::Model>, DbErr> {
    role::Entity::find_by_id(id)
        .filter(role::Column::AccountId.eq(account))
        .one(conn)
        .await
}

pub async fn list(conn: &impl Conn, account: AccountId) -> Result<Vec<role::Model>, DbErr> {
    role::Entity::find()
        .filter(role::Column::AccountId.eq(account))
        .order_by_asc(role::Column::NameKey)
        .order_by_asc(role::Column::Id)
        .all(conn)
        .await
}

/// The roles of the account among `ids` (an unknown or foreign id is simply absent).
pub async fn by_ids(
    conn: &impl Conn,
    account: AccountId,
    ids: &[RoleId],
) -> Result<Vec<role::Model>, DbErr> {
    role::Entity::find()
        .filter(role::Column::AccountId.eq(account))
        .filter(one_of(conn, role::Column::Id, ids.iter().copied()))
        .all(conn)
        .await
}

pub async fn admin_role(
    conn: &impl Conn,
    account: AccountId,
) -> Result<Option<role::Model>, DbErr> {
    role::Entity::find()
        .filter(role::Column::AccountId.eq(account))
        .filter(role::Column::IsAccountAdmin.eq(true))
        .one(conn)
        .await
}

pub async fn delete(conn: &impl Conn, account: AccountId, id: RoleId) -> Result<bool, DbErr> {
    let result = role::Entity::delete_many()
        .filter(role::Column::AccountId.eq(account))
        .filter(role::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Replaces a role's grants; areas at NONE get no row.
pub async fn replace_grants(
    conn: &impl Conn,
    account: AccountId,
    role: RoleId,
    grants: &Grants,
) -> Result<(), DbErr> {
    role_grant::Entity::delete_many()
        .filter(role_grant::Column::AccountId.eq(account))
        .filter(role_grant::Column::RoleId.eq(role))
        .exec(conn)
        .await?;
    let rows: Vec<role_grant::ActiveModel> = grants
        .iter()
        .filter(|(_, level)| *level != Level::None)
        .map(|(area, level)| role_grant::ActiveModel {
            account_id: Set(account),
            role_id: Set(role),
            area: Set(area.as_str().to_owned()),
            level: Set(level.as_str().to_owned()),
        })
        .collect();
    if !rows.is_empty() {
        role_grant::Entity::insert_many(rows).exec(conn).await?;
    }
    Ok(())
}

fn apply_grant(grants: &mut Grants, area: &str, level: &str) {
    // A row written by a newer version with an area this one does not know is ignored.
    if let (Ok(area), Ok(level)) = (area.parse::<Area>(), level.parse::<Level>()) {
        grants.set(area, level);
    }
}

/// The grants of each role (admin roles are FULL everywhere).
pub async fn grants_by_roles(
    conn: &impl Conn,
    account: AccountId,
    roles: &[role::Model],
) -> Result<HashMap<RoleId, Grants>, DbErr> {
    let mut result: HashMap<RoleId, Grants> = roles
        .iter()
        .map(|role| {
            let grants = if role.is_account_admin {
                Grants::full()
            } else {
                Grants::default()
            };
            (role.id, grants)
        })
        .collect();
    let plain: Vec<RoleId> = roles
        .iter()
        .filter(|role| !role.is_account_admin)
        .map(|role| role.id)
        .collect();
    if plain.is_empty() {
        return Ok(result);
    }
    let rows = role_grant::Entity::find()
        .filter(role_grant::Column::AccountId.eq(account))
        .filter(one_of(conn, role_grant::Column::RoleId, plain))
        .all(conn)
        .await?;
    for row in rows {
        if let Some(grants) = result.get_mut(&row.role_id) {
            apply_grant(grants, &row.area, &row.level);
        }
    }
    Ok(result)
}

/// A user's effective grants: the union of their roles' grants, in one statement (none for an
/// unknown user).
pub async fn effective_grants(
    conn: &impl Conn,
    account: AccountId,
    user: UserId,
) -> Result<Grants, DbErr> {
    Ok(sign_in(conn, account, user)
        .await?
        .map(|found| found.grants)
        .unwrap_or_default())
}

/// What signing in needs to know of a user: whether they may, and their effective grants.
#[derive(Debug)]
pub struct SignIn {
    pub kind: UserKind,
    pub status: UserStatus,
    pub username: Option<String>,
    pub account_status: AccountStatus,
    pub grants: Grants,
}

/// One row of [`sign_in`]'s statement, its columns in the select's order.
mod sign_in_row {
    use super::{AccountStatus, UserKind, UserStatus};

    /// The row read by name: debug builds compare each row read by position with it.
    #[derive(Debug, PartialEq, sea_orm::FromQueryResult)]
    pub struct Model {
        pub kind: UserKind,
        pub status: UserStatus,
        pub username: Option<String>,
        pub account_status: AccountStatus,
        pub is_account_admin: Option<bool>,
        pub area: Option<String>,
        pub level: Option<String>,
    }

    /// The columns' positions.
    pub enum Column {
        Kind,
        Status,
        Username,
        AccountStatus,
        IsAccountAdmin,
        Area,
        Level,
    }
}

super::read_by_position! {
    /// A sign-in row read by column position (see [`super::ByPosition`]): every request reads
    /// one or more, and the derived reader formatted an error for each NULL column (2.5 % of a
    /// `node(id:)` request's instructions).
    struct SignInRow(sign_in_row) {
        kind: value(Kind),
        status: value(Status),
        username: value(Username),
        account_status: value(AccountStatus),
        is_account_admin: value(IsAccountAdmin),
        area: value(Area),
        level: value(Level),
    }
}

/// The user's sign-in state with their account's status and their effective grants, in one
/// statement (one row per grant): authentication runs it on every request.
pub async fn sign_in(
    conn: &impl Conn,
    account: AccountId,
    user: UserId,
) -> Result<Option<SignIn>, DbErr> {
    static SIGN_IN: FixedStatement = FixedStatement::new();
    let statement = SIGN_IN.statement(
        conn.get_database_backend(),
        || sign_in_query(account, user),
        vec![user.into(), account.into()],
    );
    let rows = SignInRow::find_by_statement(statement).all(conn).await?;
    let Some(SignInRow(first)) = rows.first() else {
        return Ok(None);
    };
    let mut sign_in = SignIn {
        kind: first.kind,
        status: first.status,
        username: first.username.clone(),
        account_status: first.account_status,
        grants: Grants::default(),
    };
    for SignInRow(row) in rows {
        if row.is_account_admin == Some(true) {
            sign_in.grants = Grants::full();
            break;
        }
        if let (Some(area), Some(level)) = (row.area, row.level) {
            apply_grant(&mut sign_in.grants, &area, &level);
        }
    }
    Ok(Some(sign_in))
}

/// [`sign_in`]'s statement (its text is built once per backend).
fn sign_in_query(account: AccountId, user: UserId) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column((user::Entity, user::Column::Kind))
        .column((user::Entity, user::Column::Status))
        .column((user::Entity, user::Column::Username))
        .expr_as(
            Expr::col((account::Entity, account::Column::Status)),
            "account_status",
        )
        .column((role::Entity, role::Column::IsAccountAdmin))
        .column((role_grant::Entity, role_grant::Column::Area))
        .column((role_grant::Entity, role_grant::Column::Level))
        .from(user::Entity)
        .inner_join(
            account::Entity,
            Expr::col((account::Entity, account::Column::Id))
                .equals((user::Entity, user::Column::AccountId)),
        )
        .left_join(
            user_role::Entity,
            Expr::col((user_role::Entity, user_role::Column::AccountId))
                .equals((user::Entity, user::Column::AccountId))
                .and(
                    Expr::col((user_role::Entity, user_role::Column::UserId))
                        .equals((user::Entity, user::Column::Id)),
                ),
        )
        .left_join(
            role::Entity,
            Expr::col((role::Entity, role::Column::Id))
                .equals((user_role::Entity, user_role::Column::RoleId)),
        )
        .left_join(
            role_grant::Entity,
            Expr::col((role_grant::Entity, role_grant::Column::RoleId))
                .equals((role::Entity, role::Column::Id)),
        )
        .and_where(Expr::col((user::Entity, user::Column::Id)).eq(user))
        .and_where(Expr::col((user::Entity, user::Column::AccountId)).eq(account))
        .to_owned()
}

/// Each user's roles, for the DataLoader: one statement for any number of users.
pub async fn roles_by_users(
    conn: &impl Conn,
    account: AccountId,
    users: &[UserId],
) -> Result<HashMap<UserId, Vec<role::Model>>, DbErr> {
    let select = role::Entity::find()
        .join_rev(
            JoinType::InnerJoin,
            <user_role::Entity as Related<role::Entity>>::to(),
        )
        .column_as(user_role::Column::UserId, TIE_OWNER)
        .filter(user_role::Column::AccountId.eq(account))
        .filter(one_of(
            conn,
            user_role::Column::UserId,
            users.iter().copied(),
        ))
        .order_by_asc(role::Column::NameKey)
        .order_by_asc(role::Column::Id);
    let mut result: HashMap<UserId, Vec<role::Model>> = HashMap::new();
    for (TieOwner(user), RoleRecord(role)) in super::tied_as(conn, select).await? {
        result.entry(user).or_default().push(role);
    }
    Ok(result)
}

super::read_by_position! {
    /// A role read by column position (see [`super::ByPosition`]): a page of users reads one or
    /// two per user.
    struct RoleRecord(role) {
        id: value(Id),
        account_id: value(AccountId),
        name: value(Name),
        name_key: value(NameKey),
        description: value(Description),
        is_account_admin: value(IsAccountAdmin),
        created_at: value(CreatedAt),
        updated_at: value(UpdatedAt),
    }
}

/// ACTIVE LOGIN users holding the Account Admin role.
fn active_admins(account: AccountId) -> sea_orm::Select<user::Entity> {
    user::Entity::find()
        .filter(user::Column::AccountId.eq(account))
        .filter(user::Column::Kind.eq(UserKind::Login))
        .filter(user::Column::Status.eq(UserStatus::Active))
        .filter(
            user::Column::Id.in_subquery(
                Query::select()
                    .column((user_role::Entity, user_role::Column::UserId))
                    .from(user_role::Entity)
                    .inner_join(
                        role::Entity,
                        Expr::col((role::Entity, role::Column::Id))
                            .equals((user_role::Entity, user_role::Column::RoleId)),
                    )
                    .and_where(
                        Expr::col((user_role::Entity, user_role::Column::AccountId)).eq(account),
                    )
                    .and_where(Expr::col((role::Entity, role::Column::IsAccountAdmin)).eq(true))
                    .to_owned(),
            ),
        )
}

pub async fn count_active_admins(conn: &impl Conn, account: AccountId) -> Result<u64, DbErr> {
    active_admins(account).count(conn).await
}

/// The account's longest-standing active admin.
pub async fn first_admin(
    conn: &impl Conn,
    account: AccountId,
) -> Result<Option<user::Model>, DbErr> {
    active_admins(account)
        .order_by_asc(user::Column::CreatedAt)
        .order_by_asc(user::Column::Id)
        .one(conn)
        .await
}

/// The account's active admins whose address has not bounced: who account emails go to.
pub async fn reachable_admins(
    conn: &impl Conn,
    account: AccountId,
) -> Result<Vec<user::Model>, DbErr> {
    active_admins(account)
        .filter(user::Column::Email.is_not_null())
        .filter(user::Column::EmailInvalidAt.is_null())
        .order_by_asc(user::Column::Id)
        .all(conn)
        .await
}

/// Whether `user` is an ACTIVE login user holding the Account Admin role.
pub async fn is_active_admin(
    conn: &impl Conn,
    account: AccountId,
    user: UserId,
) -> Result<bool, DbErr> {
    Ok(active_admins(account)
        .filter(user::Column::Id.eq(user))
        .count(conn)
        .await?
        > 0)
}
