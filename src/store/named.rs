//! Named account resources that share one shape — groups and skills — and the memberships that
//! tie users to them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, JoinType, QueryFilter,
    QueryOrder, QuerySelect, Related, Set,
};
use uuid::Uuid;

use super::entities::{group, group_member, skill, user_skill};
use super::{Conn, LevelledTie, TIE_LEVEL, TIE_OWNER, TieOwner, one_of, tied};
use crate::domain::ids::{AccountId, GroupId, SkillId, UserId};

/// A group or a skill as the services see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedRecord {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What the generic queries need to know of a named entity.
pub trait Named: EntityTrait {
    type Active: ActiveModelTrait<Entity = Self> + ActiveModelBehavior + Send;
    const ACCOUNT_ID: Self::Column;
    const ID: Self::Column;
    const NAME: Self::Column;
    const NAME_KEY: Self::Column;
    const DESCRIPTION: Self::Column;
    const UPDATED_AT: Self::Column;

    fn record(model: Self::Model) -> NamedRecord;
    fn active(account: AccountId, record: &NamedRecord) -> Self::Active;
}

macro_rules! named_entity {
    ($module:ident, $id:ident) => {
        impl Named for $module::Entity {
            type Active = $module::ActiveModel;
            const ACCOUNT_ID: $module::Column = $module::Column::AccountId;
            const ID: $module::Column = $module::Column::Id;
            const NAME: $module::Column = $module::Column::Name;
            const NAME_KEY: $module::Column = $module::Column::NameKey;
            const DESCRIPTION: $module::Column = $module::Column::Description;
            const UPDATED_AT: $module::Column = $module::Column::UpdatedAt;

            fn record(model: $module::Model) -> NamedRecord {
                NamedRecord {
                    id: model.id.0,
                    name: model.name,
                    description: model.description,
                    created_at: model.created_at,
                }
            }

            fn active(account: AccountId, record: &NamedRecord) -> $module::ActiveModel {
                $module::ActiveModel {
                    id: Set($id(record.id)),
                    account_id: Set(account),
                    name: Set(record.name.clone()),
                    name_key: Set(record.name.to_lowercase()),
                    description: Set(record.description.clone()),
                    created_at: Set(record.created_at),
                    updated_at: Set(record.created_at),
                }
            }
        }
    };
}

named_entity!(group, GroupId);
named_entity!(skill, SkillId);

pub async fn list<E: Named>(
    conn: &impl Conn,
    account: AccountId,
) -> Result<Vec<NamedRecord>, DbErr> {
    Ok(E::find()
        .filter(E::ACCOUNT_ID.eq(account))
        .order_by_asc(E::NAME_KEY)
        .order_by_asc(E::ID)
        .all(conn)
        .await?
        .into_iter()
        .map(E::record)
        .collect())
}

pub async fn find<E: Named>(
    conn: &impl Conn,
    account: AccountId,
    id: Uuid,
) -> Result<Option<NamedRecord>, DbErr> {
    Ok(E::find()
        .filter(E::ACCOUNT_ID.eq(account))
        .filter(E::ID.eq(id))
        .one(conn)
        .await?
        .map(E::record))
}

/// How many of `ids` exist in the account.
pub async fn existing<E: Named>(
    conn: &impl Conn,
    account: AccountId,
    ids: &[Uuid],
) -> Result<Vec<Uuid>, DbErr> {
    Ok(E::find()
        .filter(E::ACCOUNT_ID.eq(account))
        .filter(one_of(conn, E::ID, ids.iter().copied()))
        .all(conn)
        .await?
        .into_iter()
        .map(|model| E::record(model).id)
        .collect())
}

pub async fn insert<E: Named>(
    conn: &impl Conn,
    account: AccountId,
    record: &NamedRecord,
) -> Result<(), DbErr> {
    E::insert(E::active(account, record)).exec(conn).await?;
    Ok(())
}

/// Renames and re-describes; false when no such record is in the account.
pub async fn update<E: Named>(
    conn: &impl Conn,
    account: AccountId,
    id: Uuid,
    name: &str,
    description: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = E::update_many()
        .col_expr(E::NAME, Expr::value(name))
        .col_expr(E::NAME_KEY, Expr::value(name.to_lowercase()))
        .col_expr(E::DESCRIPTION, Expr::value(description.map(str::to_owned)))
        .col_expr(E::UPDATED_AT, Expr::value(now))
        .filter(E::ACCOUNT_ID.eq(account))
        .filter(E::ID.eq(id))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// A user's skill with its level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSkill {
    pub skill: NamedRecord,
    pub level: i32,
}

/// Each user's skills: one statement for any number of users.
pub async fn skills_by_users(
    conn: &impl Conn,
    account: AccountId,
    users: &[UserId],
) -> Result<HashMap<UserId, Vec<UserSkill>>, DbErr> {
    let select = skill::Entity::find()
        .join_rev(
            JoinType::InnerJoin,
            <user_skill::Entity as Related<skill::Entity>>::to(),
        )
        .column_as(user_skill::Column::UserId, TIE_OWNER)
        .column_as(user_skill::Column::Level, TIE_LEVEL)
        .filter(user_skill::Column::AccountId.eq(account))
        .filter(one_of(
            conn,
            user_skill::Column::UserId,
            users.iter().copied(),
        ))
        .order_by_asc(skill::Column::NameKey)
        .order_by_asc(skill::Column::Id);
    let mut result: HashMap<UserId, Vec<UserSkill>> = HashMap::new();
    for (tie, skill) in tied::<_, LevelledTie<UserId, i32>>(conn, select).await? {
        result.entry(tie.owner).or_default().push(UserSkill {
            skill: skill::Entity::record(skill),
            level: tie.level,
        });
    }
    Ok(result)
}

/// Each user's groups: one statement for any number of users.
pub async fn groups_by_users(
    conn: &impl Conn,
    account: AccountId,
    users: &[UserId],
) -> Result<HashMap<UserId, Vec<NamedRecord>>, DbErr> {
    let select = group::Entity::find()
        .join_rev(
            JoinType::InnerJoin,
            <group_member::Entity as Related<group::Entity>>::to(),
        )
        .column_as(group_member::Column::UserId, TIE_OWNER)
        .filter(group_member::Column::AccountId.eq(account))
        .filter(one_of(
            conn,
            group_member::Column::UserId,
            users.iter().copied(),
        ))
        .order_by_asc(group::Column::NameKey)
        .order_by_asc(group::Column::Id);
    let mut result: HashMap<UserId, Vec<NamedRecord>> = HashMap::new();
    for (TieOwner(user), GroupRecord(group)) in super::tied_as(conn, select).await? {
        result
            .entry(user)
            .or_default()
            .push(group::Entity::record(group));
    }
    Ok(result)
}

super::read_by_position! {
    /// A group read by column position (see [`super::ByPosition`]): a page of users reads one or
    /// two per user.
    struct GroupRecord(group) {
        id: value(Id),
        account_id: value(AccountId),
        name: value(Name),
        name_key: value(NameKey),
        description: value(Description),
        created_at: value(CreatedAt),
        updated_at: value(UpdatedAt),
    }
}
