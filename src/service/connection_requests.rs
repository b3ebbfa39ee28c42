//! Connection requests: a user asks someone else — by email, or by a link they share — to connect
//! integrations of the account, without giving them an account or any other access.
//!
//! Permissions: CONNECTION_REQUESTS READ lists the account's requests; FULL creates, resends and
//! revokes them. Creating needs no INTEGRATIONS level at all: asking someone else is exactly
//! what a user who may not (or cannot) connect an integration does.
//!
//! The link's token is shown once, in the creation's (or a resend's) answer and in the
//! invitation email, whose body is stored encrypted; the database keeps only its keyed hash.
//! Resolving a token is read-only (mail scanners open links); "opened" is recorded at the
//! first explicit POST. The invitee connects through the same two steps as a user with
//! INTEGRATIONS FULL (`check_connection`, then `connect_in`).

use chrono::{DateTime, Duration, Utc};
use sea_orm::DatabaseTransaction;
use serde_json::{Map, Value, json};
use std::sync::Arc;

use super::audit::{Actor, Event};
use super::connections::Connector;
use super::notices::person_name;
use super::{Rejections, Services};
use crate::auth::principal::AccountUser;
use crate::domain::catalog::Integration;
use crate::domain::connection_request::{
    self as rules, ItemStatus, LinkState, RequestStatus, looks_like_token, new_token,
};
use crate::domain::ids::{AccountId, ConnectionRequestId, InviteLinkId};
use crate::domain::permission::{Area, Level};
use crate::domain::user::UserStatus;
use crate::domain::values::Email;
use crate::error::{AppError, AppResult, UserError};
use crate::mail::outbox::Email as OutgoingEmail;
use crate::store::entities::audit_event::ActorKind;
use crate::store::entities::connection::ConnectionStatus;
use crate::store::entities::{
    connection_request, connection_request_item, connection_request_link,
};
use crate::store::{self, Conn, begin_write};

/// The product's name in emails.
const PRODUCT: &str = "Liaison";
/// The longest message a requester may add.
const MAX_MESSAGE: usize = 2000;
/// Requests the expiry sweep ends per step.
const EXPIRY_BATCH: u64 = 100;

/// What a user asks for.
#[derive(Clone, Debug, Default)]
pub struct NewConnectionRequest {
    pub integration_keys: Vec<String>,
    pub invitee_email: Option<String>,
    pub message: Option<String>,
    /// The link's lifetime in hours; the default for an emailed or a shareable link when absent.
    pub expires_in_hours: Option<i32>,
    /// Integrations already connected may be asked for again.
    pub reconnect: bool,
}

/// A request with its raw link: the only value that ever holds it.
pub struct IssuedRequest {
    pub request: connection_request::Model,
    pub invite_url: String,
}

/// A link that works, with its request: what an invitee acts through.
#[derive(Clone, Debug)]
pub struct Invitation {
    pub link: connection_request_link::Model,
    pub request: connection_request::Model,
}

impl Invitation {
    pub fn account_id(&self) -> AccountId {
        self.request.account_id
    }

    pub fn link_id(&self) -> InviteLinkId {
        self.link.id
    }

    /// A shareable link (no invitee email): the connector's email is asked for and unverified.
    pub fn is_shareable(&self) -> bool {
        self.request.invitee_email.is_none()
    }
}

/// What the invitee sees: who asks, their message, and what to connect.
pub struct InvitationView {
    pub requester_name: String,
    pub account_name: String,
    pub message: Option<String>,
    pub invitee_email: Option<String>,
    pub integrations: Vec<(Arc<Integration>, ItemStatus)>,
    pub expires_at: DateTime<Utc>,
}

/// How an invitee's connect ended.
pub struct InviteeConnected {
    pub integration: Arc<Integration>,
    /// Every integration of the request is now connected: the link stops working.
    pub completed: bool,
}

fn at(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn invitee_actor(invitation: &Invitation, label: Option<&str>) -> Actor {
    Actor {
        kind: ActorKind::Invitee,
        id: Some(invitation.request.id.to_string()),
        label: label
            .map(str::to_owned)
            .or_else(|| invitation.request.invitee_email.clone())
            .or_else(|| Some("shareable link".into())),
    }
}

fn request_event(
    action: &'static str,
    request: &connection_request::Model,
    details: Value,
) -> Event {
    Event {
        action,
        target_type: "ConnectionRequest",
        target_id: Some(request.id.to_string()),
        details,
        pii: None,
    }
}

impl Services {
    fn invite_url(&self, token: &str) -> String {
        format!("{}/connect/{token}", self.settings.public_url)
    }

    fn integration_names(&self, keys: impl IntoIterator<Item = String>) -> Vec<String> {
        keys.into_iter()
            .map(|key| {
                self.catalog
                    .get(&key)
                    .map_or(key.clone(), |i| i.name.clone())
            })
            .collect()
    }

    /// Creates a request and its first link; emails the invitation when an invitee is named.
    pub async fn create_connection_request(
        &self,
        caller: &AccountUser,
        input: NewConnectionRequest,
    ) -> AppResult<IssuedRequest> {
        caller.require(Area::ConnectionRequests, Level::Full)?;
        let account = caller.account_id;
        let connections = store::connections::by_integration(&self.db, account).await?;
        let mut rejections = Rejections::default();
        let keys_field = ["input", "integrationKeys"];
        if input.integration_keys.is_empty()
            || input.integration_keys.len() > rules::MAX_INTEGRATIONS
        {
            rejections.push(UserError::new(
                &keys_field,
                "INVALID_COUNT",
                format!("name 1 to {} integrations", rules::MAX_INTEGRATIONS),
            ));
        }
        for (index, key) in input.integration_keys.iter().enumerate() {
            let position = index.to_string();
            let field = ["input", "integrationKeys", position.as_str()];
            if input.integration_keys[..index].contains(key) {
                rejections.push(UserError::new(
                    &field,
                    "DUPLICATE",
                    format!("`{key}` is named twice"),
                ));
            } else if self.catalog.get(key).is_none() {
                rejections.push(UserError::new(
                    &field,
                    "UNKNOWN_INTEGRATION",
                    format!("no integration `{key}` in the catalog"),
                ));
            } else if !input.reconnect
                && connections
                    .get(key)
                    .is_some_and(|c| c.status == ConnectionStatus::Connected)
            {
                rejections.push(UserError::new(
                    &field,
                    "ALREADY_CONNECTED",
                    format!("`{key}` is already connected; set `reconnect` to ask for it again"),
                ));
            }
        }
        let invitee = input
            .invitee_email
            .as_deref()
            .filter(|raw| !raw.trim().is_empty())
            .and_then(|raw| rejections.check(&["input", "inviteeEmail"], Email::parse(raw)));
        let message = input
            .message
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_owned);
        if message
            .as_ref()
            .is_some_and(|m| m.chars().count() > MAX_MESSAGE)
        {
            rejections.push(UserError::new(
                &["input", "message"],
                "TOO_LONG",
                format!("a message has at most {MAX_MESSAGE} characters"),
            ));
        }
        let has_invitee = input
            .invitee_email
            .as_deref()
            .is_some_and(|e| !e.trim().is_empty());
        let lifetime = match rules::lifetime(has_invitee, input.expires_in_hours) {
            Ok(lifetime) => Some(lifetime),
            Err((min, max)) => {
                rejections.push(UserError::new(
                    &["input", "expiresIn"],
                    "OUT_OF_RANGE",
                    format!("a link lives {min} to {max} hours"),
                ));
                None
            }
        };
        rejections.finish()?;
        let lifetime = lifetime.unwrap_or_else(|| Duration::hours(rules::SHAREABLE_LIFETIME_HOURS));

        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        // Serialises creations of the account, so the hourly limits hold under concurrency.
        store::accounts::lock(&txn, account, now).await?;
        self.check_creation_limits(&txn, caller, now).await?;
        let id = ConnectionRequestId::new();
        let token = new_token();
        let request = store::connection_requests::insert(
            &txn,
            connection_request::Model {
                id,
                account_id: account,
                requester_id: caller.user_id,
                invitee_email: invitee.map(Email::into_inner),
                message,
                status: RequestStatus::Pending,
                reconnect: input.reconnect,
                lifetime_seconds: lifetime.num_seconds(),
                expires_at: now + lifetime,
                opened_at: None,
                completed_at: None,
                ended_at: None,
                resend_window_start: None,
                resends_in_window: 0,
                new_link_asked_at: None,
                created_at: now,
                updated_at: now,
            },
            input
                .integration_keys
                .iter()
                .enumerate()
                .map(|(position, key)| {
                    store::connection_requests::new_item(account, id, key, position as i32)
                })
                .collect(),
            store::connection_requests::new_link(account, id, self.keyring.keyed_hash(&token), now),
        )
        .await?;
        self.record(
            &txn,
            Some(account),
            &Actor::user(caller),
            request_event(
                "connection_request.created",
                &request,
                json!({
                    "integrationKeys": input.integration_keys,
                    "shareable": request.invitee_email.is_none(),
                    "expiresAt": request.expires_at,
                    "reconnect": request.reconnect,
                }),
            ),
        )
        .await?;
        self.issue(txn, caller, request, &input.integration_keys, &token)
            .await
    }

    /// Emails a new link to a named invitee, commits, and hands the link over (this once).
    async fn issue(
        &self,
        txn: DatabaseTransaction,
        caller: &AccountUser,
        request: connection_request::Model,
        keys: &[String],
        token: &str,
    ) -> AppResult<IssuedRequest> {
        let invite_url = self.invite_url(token);
        self.send_invitation(&txn, caller, &request, keys, &invite_url)
            .await?;
        txn.commit().await?;
        Ok(IssuedRequest {
            request,
            invite_url,
        })
    }

    /// The hourly creation limits of the caller and of the account (RATE_LIMITED, with when to
    /// retry). Counted in the database, so every replica sees the same numbers.
    async fn check_creation_limits(
        &self,
        txn: &impl Conn,
        caller: &AccountUser,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let since = now - Duration::hours(1);
        let limits = [
            (
                Some(caller.user_id),
                self.settings.connection_requests_per_user_per_hour,
            ),
            (None, self.settings.connection_requests_per_account_per_hour),
        ];
        for (requester, limit) in limits {
            let created =
                store::connection_requests::created_since(txn, caller.account_id, requester, since)
                    .await?;
            if created.len() as u64 >= u64::from(limit) {
                let oldest = created.first().copied().unwrap_or(now);
                let retry = (oldest + Duration::hours(1) - now).num_seconds().max(1);
                return Err(AppError::RateLimited {
                    retry_after_seconds: retry as u64,
                });
            }
        }
        Ok(())
    }

    /// Emails the invitation (body encrypted at rest: it holds the link), when there is an
    /// invitee.
    async fn send_invitation(
        &self,
        txn: &DatabaseTransaction,
        requester: &AccountUser,
        request: &connection_request::Model,
        keys: &[String],
        invite_url: &str,
    ) -> AppResult<()> {
        let Some(invitee) = &request.invitee_email else {
            return Ok(());
        };
        let account = store::accounts::find(txn, request.account_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let requester_name = store::users::find(txn, request.account_id, requester.user_id)
            .await?
            .map_or_else(|| requester.username.clone(), |user| person_name(&user));
        self.send_email_with_secret(
            txn,
            OutgoingEmail {
                account_id: Some(request.account_id),
                recipient_user_id: None,
                to_address: invitee,
                to_name: None,
                template: "connection-request-invitation",
                language: None,
                context: json!({
                    "requester_name": requester_name,
                    "account_name": account.name,
                    "integrations": self.integration_names(keys.iter().cloned()),
                    "message": request.message.clone().unwrap_or_default(),
                    "invite_url": invite_url,
                    "expires_at": at(request.expires_at),
                    "product": PRODUCT,
                }),
            },
        )
        .await?;
        self.record(
            txn,
            Some(request.account_id),
            &Actor::user(requester),
            Event {
                pii: Some(json!({ "inviteeEmail": invitee })),
                ..request_event("connection_request.sent", request, json!({}))
            },
        )
        .await
    }

    /// One request of the caller's account. Needs CONNECTION_REQUESTS READ.
    pub async fn connection_request(
        &self,
        caller: &AccountUser,
        id: ConnectionRequestId,
    ) -> AppResult<connection_request::Model> {
        caller.require(Area::ConnectionRequests, Level::Read)?;
        store::connection_requests::find(&self.db, caller.account_id, id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// A page of the account's requests, newest first. Needs CONNECTION_REQUESTS READ.
    pub async fn connection_requests(
        &self,
        caller: &AccountUser,
        status: Option<RequestStatus>,
        offset: u64,
        limit: u64,
    ) -> AppResult<Vec<connection_request::Model>> {
        caller.require(Area::ConnectionRequests, Level::Read)?;
        Ok(
            store::connection_requests::page(&self.db, caller.account_id, status, offset, limit)
                .await?,
        )
    }

    pub async fn connection_request_count(
        &self,
        caller: &AccountUser,
        status: Option<RequestStatus>,
    ) -> AppResult<u64> {
        caller.require(Area::ConnectionRequests, Level::Read)?;
        Ok(store::connection_requests::count(&self.db, caller.account_id, status).await?)
    }

    /// Locks a request of the caller's account for a change (NOT_FOUND when it is not theirs).
    async fn locked_request(
        &self,
        txn: &impl Conn,
        caller: &AccountUser,
        id: ConnectionRequestId,
    ) -> AppResult<connection_request::Model> {
        let now = self.clock.now();
        if !store::connection_requests::lock(txn, caller.account_id, id, now).await? {
            return Err(AppError::NotFound);
        }
        store::connection_requests::find(txn, caller.account_id, id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Withdraws a pending request: its link stops working at once.
    pub async fn revoke_connection_request(
        &self,
        caller: &AccountUser,
        id: ConnectionRequestId,
    ) -> AppResult<connection_request::Model> {
        caller.require(Area::ConnectionRequests, Level::Full)?;
        let txn = begin_write(&self.db).await?;
        let request = self.locked_request(&txn, caller, id).await?;
        let now = self.clock.now();
        if !store::connection_requests::end(
            &txn,
            caller.account_id,
            id,
            RequestStatus::Revoked,
            now,
        )
        .await?
        {
            return Err(ended(&request));
        }
        self.record(
            &txn,
            Some(caller.account_id),
            &Actor::user(caller),
            request_event("connection_request.revoked", &request, json!({})),
        )
        .await?;
        let revoked = store::connection_requests::find(&txn, caller.account_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        txn.commit().await?;
        Ok(revoked)
    }

    /// Issues a new link for a pending or expired request (the old link stops working at
    /// once), with a fresh lifetime, and emails it again to a named invitee. At most
    /// `RESENDS_PER_DAY` a day per request.
    pub async fn resend_connection_request(
        &self,
        caller: &AccountUser,
        id: ConnectionRequestId,
    ) -> AppResult<IssuedRequest> {
        caller.require(Area::ConnectionRequests, Level::Full)?;
        let txn = begin_write(&self.db).await?;
        let mut request = self.locked_request(&txn, caller, id).await?;
        if matches!(
            request.status,
            RequestStatus::Completed | RequestStatus::Revoked
        ) {
            return Err(ended(&request));
        }
        let now = self.clock.now();
        let day = Duration::days(1);
        let window_open = request
            .resend_window_start
            .is_some_and(|start| start + day > now);
        if window_open && request.resends_in_window >= rules::RESENDS_PER_DAY {
            let start = request.resend_window_start.unwrap_or(now);
            return Err(AppError::RateLimited {
                retry_after_seconds: (start + day - now).num_seconds().max(1) as u64,
            });
        }
        if window_open {
            request.resends_in_window += 1;
        } else {
            request.resend_window_start = Some(now);
            request.resends_in_window = 1;
        }
        request.status = RequestStatus::Pending;
        request.ended_at = None;
        request.expires_at = now + Duration::seconds(request.lifetime_seconds);
        request.updated_at = now;
        let request = store::connection_requests::update(&txn, request).await?;
        let token = new_token();
        store::connection_requests::replace_link(
            &txn,
            store::connection_requests::new_link(
                caller.account_id,
                id,
                self.keyring.keyed_hash(&token),
                now,
            ),
        )
        .await?;
        self.record(
            &txn,
            Some(caller.account_id),
            &Actor::user(caller),
            request_event(
                "connection_request.resent",
                &request,
                json!({ "expiresAt": request.expires_at }),
            ),
        )
        .await?;
        let keys: Vec<String> = self
            .request_items(&txn, &request)
            .await?
            .into_iter()
            .map(|item| item.integration_key)
            .collect();
        self.issue(txn, caller, request, &keys, &token).await
    }

    async fn request_items(
        &self,
        conn: &impl Conn,
        request: &connection_request::Model,
    ) -> AppResult<Vec<connection_request_item::Model>> {
        Ok(
            store::connection_requests::items(conn, request.account_id, &[request.id])
                .await?
                .remove(&request.id)
                .unwrap_or_default(),
        )
    }

    /// The link a token names, in whatever state: INVALID_LINK when it names none. Reads only.
    async fn link_of_token(&self, token: &str) -> AppResult<(Invitation, LinkState)> {
        if !looks_like_token(token) {
            return Err(AppError::InvalidLink);
        }
        let (link, request) = store::connection_requests::link_by_hashes(
            &self.db,
            self.keyring.keyed_hash_candidates(token),
        )
        .await?
        .ok_or(AppError::InvalidLink)?;
        Ok(self.with_state(link, request))
    }

    /// A link with its request, and what the link is worth now.
    fn with_state(
        &self,
        link: connection_request_link::Model,
        request: connection_request::Model,
    ) -> (Invitation, LinkState) {
        let state = LinkState::of(
            request.status,
            request.expires_at,
            link.replaced_at.is_some(),
            self.clock.now(),
        );
        (Invitation { link, request }, state)
    }

    /// The invitation of a token that works; INVALID_LINK, or the reason a real link no longer
    /// works. Reads only: opening a link changes nothing.
    pub async fn invitation_by_token(&self, token: &str) -> AppResult<Invitation> {
        usable(self.link_of_token(token).await?)
    }

    /// The invitation of an invitee session (its link), while the link works.
    pub async fn invitation_of_session(
        &self,
        account: AccountId,
        link: InviteLinkId,
    ) -> AppResult<Invitation> {
        self.usable_link(&self.db, account, link).await
    }

    async fn usable_link(
        &self,
        conn: &impl Conn,
        account: AccountId,
        link: InviteLinkId,
    ) -> AppResult<Invitation> {
        let (link, request) = store::connection_requests::link(conn, account, link)
            .await?
            .ok_or(AppError::InvalidLink)?;
        usable(self.with_state(link, request))
    }

    /// What the invitee sees of an invitation, and nothing else of the account.
    pub async fn invitation_view(&self, invitation: &Invitation) -> AppResult<InvitationView> {
        let request = &invitation.request;
        let account = store::accounts::find(&self.db, request.account_id)
            .await?
            .ok_or(AppError::InvalidLink)?;
        let requester = store::users::find(&self.db, request.account_id, request.requester_id)
            .await?
            .map(|user| person_name(&user))
            .unwrap_or_default();
        let items = self.request_items(&self.db, request).await?;
        Ok(InvitationView {
            requester_name: requester,
            account_name: account.name,
            message: request.message.clone(),
            invitee_email: request.invitee_email.clone(),
            integrations: items
                .into_iter()
                .filter_map(|item| {
                    self.catalog
                        .get(&item.integration_key)
                        .map(|entry| (entry.clone(), item.status))
                })
                .collect(),
            expires_at: request.expires_at,
        })
    }

    /// Records the first explicit POST with a link ("opened"), once, whether or not it succeeds.
    async fn record_opened(&self, txn: &impl Conn, invitation: &Invitation) -> AppResult<()> {
        if invitation.request.opened_at.is_some() {
            return Ok(());
        }
        let first = store::connection_requests::mark_opened(
            txn,
            invitation.account_id(),
            invitation.request.id,
            self.clock.now(),
        )
        .await?;
        if !first {
            return Ok(());
        }
        self.record(
            txn,
            Some(invitation.account_id()),
            &invitee_actor(invitation, None),
            request_event("connection_request.opened", &invitation.request, json!({})),
        )
        .await
    }

    /// Exchanges a working link for an invitee session (the caller mints the token): records
    /// "opened" the first time and "exchanged" every time.
    pub async fn open_invitation(&self, token: &str) -> AppResult<Invitation> {
        let invitation = self.invitation_by_token(token).await?;
        let txn = begin_write(&self.db).await?;
        self.record_opened(&txn, &invitation).await?;
        self.record(
            &txn,
            Some(invitation.account_id()),
            &invitee_actor(&invitation, None),
            request_event(
                "connection_request.exchanged",
                &invitation.request,
                json!({ "linkId": invitation.link.id.to_string() }),
            ),
        )
        .await?;
        txn.commit().await?;
        Ok(invitation)
    }

    /// Records an invitee's failed or refused attempt, in its own transaction.
    async fn record_invitee_failure(
        &self,
        invitation: &Invitation,
        action: &'static str,
        details: Value,
    ) -> AppResult<()> {
        let txn = begin_write(&self.db).await?;
        self.record_opened(&txn, invitation).await?;
        self.record(
            &txn,
            Some(invitation.account_id()),
            &invitee_actor(invitation, None),
            request_event(action, &invitation.request, details),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// An invitee connects one integration of the request. The settings are checked like any
    /// connection's; `email` is who connects, required for a shareable link (recorded as entered,
    /// unverified) and ignored for an emailed one (the invitee's address). When the last
    /// integration is connected, the request is COMPLETED and the requester is emailed.
    pub async fn connect_as_invitee(
        &self,
        invitation: &Invitation,
        key: &str,
        settings: &Map<String, Value>,
        email: Option<&str>,
    ) -> AppResult<InviteeConnected> {
        let items = self.request_items(&self.db, &invitation.request).await?;
        if !items.iter().any(|item| item.integration_key == key) {
            self.record_invitee_failure(
                invitation,
                "connection_request.scope_denied",
                json!({ "integrationKey": key }),
            )
            .await?;
            return Err(AppError::ForbiddenBecause(
                "this link does not cover that integration",
            ));
        }
        let attempt = async {
            let identity = match &invitation.request.invitee_email {
                Some(invitee) => (invitee.clone(), true),
                None => (invitee_label(email)?, false),
            };
            let checked = self
                .check_connection(invitation.account_id(), key, settings)
                .await?;
            Ok::<_, AppError>((checked, identity))
        };
        let (checked, (label, verified)) = match attempt.await {
            Ok(attempt) => attempt,
            Err(error) => {
                let codes: Vec<String> = match &error {
                    AppError::Rejected(errors) => errors.iter().map(|e| e.code.clone()).collect(),
                    other => vec![other.code().to_owned()],
                };
                self.record_invitee_failure(
                    invitation,
                    "connection_request.connect_failed",
                    json!({ "integrationKey": key, "codes": codes }),
                )
                .await?;
                return Err(error);
            }
        };
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        store::connection_requests::lock(&txn, invitation.account_id(), invitation.request.id, now)
            .await?;
        // Re-read under the lock: a revoke or a resend may have ended the link meanwhile.
        let current = self
            .usable_link(&txn, invitation.account_id(), invitation.link_id())
            .await?;
        let actor = invitee_actor(&current, Some(&label));
        self.record_opened(&txn, &current).await?;
        let connector = Connector {
            user_id: None,
            label: label.clone(),
            verified,
            request_id: Some(current.request.id),
            actor: actor.clone(),
        };
        self.connect_in(&txn, current.account_id(), &checked, &connector)
            .await?;
        store::connection_requests::mark_item_connected(
            &txn,
            current.account_id(),
            current.request.id,
            key,
            &label,
            now,
        )
        .await?;
        self.record(
            &txn,
            Some(current.account_id()),
            &actor,
            Event {
                pii: Some(json!({ "connectedBy": label, "verified": verified })),
                ..request_event(
                    "connection_request.connect_succeeded",
                    &current.request,
                    json!({ "integrationKey": key }),
                )
            },
        )
        .await?;
        let items = self.request_items(&txn, &current.request).await?;
        let completed = items
            .iter()
            .all(|item| item.status == ItemStatus::Connected);
        if completed {
            self.complete(&txn, &current.request, &items, verified, &actor)
                .await?;
        }
        txn.commit().await?;
        Ok(InviteeConnected {
            integration: checked.integration,
            completed,
        })
    }

    /// Marks a request COMPLETED and emails the requester what was connected, by whom, when.
    async fn complete(
        &self,
        txn: &DatabaseTransaction,
        request: &connection_request::Model,
        items: &[connection_request_item::Model],
        verified: bool,
        actor: &Actor,
    ) -> AppResult<()> {
        let now = self.clock.now();
        let request = store::connection_requests::update(
            txn,
            connection_request::Model {
                status: RequestStatus::Completed,
                completed_at: Some(now),
                updated_at: now,
                ..request.clone()
            },
        )
        .await?;
        self.record(
            txn,
            Some(request.account_id),
            actor,
            request_event("connection_request.completed", &request, json!({})),
        )
        .await?;
        let connected: Vec<Value> = items
            .iter()
            .map(|item| {
                json!({
                    "name": self.integration_names([item.integration_key.clone()]).pop(),
                    "by": item.connected_by.clone().unwrap_or_default(),
                    "verified": verified,
                    "at": item.connected_at.map(at).unwrap_or_default(),
                })
            })
            .collect();
        self.email_requester(
            txn,
            &request,
            "connection-request-completed",
            json!({
                "integrations": self.integration_names(items.iter().map(|i| i.integration_key.clone())),
                "connected": connected,
            }),
        )
        .await
    }

    /// Emails the requester, when they are still active and reachable.
    async fn email_requester(
        &self,
        txn: &DatabaseTransaction,
        request: &connection_request::Model,
        template: &str,
        mut context: Value,
    ) -> AppResult<()> {
        let Some(requester) =
            store::users::find(txn, request.account_id, request.requester_id).await?
        else {
            return Ok(());
        };
        let Some(address) = requester.email.as_deref() else {
            return Ok(());
        };
        if requester.status != UserStatus::Active || requester.email_invalid_at.is_some() {
            return Ok(());
        }
        let account = store::accounts::find(txn, request.account_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let name = person_name(&requester);
        context["name"] = json!(name);
        context["account_name"] = json!(account.name);
        context["product"] = json!(PRODUCT);
        self.send_email(
            txn,
            OutgoingEmail {
                account_id: Some(request.account_id),
                recipient_user_id: Some(requester.id),
                to_address: address,
                to_name: Some(&name),
                template,
                language: requester.preferred_language.as_deref(),
                context,
            },
        )
        .await?;
        Ok(())
    }

    /// The holder of a real link that no longer works asks the requester for a new one (one
    /// click; at most once an hour per request). INVALID_LINK for an unknown token.
    pub async fn ask_for_new_link(&self, token: &str) -> AppResult<()> {
        let (invitation, state) = self.link_of_token(token).await?;
        if state == LinkState::Usable {
            return Err(AppError::BadInput("this link still works".into()));
        }
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let request = &invitation.request;
        store::connection_requests::lock(&txn, request.account_id, request.id, now).await?;
        let request = store::connection_requests::find(&txn, request.account_id, request.id)
            .await?
            .ok_or(AppError::InvalidLink)?;
        let interval = Duration::minutes(rules::NEW_LINK_INTERVAL_MINUTES);
        if let Some(last) = request.new_link_asked_at
            && last + interval > now
        {
            return Err(AppError::RateLimited {
                retry_after_seconds: (last + interval - now).num_seconds().max(1) as u64,
            });
        }
        let request = store::connection_requests::update(
            &txn,
            connection_request::Model {
                new_link_asked_at: Some(now),
                ..request
            },
        )
        .await?;
        self.record(
            &txn,
            Some(request.account_id),
            &invitee_actor(&invitation, None),
            request_event(
                "connection_request.new_link_asked",
                &request,
                json!({ "linkState": state.as_str() }),
            ),
        )
        .await?;
        let keys = self.request_items(&txn, &request).await?;
        self.email_requester(
            &txn,
            &request,
            "connection-request-new-link",
            json!({
                "integrations": self.integration_names(keys.into_iter().map(|i| i.integration_key)),
                "holder": request.invitee_email.clone().unwrap_or_else(|| "Someone with the shareable link".into()),
                "state": state.as_str(),
            }),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Ends the pending requests whose link ran out and emails their requesters. Returns how
    /// many were ended; each in its own transaction, so a failure leaves the rest for the next
    /// run.
    pub async fn expire_connection_requests(&self) -> AppResult<usize> {
        let mut expired = 0;
        loop {
            let now = self.clock.now();
            let due =
                store::connection_requests::due_to_expire(&self.db, now, EXPIRY_BATCH).await?;
            let batch = due.len();
            for request in due {
                let txn = begin_write(&self.db).await?;
                if !store::connection_requests::end(
                    &txn,
                    request.account_id,
                    request.id,
                    RequestStatus::Expired,
                    now,
                )
                .await?
                {
                    continue;
                }
                self.record(
                    &txn,
                    Some(request.account_id),
                    &Actor::system("connection request expiry"),
                    request_event("connection_request.expired", &request, json!({})),
                )
                .await?;
                let items = self.request_items(&txn, &request).await?;
                let (connected, pending): (Vec<_>, Vec<_>) = items
                    .iter()
                    .partition(|item| item.status == ItemStatus::Connected);
                let names = |items: Vec<&connection_request_item::Model>| {
                    self.integration_names(items.into_iter().map(|i| i.integration_key.clone()))
                };
                self.email_requester(
                    &txn,
                    &request,
                    "connection-request-expired",
                    json!({
                        "integrations": self.integration_names(items.iter().map(|i| i.integration_key.clone())),
                        "connected": names(connected),
                        "pending": names(pending),
                        "expired_at": at(request.expires_at),
                    }),
                )
                .await?;
                txn.commit().await?;
                expired += 1;
            }
            if (batch as u64) < EXPIRY_BATCH {
                return Ok(expired);
            }
        }
    }
}

/// The invitation while its link works, else why it does not.
fn usable((invitation, state): (Invitation, LinkState)) -> AppResult<Invitation> {
    match state {
        LinkState::Usable => Ok(invitation),
        state => Err(AppError::LinkUnusable(state)),
    }
}

/// The answer to a change of a request that has ended.
fn ended(request: &connection_request::Model) -> AppError {
    let status = match request.status {
        RequestStatus::Completed => "completed",
        RequestStatus::Revoked => "revoked",
        RequestStatus::Expired => "expired",
        RequestStatus::Pending => "pending",
    };
    AppError::rejected(UserError::new(
        &["input", "id"],
        "REQUEST_ENDED",
        format!("this request is {status}"),
    ))
}

/// Who connects through a shareable link: the email address they give, as entered.
fn invitee_label(email: Option<&str>) -> AppResult<String> {
    let raw = email
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .ok_or_else(|| {
            AppError::rejected(UserError::new(
                &["input", "email"],
                "REQUIRED",
                "give your email address, so the requester knows who connected",
            ))
        })?;
    let email = Email::parse(raw)
        .map_err(|error| AppError::rejected(UserError::invalid(&["input", "email"], &error)))?;
    Ok(email.into_inner())
}
