use async_graphql::{Context, ID, Json, Object};
use chrono::{DateTime, Utc};

use super::enums::ActorKind;
use crate::domain::permission::{Area, Level};
use crate::graphql::context::caller;
use crate::graphql::errors::guarded;
use crate::graphql::relay::encode_id;
use crate::store::entities::audit_event;

pub const AUDIT_EVENT: &str = "AuditEvent";

/// Who did what to which record, when.
pub struct AuditEvent(pub audit_event::Model);

/// Who did what to which record, when. Every change a mutation makes writes one; reading them
/// needs AUDIT_LOG READ.
#[Object]
impl AuditEvent {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        encode_id(AUDIT_EVENT, &self.0.id.to_string())
    }
    /// What happened, e.g. `user.created`.
    async fn action(&self) -> &str {
        &self.0.action
    }
    /// What kind of actor performed the action.
    async fn actor_kind(&self) -> ActorKind {
        self.0.actor_kind.into()
    }
    /// The actor's id (a user id for users, the name for operators).
    async fn actor_id(&self) -> Option<&str> {
        self.0.actor_id.as_deref()
    }
    /// The actor's username or name at the time.
    async fn actor_label(&self) -> Option<&str> {
        self.0.actor_label.as_deref()
    }
    /// The kind of record acted on, e.g. `User`.
    async fn target_type(&self) -> &str {
        &self.0.target_type
    }
    /// The raw id of the record acted on (not a global id); absent when there is none.
    async fn target_id(&self) -> Option<&str> {
        self.0.target_id.as_deref()
    }
    /// What changed (no personal data).
    async fn details(&self) -> Json<serde_json::Value> {
        Json(self.0.details.clone())
    }
    /// Personal data of the event (emails, phones). Needs USER_PII READ.
    async fn personal_details(&self, ctx: &Context<'_>) -> Option<Json<serde_json::Value>> {
        let check = caller(ctx).and_then(|c| c.require(Area::UserPii, Level::Read));
        guarded(ctx, check, || self.0.pii_details.clone().map(Json))
    }
    /// When it happened.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
