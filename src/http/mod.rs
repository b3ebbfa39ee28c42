//! HTTP: the router, our GraphQL-over-HTTP wrapper, the bulk job results download, health and
//! metrics.

pub mod bulk_results;
pub mod connect;
pub mod graphql;
pub mod health;
pub mod metrics;
pub mod rate_limit;
pub mod state;
pub mod ws;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::routing::{get, post};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use state::AppState;

/// Room for a multipart request's `operations` and `map` parts beside its file.
const UPLOAD_OVERHEAD: usize = 64 * 1024;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState) -> Router {
    let max_body = state.settings.max_body_bytes;
    // A multipart upload may be larger; `post_graphql` holds JSON bodies to `max_body` itself.
    let max_graphql_body = max_body.max(state.settings.max_upload_bytes + UPLOAD_OVERHEAD);
    let timeout = Duration::from_secs(state.settings.request_timeout_seconds);
    let cors = cors_layer(&state.settings.cors_allowed_origins);
    let metrics = state.metrics.clone();
    let mut router = Router::new()
        .route(
            "/graphql",
            get(graphql::get_graphql)
                .post(graphql::post_graphql.layer(DefaultBodyLimit::max(max_graphql_body))),
        )
        .route("/graphql/ws", get(ws::graphql_ws))
        .route(
            "/bulk-jobs/{id}/results.csv",
            get(bulk_results::results_csv),
        )
        .nest(
            "/connect",
            Router::new()
                .route("/graphql", post(graphql::post_invitee_graphql))
                .route("/assets/style.css", get(connect::stylesheet))
                .route("/{token}", get(connect::show).post(connect::submit))
                .layer(axum::middleware::map_response(connect::page_headers)),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .with_state(state)
        .layer(axum::middleware::from_fn(run_to_completion))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(axum::middleware::map_response_with_state(
            metrics,
            count_timeouts,
        ));
    if let Some(cors) = cors {
        router = router.layer(cors);
    }
    router
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
                let request_id = request
                    .headers()
                    .get(REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                // The path only, never the query, and an invite link's token replaced.
                let path = redacted_path(request.uri().path());
                tracing::info_span!("http", method = %request.method(), path = %path, request_id)
            }),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// A request path as logs may show it: an invite link's token (`/connect/<token>`) becomes
/// `{token}`.
pub fn redacted_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix("/connect/") {
        Some(rest) if !rest.starts_with("graphql") && !rest.starts_with("assets/") => {
            std::borrow::Cow::Borrowed("/connect/{token}")
        }
        _ => std::borrow::Cow::Borrowed(path),
    }
}

/// Runs each request's handler in a task of its own. Hyper drops a handler whose client hangs
/// up, and the timeout layer drops one that answers late; dropped halfway, a handler would leave
/// its transaction to be rolled back whenever its connection is next used, and under load such a
/// connection was seen starting the next request's work inside the dead transaction. In its own
/// task, a handler always reaches its commit or its rollback.
async fn run_to_completion(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    use tracing::Instrument;
    let handler = next.run(request).instrument(tracing::Span::current());
    match tokio::spawn(handler).await {
        Ok(response) => response,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Counts the requests the timeout layer answered with 408.
async fn count_timeouts(
    axum::extract::State(metrics): axum::extract::State<std::sync::Arc<metrics::Metrics>>,
    response: axum::response::Response,
) -> axum::response::Response {
    if response.status() == StatusCode::REQUEST_TIMEOUT {
        metrics.timeouts.inc();
    }
    response
}

fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| o.parse().ok()).collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                axum::http::header::AUTHORIZATION,
                axum::http::header::CONTENT_TYPE,
                axum::http::header::ACCEPT,
            ])
            .max_age(Duration::from_secs(600)),
    )
}
