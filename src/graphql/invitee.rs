//! The invitee schema, served on `/connect/graphql` for custom frontends of invite links. It knows
//! nothing of account data: `openInvitation` exchanges a link's token for a short session, and
//! with that session the invitee reads the invitation (who asks, the message, the integrations
//! and their settings schemas) and connects those integrations — nothing else. Account tokens are
//! refused here, and invitee sessions everywhere else.

use async_graphql::{Context, EmptySubscription, InputObject, Json, Object, Schema, SimpleObject};
use chrono::{DateTime, Duration, Utc};

use super::types::enums::{ConnectionRequestItemStatus, IntegrationCategory};
use super::types::integration::SettingField;
use super::types::payload::{UserError, outcome};
use super::{SchemaSettings, Schemas};
use crate::auth::tokens::{MintRequest, TokenKind, Tokens};
use crate::domain::catalog;
use crate::domain::connection_request::ItemStatus;
use crate::domain::permission::ScopeSet;
use crate::error::AppError;
use crate::service::Services;
use crate::service::connection_requests::{Invitation as InvitationRecord, InvitationView};

pub type InviteeSchemas = Schemas<InviteeQuery, InviteeMutation, EmptySubscription>;

/// The longest an invitee session lasts (never beyond its link's expiry).
pub const SESSION_MINUTES: i64 = 30;

/// Per-request data: the invitation of the caller's session, when they sent one.
pub struct InviteeSession(pub Option<InvitationRecord>);

fn services<'a>(ctx: &Context<'a>) -> &'a Services {
    ctx.data_unchecked::<Services>()
}

fn session<'a>(ctx: &Context<'a>) -> Result<&'a InvitationRecord, AppError> {
    ctx.data_opt::<InviteeSession>()
        .and_then(|session| session.0.as_ref())
        .ok_or(AppError::Unauthenticated(
            "an invitee session is required: call `openInvitation` with the link's token",
        ))
}

/// An integration to connect, with the fields to fill in.
#[derive(SimpleObject)]
pub struct InvitationIntegration {
    /// The catalog key, e.g. `intercom`; `connectIntegration` takes it.
    key: String,
    /// The product's name.
    name: String,
    /// The catalog category.
    category: IntegrationCategory,
    /// What the integration does.
    description: String,
    /// The fields to fill in. Secret fields are write-only.
    settings_schema: Vec<SettingField>,
    /// Whether it was connected through this invitation.
    status: ConnectionRequestItemStatus,
}

impl InvitationIntegration {
    fn new(entry: &catalog::Integration, status: ItemStatus) -> Self {
        Self {
            key: entry.key.clone(),
            name: entry.name.clone(),
            category: entry.category.into(),
            description: entry.description.clone(),
            settings_schema: entry.settings.iter().map(SettingField::from).collect(),
            status: status.into(),
        }
    }
}

/// What the invitee is asked to do, and by whom.
pub struct Invitation(InvitationView);

/// An invitation to connect integrations.
#[Object]
impl Invitation {
    /// The name of the person who asks.
    async fn requester(&self) -> &str {
        &self.0.requester_name
    }
    /// The name of the company the integrations are connected for.
    async fn account(&self) -> &str {
        &self.0.account_name
    }
    /// The requester's message.
    async fn message(&self) -> Option<&str> {
        self.0.message.as_deref()
    }
    /// The integrations to connect.
    async fn integrations(&self) -> Vec<InvitationIntegration> {
        self.0
            .integrations
            .iter()
            .map(|(entry, status)| InvitationIntegration::new(entry, *status))
            .collect()
    }
    /// True for a shareable link: `connectIntegration` then needs your email.
    async fn email_required(&self) -> bool {
        self.0.invitee_email.is_none()
    }
    /// When the link stops working.
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
}

#[derive(Default)]
pub struct InviteeQuery;

#[Object]
impl InviteeQuery {
    /// The invitation of the session.
    async fn invitation(&self, ctx: &Context<'_>) -> async_graphql::Result<Invitation> {
        let view = services(ctx).invitation_view(session(ctx)?).await?;
        Ok(Invitation(view))
    }
}

/// A session for an invitation.
#[derive(SimpleObject)]
pub struct OpenInvitationPayload {
    /// Send it as `Authorization: Bearer <sessionToken>` to this endpoint (and only here).
    pub session_token: String,
    /// When the session ends (at most 30 minutes, never after the link's expiry): open the
    /// invitation again for a new one.
    pub session_expires_at: DateTime<Utc>,
    /// The invitation.
    pub invitation: Invitation,
}

/// The settings of one integration of the invitation.
#[derive(InputObject)]
pub struct ConnectInvitationIntegrationInput {
    /// Echoed by the payload.
    pub client_mutation_id: Option<String>,
    /// The catalog key of an integration of the invitation.
    pub integration_key: String,
    /// Setting values by key (see `settingsSchema`).
    pub settings: Json<serde_json::Map<String, serde_json::Value>>,
    /// Your email address: required for a shareable link (`emailRequired`), where it is
    /// recorded as entered and marked unverified; ignored for an emailed invitation.
    pub email: Option<String>,
}

/// The outcome of connecting.
#[derive(SimpleObject)]
pub struct ConnectInvitationIntegrationPayload {
    /// Echo of the input's `clientMutationId`.
    pub client_mutation_id: Option<String>,
    /// The integration, now connected; absent when `userErrors` is not empty.
    pub integration: Option<InvitationIntegration>,
    /// True when this was the last one: the invitation is complete and its link stops working.
    pub invitation_completed: bool,
    /// Why the input was rejected (settings, email, or the provider's check); empty on success.
    pub user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct InviteeMutation;

#[Object]
impl InviteeMutation {
    /// Exchanges an invite link's token (the last part of the link) for a session. An unknown
    /// token answers INVALID_LINK; a real link that no longer works LINK_EXPIRED, LINK_REVOKED,
    /// LINK_COMPLETED or LINK_REPLACED.
    async fn open_invitation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The token of the invite link.")] token: String,
    ) -> async_graphql::Result<OpenInvitationPayload> {
        let services = services(ctx);
        let invitation = services.open_invitation(&token).await?;
        let now = services.clock.now();
        let ends = (now + Duration::minutes(SESSION_MINUTES)).min(invitation.request.expires_at);
        let session_token = ctx
            .data_unchecked::<std::sync::Arc<Tokens>>()
            .mint(
                &MintRequest {
                    kind: TokenKind::Invitee,
                    subject: invitation.link_id().to_string(),
                    account_id: Some(invitation.account_id()),
                    scopes: ScopeSet::unrestricted(),
                    ttl: ends - now,
                },
                now,
            )
            .map_err(|error| AppError::Internal(format!("minting an invitee session: {error}")))?;
        let view = services.invitation_view(&invitation).await?;
        Ok(OpenInvitationPayload {
            session_token,
            session_expires_at: ends,
            invitation: Invitation(view),
        })
    }

    /// Connects one integration of the invitation with its settings, checked against its
    /// schema (and by the provider, where it offers a check). Secrets are encrypted at rest and
    /// never shown again.
    async fn connect_integration(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The integration and its settings.")]
        input: ConnectInvitationIntegrationInput,
    ) -> async_graphql::Result<ConnectInvitationIntegrationPayload> {
        let result = services(ctx)
            .connect_as_invitee(
                session(ctx)?,
                &input.integration_key,
                &input.settings.0,
                input.email.as_deref(),
            )
            .await;
        let (connected, user_errors) = outcome(result)?;
        Ok(ConnectInvitationIntegrationPayload {
            client_mutation_id: input.client_mutation_id,
            invitation_completed: connected.as_ref().is_some_and(|c| c.completed),
            integration: connected
                .map(|c| InvitationIntegration::new(&c.integration, ItemStatus::Connected)),
            user_errors,
        })
    }
}

/// Builds the invitee schema, with the main schema's limits and error codes.
pub fn build_schema(
    services: Option<Services>,
    tokens: Option<std::sync::Arc<Tokens>>,
    settings: &SchemaSettings,
) -> InviteeSchemas {
    Schemas::build(|instrumented| {
        let mut builder = super::configure(
            Schema::build(InviteeQuery, InviteeMutation, EmptySubscription),
            services.clone(),
            settings,
            instrumented,
        );
        if let Some(tokens) = &tokens {
            builder = builder.data(tokens.clone());
        }
        builder.finish()
    })
}

/// The invitee schema's SDL, as `schema.invitee.graphql` holds it.
pub fn sdl() -> String {
    build_schema(None, None, &SchemaSettings::default())
        .fast
        .sdl()
}
