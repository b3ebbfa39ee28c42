//! Account contacts by topic, consent flags and their history, and the contact review.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, DbErr, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
    Related, Set,
};

use super::entities::{account, consent_change, topic_contact, user};
use super::{Conn, TIE_OWNER, TieOwner, one_of, tied};
use crate::domain::contact::Topic;
use crate::domain::ids::{AccountId, UserId};
use crate::domain::user::UserStatus;

/// Users the vendor can reach: ACTIVE, with an email address that has not bounced.
pub fn reachable() -> Condition {
    Condition::all()
        .add(user::Column::Status.eq(UserStatus::Active))
        .add(user::Column::Email.is_not_null())
        .add(user::Column::EmailInvalidAt.is_null())
}

/// Every topic contact of the account, by topic, oldest first.
pub async fn by_account(
    conn: &impl Conn,
    account: AccountId,
) -> Result<Vec<(Topic, user::Model)>, DbErr> {
    let select = user::Entity::find()
        .join_rev(
            JoinType::InnerJoin,
            <topic_contact::Entity as Related<user::Entity>>::to(),
        )
        .column_as(topic_contact::Column::Topic, TIE_OWNER)
        .filter(topic_contact::Column::AccountId.eq(account))
        .order_by_asc(topic_contact::Column::CreatedAt)
        .order_by_asc(topic_contact::Column::UserId);
    Ok(tied(conn, select)
        .await?
        .into_iter()
        .map(|(TieOwner(topic), user)| (topic, user))
        .collect())
}

/// Each user's topics, for the DataLoader: one statement.
pub async fn by_users(
    conn: &impl Conn,
    account: AccountId,
    users: &[UserId],
) -> Result<HashMap<UserId, Vec<Topic>>, DbErr> {
    let rows = topic_contact::Entity::find()
        .filter(topic_contact::Column::AccountId.eq(account))
        .filter(one_of(
            conn,
            topic_contact::Column::UserId,
            users.iter().copied(),
        ))
        .all(conn)
        .await?;
    let mut result: HashMap<UserId, Vec<Topic>> = HashMap::new();
    for row in rows {
        result.entry(row.user_id).or_default().push(row.topic);
    }
    for topics in result.values_mut() {
        topics.sort();
    }
    Ok(result)
}

/// Replaces a topic's contacts.
pub async fn replace(
    conn: &impl Conn,
    account: AccountId,
    topic: Topic,
    users: &[UserId],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    topic_contact::Entity::delete_many()
        .filter(topic_contact::Column::AccountId.eq(account))
        .filter(topic_contact::Column::Topic.eq(topic))
        .exec(conn)
        .await?;
    if users.is_empty() {
        return Ok(());
    }
    topic_contact::Entity::insert_many(users.iter().map(|user| topic_contact::ActiveModel {
        account_id: Set(account),
        user_id: Set(*user),
        topic: Set(topic),
        created_at: Set(now),
    }))
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// The topics that have at least one reachable contact, per account: one statement.
pub async fn satisfied(
    conn: &impl Conn,
    accounts: &[AccountId],
) -> Result<HashMap<AccountId, BTreeSet<Topic>>, DbErr> {
    let rows: Vec<(AccountId, Topic)> = topic_contact::Entity::find()
        .select_only()
        .column(topic_contact::Column::AccountId)
        .column(topic_contact::Column::Topic)
        .inner_join(user::Entity)
        .filter(one_of(
            conn,
            topic_contact::Column::AccountId,
            accounts.iter().copied(),
        ))
        .filter(reachable())
        .distinct()
        .into_tuple()
        .all(conn)
        .await?;
    let mut result: HashMap<AccountId, BTreeSet<Topic>> = HashMap::new();
    for (account, topic) in rows {
        result.entry(account).or_default().insert(topic);
    }
    Ok(result)
}

/// Sets a user's consent flags; `None` leaves one as it is.
pub async fn set_consent(
    conn: &impl Conn,
    account: AccountId,
    user: UserId,
    interviews: Option<bool>,
    product_updates: Option<bool>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut update = user::Entity::update_many()
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::AccountId.eq(account))
        .filter(user::Column::Id.eq(user));
    if let Some(value) = interviews {
        update = update.col_expr(user::Column::MayContactForInterviews, Expr::value(value));
    }
    if let Some(value) = product_updates {
        update = update.col_expr(
            user::Column::MayContactForProductUpdates,
            Expr::value(value),
        );
    }
    update.exec(conn).await?;
    Ok(())
}

pub async fn record_consent_change(
    conn: &impl Conn,
    change: consent_change::ActiveModel,
) -> Result<(), DbErr> {
    consent_change::Entity::insert(change)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Each user's consent changes, newest first, for the DataLoader: one statement.
pub async fn consent_history(
    conn: &impl Conn,
    account: AccountId,
    users: &[UserId],
) -> Result<HashMap<UserId, Vec<consent_change::Model>>, DbErr> {
    let rows = consent_change::Entity::find()
        .filter(consent_change::Column::AccountId.eq(account))
        .filter(one_of(
            conn,
            consent_change::Column::UserId,
            users.iter().copied(),
        ))
        .order_by_desc(consent_change::Column::ChangedAt)
        .order_by_desc(consent_change::Column::Id)
        .all(conn)
        .await?;
    let mut result: HashMap<UserId, Vec<consent_change::Model>> = HashMap::new();
    for row in rows {
        result.entry(row.user_id).or_default().push(row);
    }
    Ok(result)
}

/// Records the admins' confirmation that the contacts are current.
pub async fn set_reviewed(
    conn: &impl Conn,
    account: AccountId,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    account::Entity::update_many()
        .col_expr(account::Column::ContactsReviewedAt, Expr::value(now))
        .filter(account::Column::Id.eq(account))
        .exec(conn)
        .await?;
    Ok(())
}

pub async fn set_allowed_domains(
    conn: &impl Conn,
    account: AccountId,
    domains: &[String],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let value = (!domains.is_empty()).then(|| serde_json::json!(domains));
    account::Entity::update_many()
        .col_expr(account::Column::AllowedContactDomains, Expr::value(value))
        .col_expr(account::Column::UpdatedAt, Expr::value(now))
        .filter(account::Column::Id.eq(account))
        .exec(conn)
        .await?;
    Ok(())
}

/// Claims the reminder of a review period: true for exactly one caller per period, across
/// replicas (a compare-and-set on the account row).
pub async fn claim_reminder(
    conn: &impl Conn,
    account: AccountId,
    period_start: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = account::Entity::update_many()
        .col_expr(
            account::Column::ContactReminderPeriod,
            Expr::value(period_start),
        )
        .filter(account::Column::Id.eq(account))
        .filter(
            Condition::any()
                .add(account::Column::ContactReminderPeriod.is_null())
                .add(account::Column::ContactReminderPeriod.lt(period_start)),
        )
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}
