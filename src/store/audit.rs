//! The audit log.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select, Set,
};

use super::Conn;
use super::entities::audit_event::{self, ActorKind};
use crate::domain::ids::{AccountId, AuditEventId};

/// One event to record.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub account_id: Option<AccountId>,
    pub actor_kind: ActorKind,
    pub actor_id: Option<String>,
    pub actor_label: Option<String>,
    pub action: &'static str,
    pub target_type: &'static str,
    pub target_id: Option<String>,
    pub details: serde_json::Value,
    pub pii_details: Option<serde_json::Value>,
    pub at: DateTime<Utc>,
}

/// Several events in multi-row inserts (a bulk job's chunk records one per user).
pub async fn insert_many(conn: &impl Conn, events: Vec<NewEvent>) -> Result<(), DbErr> {
    let models: Vec<_> = events
        .into_iter()
        .map(|event| audit_event::ActiveModel {
            id: Set(AuditEventId::new()),
            account_id: Set(event.account_id),
            actor_kind: Set(event.actor_kind),
            actor_id: Set(event.actor_id),
            actor_label: Set(event.actor_label),
            action: Set(event.action.to_owned()),
            target_type: Set(event.target_type.to_owned()),
            target_id: Set(event.target_id),
            details: Set(event.details),
            pii_details: Set(event.pii_details),
            created_at: Set(event.at),
        })
        .collect();
    super::insert_batched(conn, &models).await
}

#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub actions: Vec<String>,
    pub actor_id: Option<String>,
    pub target_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
}

fn filtered(account: AccountId, filter: &AuditFilter) -> Select<audit_event::Entity> {
    let mut condition = Condition::all().add(audit_event::Column::AccountId.eq(account));
    if !filter.actions.is_empty() {
        condition = condition.add(audit_event::Column::Action.is_in(filter.actions.clone()));
    }
    if let Some(actor) = &filter.actor_id {
        condition = condition.add(audit_event::Column::ActorId.eq(actor.clone()));
    }
    if let Some(target) = &filter.target_id {
        condition = condition.add(audit_event::Column::TargetId.eq(target.clone()));
    }
    if let Some(since) = filter.since {
        condition = condition.add(audit_event::Column::CreatedAt.gte(since));
    }
    audit_event::Entity::find().filter(condition)
}

/// Newest first.
pub async fn page(
    conn: &impl Conn,
    account: AccountId,
    filter: &AuditFilter,
    offset: u64,
    limit: u64,
) -> Result<Vec<audit_event::Model>, DbErr> {
    filtered(account, filter)
        .order_by_desc(audit_event::Column::CreatedAt)
        .order_by_desc(audit_event::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(conn)
        .await
}

pub async fn count(
    conn: &impl Conn,
    account: AccountId,
    filter: &AuditFilter,
) -> Result<u64, DbErr> {
    filtered(account, filter).count(conn).await
}

pub async fn find(
    conn: &impl Conn,
    account: AccountId,
    id: AuditEventId,
) -> Result<Option<audit_event::Model>, DbErr> {
    audit_event::Entity::find_by_id(id)
        .filter(audit_event::Column::AccountId.eq(account))
        .one(conn)
        .await
}
