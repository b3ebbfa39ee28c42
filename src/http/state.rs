//! What every handler shares.

use std::sync::Arc;

use crate::auth::tokens::Tokens;
use crate::graphql::AppSchema;
use crate::service::Services;

use super::metrics::Metrics;

/// HTTP settings from configuration.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    pub graphiql: bool,
    pub max_body_bytes: usize,
    pub max_batch: usize,
    pub request_timeout_seconds: u64,
    pub cors_allowed_origins: Vec<String>,
}

#[derive(Clone)]
pub struct AppState {
    pub schema: AppSchema,
    pub services: Services,
    pub tokens: Arc<Tokens>,
    pub metrics: Arc<Metrics>,
    pub settings: Arc<HttpSettings>,
}
