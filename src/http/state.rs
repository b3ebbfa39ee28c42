//! What every handler shares.

use std::sync::Arc;

use crate::auth::tokens::Tokens;
use crate::graphql::AppSchemas;
use crate::graphql::documents::DocumentCache;
use crate::graphql::invitee::InviteeSchemas;
use crate::service::Services;

/// The client's address: the trusted proxy header's first entry, or the socket's.
pub fn client_ip(
    settings: &HttpSettings,
    headers: &axum::http::HeaderMap,
    socket: std::net::SocketAddr,
) -> std::net::IpAddr {
    settings
        .client_ip_header
        .as_deref()
        .and_then(|name| headers.get(name))
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(',').next())
        .and_then(|first| first.trim().parse().ok())
        .unwrap_or(socket.ip())
}

use super::metrics::Metrics;
use super::rate_limit::RateLimits;

/// HTTP settings from configuration.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    pub graphiql: bool,
    pub max_body_bytes: usize,
    /// The limit of a multipart request's one file.
    pub max_upload_bytes: usize,
    pub max_batch: usize,
    pub request_timeout_seconds: u64,
    pub cors_allowed_origins: Vec<String>,
    /// A header a trusted proxy sets with the client's address (first entry).
    pub client_ip_header: Option<String>,
}

/// The handlers' state, behind one reference count: axum clones the state for every request,
/// and cloning each of its parts (a score of reference counts, up and down again) was 2 % of a
/// `node(id:)` query's time.
#[derive(Clone)]
pub struct AppState(Arc<SharedState>);

impl AppState {
    pub fn new(shared: SharedState) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = SharedState;

    fn deref(&self) -> &SharedState {
        &self.0
    }
}

pub struct SharedState {
    pub schema: AppSchemas,
    pub invitee_schema: InviteeSchemas,
    pub services: Services,
    pub tokens: Arc<Tokens>,
    pub metrics: Arc<Metrics>,
    pub settings: Arc<HttpSettings>,
    pub limits: Arc<RateLimits>,
    /// Parsed documents by their text, shared by both endpoints.
    pub documents: Arc<DocumentCache>,
}
