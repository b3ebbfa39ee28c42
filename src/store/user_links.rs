//! The tables that tie a user to things of the account — skills (with a level), groups, roles,
//! queue and line access (with a level) — written one way for all four.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, Set};

use super::entities::{group_member, user, user_resource_access, user_role, user_skill};
use super::{Conn, one_of};
use crate::domain::ids::{AccountId, GroupId, RoleId, SkillId, TelephonyResourceId, UserId};
use crate::domain::telephony::AccessLevel;

/// A user's skills, each with a level.
pub type Skills = user_skill::Entity;
/// The groups a user is in.
pub type Groups = group_member::Entity;
/// A user's roles.
pub type Roles = user_role::Entity;
/// A user's access to queues and lines, each with a level.
pub type ResourceAccess = user_resource_access::Entity;

/// User ids bound per statement: with the account and the template, within the values a
/// PostgreSQL statement is kept to (see `insert_batched`).
const USERS_PER_COPY: usize = 200;

/// A table of ties between users and one kind of account resource.
pub trait UserLink: EntityTrait {
    /// What one tie holds besides its account and user: the resource, and its level if any.
    type Tie: Sync;
    const ACCOUNT_ID: Self::Column;
    const USER_ID: Self::Column;
    /// The columns a tie holds besides its account and user.
    const TIE_COLUMNS: &'static [Self::Column];

    fn active(account: AccountId, user: UserId, tie: &Self::Tie) -> Self::ActiveModel;
}

macro_rules! user_link {
    ($module:ident, $tie:ty, [$($column:ident),+], |$account:ident, $user:ident, $t:ident| $active:expr) => {
        impl UserLink for $module::Entity {
            type Tie = $tie;
            const ACCOUNT_ID: $module::Column = $module::Column::AccountId;
            const USER_ID: $module::Column = $module::Column::UserId;
            const TIE_COLUMNS: &'static [$module::Column] = &[$($module::Column::$column),+];

            fn active($account: AccountId, $user: UserId, $t: &$tie) -> $module::ActiveModel {
                $active
            }
        }
    };
}

user_link!(
    user_skill,
    (SkillId, i32),
    [SkillId, Level],
    |account, user, tie| {
        user_skill::ActiveModel {
            account_id: Set(account),
            user_id: Set(user),
            skill_id: Set(tie.0),
            level: Set(tie.1),
        }
    }
);
user_link!(group_member, GroupId, [GroupId], |account, user, group| {
    group_member::ActiveModel {
        account_id: Set(account),
        group_id: Set(*group),
        user_id: Set(user),
    }
});
user_link!(user_role, RoleId, [RoleId], |account, user, role| {
    user_role::ActiveModel {
        account_id: Set(account),
        user_id: Set(user),
        role_id: Set(*role),
    }
});
user_link!(
    user_resource_access,
    (TelephonyResourceId, AccessLevel),
    [ResourceId, Level],
    |account, user, tie| {
        user_resource_access::ActiveModel {
            account_id: Set(account),
            user_id: Set(user),
            resource_id: Set(tie.0),
            level: Set(tie.1),
        }
    }
);

/// Removes every tie of each of `users`.
pub async fn remove_all<L: UserLink>(
    conn: &impl Conn,
    account: AccountId,
    users: &[UserId],
) -> Result<(), DbErr> {
    for batch in users.chunks(USERS_PER_COPY) {
        L::delete_many()
            .filter(L::ACCOUNT_ID.eq(account))
            .filter(one_of(conn, L::USER_ID, batch.iter().copied()))
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// Replaces `user`'s ties with `ties`.
pub async fn replace<L: UserLink>(
    conn: &impl Conn,
    account: AccountId,
    user: UserId,
    ties: &[L::Tie],
) -> Result<(), DbErr>
where
    L::ActiveModel: Clone + Send,
{
    remove_all::<L>(conn, account, &[user]).await?;
    let models: Vec<_> = ties
        .iter()
        .map(|tie| L::active(account, user, tie))
        .collect();
    super::insert_batched(conn, &models).await
}

/// Gives each of `users`, who have no ties of this kind, the ties `template` has: one
/// `INSERT … SELECT` per batch of users, so the ties never travel through the process.
pub async fn copy_from_template<L: UserLink>(
    conn: &impl Conn,
    account: AccountId,
    template: UserId,
    users: &[UserId],
) -> Result<(), DbErr> {
    let (tie, new) = (Alias::new("tie"), Alias::new("new_user"));
    let mut columns = vec![L::ACCOUNT_ID, L::USER_ID];
    columns.extend_from_slice(L::TIE_COLUMNS);
    for batch in users.chunks(USERS_PER_COPY) {
        let mut select = Query::select();
        select
            .expr(Expr::col((tie.clone(), L::ACCOUNT_ID)))
            .expr(Expr::col((new.clone(), user::Column::Id)));
        for column in L::TIE_COLUMNS {
            select.expr(Expr::col((tie.clone(), *column)));
        }
        select
            .from_as(L::default(), tie.clone())
            .from_as(user::Entity, new.clone())
            .and_where(Expr::col((tie.clone(), L::ACCOUNT_ID)).eq(account))
            .and_where(Expr::col((tie.clone(), L::USER_ID)).eq(template))
            .and_where(Expr::col((new.clone(), user::Column::AccountId)).eq(account))
            .and_where(Expr::col((new.clone(), user::Column::Id)).is_in(batch.iter().copied()));
        let insert = Query::insert()
            .into_table(L::default())
            .columns(columns.iter().copied())
            .select_from(select)
            .map_err(|error| DbErr::Custom(error.to_string()))?
            .to_owned();
        conn.execute(&insert).await?;
    }
    Ok(())
}
