use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::domain::ids::ConnectionRequestId;
use crate::error::AppError;
use crate::graphql::context::{caller, services};
use crate::graphql::relay::decode_typed;
use crate::graphql::types::connection_request::{CONNECTION_REQUEST, ConnectionRequest};
use crate::graphql::types::payload::{UserError, outcome, payload};
use crate::service::connection_requests::{IssuedRequest, NewConnectionRequest};

/// What to ask someone else to connect, and how to reach them.
#[derive(InputObject)]
pub struct CreateConnectionRequestInput {
    /// Echoed by the payload.
    pub client_mutation_id: Option<String>,
    /// The catalog keys of the integrations to connect: 1 to 5.
    #[graphql(validator(max_items = 5))]
    pub integration_keys: Vec<String>,
    /// Whom to email the invitation to. Without it the link is shareable: pass it on yourself;
    /// whoever holds it may connect, and gives an (unverified) email when they do.
    pub invitee_email: Option<String>,
    /// A message shown to the invitee, up to 2000 characters.
    pub message: Option<String>,
    /// How long the link works, in hours: 1 to 720 (30 days). Default: 168 (7 days) with an
    /// invitee email, 48 for a shareable link.
    pub expires_in: Option<i32>,
    /// Ask for integrations that are already connected too (to replace their settings).
    #[graphql(default)]
    pub reconnect: bool,
}

/// Names a connection request.
#[derive(InputObject)]
pub struct ConnectionRequestIdInput {
    /// Echoed by the payload.
    pub client_mutation_id: Option<String>,
    /// The request's global id.
    pub id: ID,
}

/// A connection request with its invite link. The link is in this answer only: it is stored
/// as a keyed hash and can never be read again (a resend issues a new one).
#[derive(SimpleObject)]
pub struct IssuedConnectionRequestPayload {
    /// Echo of the input's `clientMutationId`.
    pub client_mutation_id: Option<String>,
    /// The request; absent when `userErrors` is not empty.
    pub connection_request: Option<ConnectionRequest>,
    /// The invite link, shown this once.
    pub invite_url: Option<String>,
    /// Why the input was rejected; empty on success.
    pub user_errors: Vec<UserError>,
}

impl IssuedConnectionRequestPayload {
    fn from_result(
        client_mutation_id: Option<String>,
        result: Result<IssuedRequest, AppError>,
    ) -> async_graphql::Result<Self> {
        let (issued, user_errors) = outcome(result)?;
        let (connection_request, invite_url) = match issued {
            Some(issued) => (
                Some(ConnectionRequest(issued.request)),
                Some(issued.invite_url),
            ),
            None => (None, None),
        };
        Ok(Self {
            client_mutation_id,
            connection_request,
            invite_url,
            user_errors,
        })
    }
}

payload!(
    /// The connection request after the change.
    ConnectionRequestPayload { connection_request: ConnectionRequest }
);

#[derive(Default)]
pub struct ConnectionRequestMutation;

#[Object]
impl ConnectionRequestMutation {
    /// Asks someone else to connect integrations: by email (`inviteeEmail`), or through a
    /// shareable link. Returns the link, this once. The invitee needs no account and can do
    /// nothing but connect what is asked. Needs CONNECTION_REQUESTS FULL (no INTEGRATIONS level:
    /// asking is for those who cannot connect themselves). At most 20 per user and 100 per
    /// account an hour by default (RATE_LIMITED).
    async fn create_connection_request(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to connect and whom to ask.")] input: CreateConnectionRequestInput,
    ) -> async_graphql::Result<IssuedConnectionRequestPayload> {
        let result = services(ctx)
            .create_connection_request(
                caller(ctx)?,
                NewConnectionRequest {
                    integration_keys: input.integration_keys,
                    invitee_email: input.invitee_email,
                    message: input.message,
                    expires_in_hours: input.expires_in,
                    reconnect: input.reconnect,
                },
            )
            .await;
        IssuedConnectionRequestPayload::from_result(input.client_mutation_id, result)
    }

    /// Issues a new link for a pending or expired request, with a fresh lifetime; the old link
    /// stops working at once. Emails it again to a named invitee. At most 3 a day per request
    /// (RATE_LIMITED). Needs CONNECTION_REQUESTS FULL.
    async fn resend_connection_request(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The request.")] input: ConnectionRequestIdInput,
    ) -> async_graphql::Result<IssuedConnectionRequestPayload> {
        let id: ConnectionRequestId = decode_typed(&input.id, CONNECTION_REQUEST)?;
        let result = services(ctx)
            .resend_connection_request(caller(ctx)?, id)
            .await;
        IssuedConnectionRequestPayload::from_result(input.client_mutation_id, result)
    }

    /// Withdraws a pending request: its link stops working at once. Needs CONNECTION_REQUESTS
    /// FULL.
    async fn revoke_connection_request(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The request.")] input: ConnectionRequestIdInput,
    ) -> async_graphql::Result<ConnectionRequestPayload> {
        let id: ConnectionRequestId = decode_typed(&input.id, CONNECTION_REQUEST)?;
        let result = services(ctx)
            .revoke_connection_request(caller(ctx)?, id)
            .await;
        ConnectionRequestPayload::from_result(input.client_mutation_id, result, ConnectionRequest)
    }
}
