//! Connection requests as the account's users see them. The invitee's address and who connected
//! are personal data (USER_PII READ); the link itself is never readable.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use super::enums::{ConnectionRequestItemStatus, ConnectionRequestStatus};
use super::integration::Integration;
use super::user::User;
use crate::domain::connection_request::RESENDS_PER_DAY;
use crate::domain::permission::{Area, Level};
use crate::graphql::context::{caller, loaders, services};
use crate::graphql::errors::{deny_field, guarded};
use crate::graphql::relay::encode_id;
use crate::store::entities::{connection_request, connection_request_item};

pub const CONNECTION_REQUEST: &str = "ConnectionRequest";

/// A request that someone else connect integrations of the account.
pub struct ConnectionRequest(pub connection_request::Model);

/// One integration of a connection request.
pub struct ConnectionRequestIntegration(connection_request_item::Model);

/// A request that someone else — by email, or anyone holding a shareable link — connect
/// integrations of the account, with no access to anything else.
#[Object]
impl ConnectionRequest {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        encode_id(CONNECTION_REQUEST, &self.0.id.to_string())
    }
    /// Where the request stands.
    async fn status(&self) -> ConnectionRequestStatus {
        self.0.status.into()
    }
    /// The integrations asked for, each with its own status, in the order given.
    async fn integrations(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<ConnectionRequestIntegration>> {
        let items = loaders(ctx)?
            .items_of_request()
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(items
            .into_iter()
            .map(ConnectionRequestIntegration)
            .collect())
    }
    /// Whom the invitation was emailed to; null for a shareable link. Needs USER_PII READ.
    async fn invitee_email(&self, ctx: &Context<'_>) -> Option<String> {
        let check = caller(ctx).and_then(|c| c.require(Area::UserPii, Level::Read));
        guarded(ctx, check, || self.0.invitee_email.clone())
    }
    /// True for a link the requester shares themselves (no invitee email): whoever holds it
    /// may connect, and the email they give is unverified.
    async fn shareable(&self) -> bool {
        self.0.invitee_email.is_none()
    }
    /// The requester's message to the invitee.
    async fn message(&self) -> Option<&str> {
        self.0.message.as_deref()
    }
    /// Whether integrations already connected may be connected again through the request.
    async fn reconnect(&self) -> bool {
        self.0.reconnect
    }
    /// The user who asked. Needs USERS READ.
    async fn requester(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        if let Err(error) = caller(ctx).and_then(|c| c.require(Area::Users, Level::Read)) {
            deny_field(ctx, error);
            return Ok(None);
        }
        Ok(loaders(ctx)?
            .users()
            .load_one(self.0.requester_id)
            .await?
            .map(User))
    }
    /// When the current link stops working.
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    /// When the invitee first acted on the link (a form sent or a session opened; merely
    /// loading the page records nothing, since mail scanners load links).
    async fn opened_at(&self) -> Option<DateTime<Utc>> {
        self.0.opened_at
    }
    /// When the last integration was connected.
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
    /// When it was revoked or expired.
    async fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.0.ended_at
    }
    /// How many more times the link can be resent in the current day-long window.
    async fn resends_left(&self, ctx: &Context<'_>) -> i32 {
        let now = services(ctx).clock.now();
        let open = self
            .0
            .resend_window_start
            .is_some_and(|start| start + chrono::Duration::days(1) > now);
        if open {
            (RESENDS_PER_DAY - self.0.resends_in_window).max(0)
        } else {
            RESENDS_PER_DAY
        }
    }
    /// When the request was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// One integration of a connection request, with its own status.
#[Object]
impl ConnectionRequestIntegration {
    /// The catalog entry, with the account's connection to it.
    async fn integration(&self, ctx: &Context<'_>) -> async_graphql::Result<Integration> {
        Ok(Integration {
            entry: services(ctx).integration(&self.0.integration_key)?,
            connection: None,
        })
    }
    /// Whether it was connected through the request.
    async fn status(&self) -> ConnectionRequestItemStatus {
        self.0.status.into()
    }
    /// When it was connected through the request.
    async fn connected_at(&self) -> Option<DateTime<Utc>> {
        self.0.connected_at
    }
    /// Who connected it, as entered (for a shareable link an unverified email). Needs
    /// USER_PII READ.
    async fn connected_by(&self, ctx: &Context<'_>) -> Option<String> {
        let check = caller(ctx).and_then(|c| c.require(Area::UserPii, Level::Read));
        guarded(ctx, check, || self.0.connected_by.clone())
    }
}
