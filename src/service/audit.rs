//! Every mutation writes an audit event in its own transaction. Personal data goes in `pii`, which
//! is shown only to callers who may read USER_PII.

use serde_json::Value;

use super::Services;
use crate::auth::principal::AccountUser;
use crate::domain::ids::AccountId;
use crate::domain::permission::{Area, Level};
use crate::error::AppResult;
use crate::store::audit::{AuditFilter, NewEvent};
use crate::store::entities::audit_event::{self, ActorKind};
use crate::store::{self, Conn};

/// Who did it.
#[derive(Clone, Debug)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: Option<String>,
    pub label: Option<String>,
}

impl Actor {
    pub fn user(user: &AccountUser) -> Self {
        Self {
            kind: ActorKind::User,
            id: Some(user.user_id.to_string()),
            label: Some(user.username.clone()),
        }
    }

    pub fn system(label: &str) -> Self {
        Self {
            kind: ActorKind::System,
            id: None,
            label: Some(label.to_owned()),
        }
    }
}

/// What happened to which record.
pub struct Event {
    pub action: &'static str,
    pub target_type: &'static str,
    pub target_id: Option<String>,
    pub details: Value,
    pub pii: Option<Value>,
}

impl Services {
    pub async fn record(
        &self,
        conn: &impl Conn,
        account: Option<AccountId>,
        actor: &Actor,
        event: Event,
    ) -> AppResult<()> {
        self.record_all(conn, account, actor, vec![event]).await
    }

    /// Records several events by one actor at once, in the caller's transaction.
    pub async fn record_all(
        &self,
        conn: &impl Conn,
        account: Option<AccountId>,
        actor: &Actor,
        events: Vec<Event>,
    ) -> AppResult<()> {
        let at = self.clock.now();
        let events = events
            .into_iter()
            .map(|event| NewEvent {
                account_id: account,
                actor_kind: actor.kind,
                actor_id: actor.id.clone(),
                actor_label: actor.label.clone(),
                action: event.action,
                target_type: event.target_type,
                target_id: event.target_id,
                details: event.details,
                pii_details: event.pii,
                at,
            })
            .collect();
        store::audit::insert_many(conn, events).await?;
        Ok(())
    }

    /// A page of the account's audit log, newest first.
    pub async fn audit_log(
        &self,
        caller: &AccountUser,
        filter: &AuditFilter,
        offset: u64,
        limit: u64,
    ) -> AppResult<Vec<audit_event::Model>> {
        caller.require(Area::AuditLog, Level::Read)?;
        Ok(store::audit::page(&self.db, caller.account_id, filter, offset, limit).await?)
    }

    pub async fn audit_log_count(
        &self,
        caller: &AccountUser,
        filter: &AuditFilter,
    ) -> AppResult<u64> {
        caller.require(Area::AuditLog, Level::Read)?;
        Ok(store::audit::count(&self.db, caller.account_id, filter).await?)
    }

    pub async fn audit_event(
        &self,
        caller: &AccountUser,
        id: crate::domain::ids::AuditEventId,
    ) -> AppResult<audit_event::Model> {
        caller.require(Area::AuditLog, Level::Read)?;
        store::audit::find(&self.db, caller.account_id, id)
            .await?
            .ok_or(crate::error::AppError::NotFound)
    }
}
