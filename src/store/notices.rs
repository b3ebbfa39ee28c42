//! Notices from the vendor and their audiences. Audiences cross accounts on purpose: they are the
//! vendor's own communication, read by platform operators only.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, Set,
};
use uuid::Uuid;

use super::entities::account::{self, AccountStatus};
use super::entities::connection::{self, ConnectionStatus};
use super::entities::outbox_message::{self, OutboxStatus};
use super::entities::{
    integration_contact, notice, notice_account, notice_dismissal, notice_recipient, topic_contact,
    user, user_role,
};
use super::topics::reachable;
use super::{Conn, one_of};
use crate::domain::contact::Audience;
use crate::domain::ids::{AccountId, UserId};
use crate::domain::user::UserKind;

fn users_of<C: sea_orm::ColumnTrait>(
    table: impl sea_orm::Iden + 'static,
    column: C,
) -> SelectStatement {
    Query::select().column(column).from(table).to_owned()
}

fn active_accounts() -> SelectStatement {
    Query::select()
        .column(account::Column::Id)
        .from(account::Entity)
        .and_where(account::Column::Status.eq(AccountStatus::Active))
        .to_owned()
}

/// Marketing-eligible people: login users, and non-login people who hold a role or a topic (not
/// someone who is in the system only as an integration contact).
fn marketing_eligible() -> Condition {
    Condition::any()
        .add(user::Column::Kind.eq(UserKind::Login))
        .add(user::Column::Id.in_subquery(users_of(
            topic_contact::Entity,
            topic_contact::Column::UserId,
        )))
        .add(user::Column::Id.in_subquery(users_of(user_role::Entity, user_role::Column::UserId)))
}

/// The reachable people (ACTIVE, address not bounced, account not suspended) an audience holds.
fn audience_users(audience: &Audience) -> Select<user::Entity> {
    let who = match audience {
        Audience::IntegrationContacts(key) => Condition::all().add(
            user::Column::Id.in_subquery(
                users_of(
                    integration_contact::Entity,
                    integration_contact::Column::UserId,
                )
                .and_where(integration_contact::Column::IntegrationKey.eq(key.as_str()))
                .to_owned(),
            ),
        ),
        Audience::TopicContacts(topic) => {
            let mut condition = Condition::all().add(
                user::Column::Id.in_subquery(
                    users_of(topic_contact::Entity, topic_contact::Column::UserId)
                        .and_where(topic_contact::Column::Topic.eq(*topic))
                        .to_owned(),
                ),
            );
            if topic.needs_product_update_consent() {
                condition = condition.add(user::Column::MayContactForProductUpdates.eq(true));
            }
            condition
        }
        Audience::InterviewCandidates => Condition::all()
            .add(marketing_eligible())
            .add(user::Column::MayContactForInterviews.eq(true)),
        Audience::Marketing => Condition::all()
            .add(marketing_eligible())
            .add(user::Column::MayContactForProductUpdates.eq(true)),
    };
    user::Entity::find()
        .filter(reachable())
        .filter(user::Column::AccountId.in_subquery(active_accounts()))
        .filter(who)
}

/// The next recipients after `after`, in id order (the fan-out's keyset).
pub async fn audience_batch(
    conn: &impl Conn,
    audience: &Audience,
    after: Option<UserId>,
    limit: u64,
) -> Result<Vec<user::Model>, DbErr> {
    let mut select = audience_users(audience);
    if let Some(after) = after {
        select = select.filter(user::Column::Id.gt(after));
    }
    select
        .order_by_asc(user::Column::Id)
        .limit(limit)
        .all(conn)
        .await
}

pub async fn audience_count(conn: &impl Conn, audience: &Audience) -> Result<u64, DbErr> {
    audience_users(audience).count(conn).await
}

/// A page (offset, limit) of the audience, by account then person; all of it when `None`.
pub async fn audience_page(
    conn: &impl Conn,
    audience: &Audience,
    page: Option<(u64, u64)>,
) -> Result<Vec<user::Model>, DbErr> {
    let mut select = audience_users(audience)
        .order_by_asc(user::Column::AccountId)
        .order_by_asc(user::Column::Id);
    if let Some((offset, limit)) = page {
        select = select.offset(offset).limit(limit);
    }
    select.all(conn).await
}

/// How many people of the audience each account has.
pub async fn audience_by_account(
    conn: &impl Conn,
    audience: &Audience,
) -> Result<Vec<(AccountId, i64)>, DbErr> {
    audience_users(audience)
        .select_only()
        .column(user::Column::AccountId)
        .column_as(Expr::col(user::Column::Id).count(), "n")
        .group_by(user::Column::AccountId)
        .into_tuple()
        .all(conn)
        .await
}

/// How many people of the audience prefer each language (`None`: no preference).
pub async fn audience_by_language(
    conn: &impl Conn,
    audience: &Audience,
) -> Result<Vec<(Option<String>, i64)>, DbErr> {
    audience_users(audience)
        .select_only()
        .column(user::Column::PreferredLanguage)
        .column_as(Expr::col(user::Column::Id).count(), "n")
        .group_by(user::Column::PreferredLanguage)
        .into_tuple()
        .all(conn)
        .await
}

pub async fn accounts_by_ids(
    conn: &impl Conn,
    ids: &[AccountId],
) -> Result<HashMap<AccountId, account::Model>, DbErr> {
    let accounts = account::Entity::find()
        .filter(one_of(conn, account::Column::Id, ids.iter().copied()))
        .all(conn)
        .await?;
    Ok(accounts.into_iter().map(|a| (a.id, a)).collect())
}

pub async fn insert(conn: &impl Conn, model: notice::ActiveModel) -> Result<notice::Model, DbErr> {
    model.insert(conn).await
}

pub async fn find(conn: &impl Conn, id: Uuid) -> Result<Option<notice::Model>, DbErr> {
    notice::Entity::find_by_id(id).one(conn).await
}

/// Newest first.
pub async fn page(conn: &impl Conn, offset: u64, limit: u64) -> Result<Vec<notice::Model>, DbErr> {
    notice::Entity::find()
        .order_by_desc(notice::Column::CreatedAt)
        .order_by_desc(notice::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(conn)
        .await
}

pub async fn count(conn: &impl Conn) -> Result<u64, DbErr> {
    notice::Entity::find().count(conn).await
}

/// Moves the fan-out's cursor from `from` to `to` — only if it still is at `from`, so two workers
/// can never both write the same batch — and marks the notice SENT when `finished`.
pub async fn advance_cursor(
    conn: &impl Conn,
    id: Uuid,
    from: Option<Uuid>,
    to: Option<Uuid>,
    finished: Option<(i32, DateTime<Utc>)>,
) -> Result<bool, DbErr> {
    let mut update = notice::Entity::update_many()
        .col_expr(notice::Column::FanoutCursor, Expr::value(to))
        .filter(notice::Column::Id.eq(id))
        .filter(notice::Column::Status.eq(notice::NoticeStatus::Sending));
    update = match from {
        Some(from) => update.filter(notice::Column::FanoutCursor.eq(from)),
        None => update.filter(notice::Column::FanoutCursor.is_null()),
    };
    if let Some((audience_size, at)) = finished {
        update = update
            .col_expr(
                notice::Column::Status,
                Expr::value(notice::NoticeStatus::Sent),
            )
            .col_expr(notice::Column::AudienceSize, Expr::value(audience_size))
            .col_expr(notice::Column::CompletedAt, Expr::value(at));
    }
    Ok(update.exec(conn).await?.rows_affected == 1)
}

pub async fn insert_recipients(
    conn: &impl Conn,
    rows: Vec<notice_recipient::ActiveModel>,
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    notice_recipient::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn recipient_count(conn: &impl Conn, notice: Uuid) -> Result<u64, DbErr> {
    notice_recipient::Entity::find()
        .filter(notice_recipient::Column::NoticeId.eq(notice))
        .count(conn)
        .await
}

/// How many of a notice's messages are in each delivery state.
pub async fn delivery_counts(
    conn: &impl Conn,
    notice: Uuid,
) -> Result<HashMap<OutboxStatus, u64>, DbErr> {
    let rows: Vec<(OutboxStatus, i64)> = outbox_message::Entity::find()
        .select_only()
        .column(outbox_message::Column::Status)
        .column_as(Expr::col(outbox_message::Column::Id).count(), "n")
        .filter(
            outbox_message::Column::Id.in_subquery(
                users_of(
                    notice_recipient::Entity,
                    notice_recipient::Column::OutboxMessageId,
                )
                .and_where(notice_recipient::Column::NoticeId.eq(notice))
                .to_owned(),
            ),
        )
        .group_by(outbox_message::Column::Status)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(status, n)| (status, u64::try_from(n).unwrap_or(0)))
        .collect())
}

/// A page of a notice's recipients with their outbox messages, by account then person.
pub async fn recipients_page(
    conn: &impl Conn,
    notice: Uuid,
    offset: u64,
    limit: u64,
) -> Result<Vec<(notice_recipient::Model, Option<outbox_message::Model>)>, DbErr> {
    let recipients = notice_recipient::Entity::find()
        .filter(notice_recipient::Column::NoticeId.eq(notice))
        .order_by_asc(notice_recipient::Column::AccountId)
        .order_by_asc(notice_recipient::Column::UserId)
        .offset(offset)
        .limit(limit)
        .all(conn)
        .await?;
    let ids: Vec<Uuid> = recipients.iter().map(|r| r.outbox_message_id).collect();
    let mut messages: HashMap<Uuid, outbox_message::Model> = outbox_message::Entity::find()
        .filter(one_of(conn, outbox_message::Column::Id, ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    Ok(recipients
        .into_iter()
        .map(|r| {
            let message = messages.remove(&r.outbox_message_id);
            (r, message)
        })
        .collect())
}

/// The active accounts an integration notice concerns: those with a contact for it or a
/// connection to it.
pub async fn concerned_accounts(conn: &impl Conn, key: &str) -> Result<Vec<AccountId>, DbErr> {
    let mut accounts: Vec<AccountId> = integration_contact::Entity::find()
        .select_only()
        .column(integration_contact::Column::AccountId)
        .filter(integration_contact::Column::IntegrationKey.eq(key))
        .filter(integration_contact::Column::AccountId.in_subquery(active_accounts()))
        .distinct()
        .into_tuple()
        .all(conn)
        .await?;
    let connected: Vec<AccountId> = connection::Entity::find()
        .select_only()
        .column(connection::Column::AccountId)
        .filter(connection::Column::IntegrationKey.eq(key))
        .filter(connection::Column::Status.ne(ConnectionStatus::NotConnected))
        .filter(connection::Column::AccountId.in_subquery(active_accounts()))
        .into_tuple()
        .all(conn)
        .await?;
    accounts.extend(connected);
    accounts.sort();
    accounts.dedup();
    Ok(accounts)
}

pub async fn insert_notice_accounts(
    conn: &impl Conn,
    notice: Uuid,
    accounts: &[AccountId],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    for chunk in accounts.chunks(500) {
        notice_account::Entity::insert_many(chunk.iter().map(|account| {
            notice_account::ActiveModel {
                account_id: Set(*account),
                notice_id: Set(notice),
                created_at: Set(now),
            }
        }))
        .exec_without_returning(conn)
        .await?;
    }
    Ok(())
}

/// The notices that concern an account, newest first, each with whether `user` dismissed it.
pub async fn for_account(
    conn: &impl Conn,
    account: AccountId,
    user: UserId,
) -> Result<Vec<(notice::Model, bool)>, DbErr> {
    let notices = notice::Entity::find()
        .filter(
            notice::Column::Id.in_subquery(
                users_of(notice_account::Entity, notice_account::Column::NoticeId)
                    .and_where(notice_account::Column::AccountId.eq(account))
                    .to_owned(),
            ),
        )
        .order_by_desc(notice::Column::CreatedAt)
        .order_by_desc(notice::Column::Id)
        .all(conn)
        .await?;
    let dismissed: Vec<Uuid> = notice_dismissal::Entity::find()
        .select_only()
        .column(notice_dismissal::Column::NoticeId)
        .filter(notice_dismissal::Column::AccountId.eq(account))
        .filter(notice_dismissal::Column::UserId.eq(user))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(notices
        .into_iter()
        .map(|n| {
            let seen = dismissed.contains(&n.id);
            (n, seen)
        })
        .collect())
}

/// Whether a notice concerns the account.
pub async fn concerns(conn: &impl Conn, account: AccountId, notice: Uuid) -> Result<bool, DbErr> {
    Ok(notice_account::Entity::find()
        .filter(notice_account::Column::AccountId.eq(account))
        .filter(notice_account::Column::NoticeId.eq(notice))
        .count(conn)
        .await?
        > 0)
}

/// Records that `user` dismissed a notice; dismissing twice is harmless.
pub async fn dismiss(
    conn: &impl Conn,
    account: AccountId,
    user: UserId,
    notice: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    notice_dismissal::Entity::insert(notice_dismissal::ActiveModel {
        user_id: Set(user),
        notice_id: Set(notice),
        account_id: Set(account),
        dismissed_at: Set(now),
    })
    .on_conflict_do_nothing_on([
        notice_dismissal::Column::UserId,
        notice_dismissal::Column::NoticeId,
    ])
    .exec_without_returning(conn)
    .await?;
    Ok(())
}
