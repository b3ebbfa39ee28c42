use sea_orm::entity::prelude::*;

use crate::domain::connection_request::RequestStatus;
use crate::domain::ids::{AccountId, ConnectionRequestId, UserId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "connection_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: ConnectionRequestId,
    pub account_id: AccountId,
    pub requester_id: UserId,
    /// Whom the invitation was emailed to; `None` for a shareable link.
    pub invitee_email: Option<String>,
    pub message: Option<String>,
    pub status: RequestStatus,
    /// Connected integrations may be connected again through this request.
    pub reconnect: bool,
    /// How long each link of the request lives (a resend starts a new one).
    pub lifetime_seconds: i64,
    /// When the current link stops working.
    pub expires_at: DateTimeUtc,
    /// The first explicit POST with a link (never a GET: mail scanners open links).
    pub opened_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    /// When it was revoked or expired.
    pub ended_at: Option<DateTimeUtc>,
    /// Resends are limited per day: the start of the current day-long window and its count.
    pub resend_window_start: Option<DateTimeUtc>,
    pub resends_in_window: i32,
    /// When a link holder last asked the requester for a new link (rate limit).
    pub new_link_asked_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
