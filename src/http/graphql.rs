//! GraphQL over HTTP, wrapped around async-graphql so the transport follows the spec: POST with
//! `application/json`, GET for queries only (405 for mutations), batches capped, bodies capped
//! (413), 400 for unparsable documents, 422 for invalid ones when the client accepts
//! `application/graphql-response+json`, and 401/403 for refused tokens. `text/plain` bodies are
//! refused, which closes the CSRF hole of "simple" requests.

use std::time::Instant;

use async_graphql::http::{GraphiQLSource, MultipartOptions};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection,
};
use async_graphql::{BatchRequest, ParseRequestError, Request, Response, ServerError, Value};
use axum::body::Bytes;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response as HttpResponse};
use serde::Serialize;

use super::REQUEST_ID;
use super::state::{AppState, client_ip};
use crate::auth::authenticate::{authenticate, authenticate_invitee};
use crate::auth::principal::{AccountUser, Principal};
use crate::error::AppError;
use crate::graphql::context::RequestPrincipal;
use crate::graphql::documents::DocumentCache;
use crate::graphql::errors::{RequestId, request_error};
use crate::graphql::invitee::InviteeSession;
use crate::graphql::loaders::Loaders;
use crate::service::Services;
use crate::service::connection_requests::Invitation;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";
const MULTIPART: &str = "multipart/form-data";

/// How the client wants its answer.
struct Negotiated {
    /// The client accepts `application/graphql-response+json`: use it and its status codes.
    modern: bool,
    request_id: String,
}

impl Negotiated {
    fn from(headers: &HeaderMap) -> Self {
        let modern = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains(GRAPHQL_RESPONSE));
        let request_id = headers
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Self { modern, request_id }
    }

    fn respond(&self, status: StatusCode, body: &impl Serialize) -> HttpResponse {
        let content_type = if self.modern { GRAPHQL_RESPONSE } else { JSON };
        let body = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
        (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
    }

    /// A request-level failure: `{"errors": [..]}` with no data.
    fn fail(&self, status: StatusCode, error: ServerError) -> HttpResponse {
        let mut response = self.respond(status, &Response::from_errors(vec![error]));
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }

    fn fail_with(&self, error: &AppError) -> HttpResponse {
        if let AppError::RateLimited {
            retry_after_seconds,
        } = error
        {
            let mut response = self.fail(StatusCode::TOO_MANY_REQUESTS, request_error(error, None));
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_seconds));
            return response;
        }
        let status = match error {
            AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            AppError::AccountSuspended
            | AppError::Forbidden(..)
            | AppError::ForbiddenBecause(_)
            | AppError::InsufficientScopes { .. } => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::BadInput(_) | AppError::Rejected(_) => StatusCode::BAD_REQUEST,
            // An invitee session whose link no longer works.
            AppError::InvalidLink | AppError::LinkUnusable(_) => StatusCode::UNAUTHORIZED,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if error.is_internal() {
            tracing::error!(request_id = %self.request_id, ?error, "request failed");
        }
        self.fail(status, request_error(error, Some(&self.request_id)))
    }

    fn bad_request(&self, message: impl Into<String>) -> HttpResponse {
        self.fail_with(&AppError::BadInput(message.into()))
    }
}

/// Which GraphQL endpoint a request is for: the main API, or the invitee route's small schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Main,
    Invitee,
}

/// The client address's rate limit, checked before anything else (token guessing included);
/// the invitee route has its own.
pub fn limit_ip(
    state: &AppState,
    headers: &HeaderMap,
    socket: SocketAddr,
    endpoint: Endpoint,
) -> Result<(), AppError> {
    let ip = client_ip(&state.settings, headers, socket);
    let checked = match endpoint {
        Endpoint::Main => state.limits.check_ip(ip),
        Endpoint::Invitee => state.limits.check_invitee_ip(ip),
    };
    checked.map_err(|limited| {
        state.metrics.record_rate_limited(limited.policy);
        limited.to_error()
    })
}

/// `POST /graphql`: one operation, or a batch of at most `max_batch`.
pub async fn post_graphql(
    State(state): State<AppState>,
    ConnectInfo(socket): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResponse {
    post(&state, socket, &headers, &body, Endpoint::Main).await
}

/// `POST /connect/graphql`: the invitee schema, with an invitee session or none.
pub async fn post_invitee_graphql(
    State(state): State<AppState>,
    ConnectInfo(socket): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResponse {
    post(&state, socket, &headers, &body, Endpoint::Invitee).await
}

async fn post(
    state: &AppState,
    socket: SocketAddr,
    headers: &HeaderMap,
    body: &Bytes,
    endpoint: Endpoint,
) -> HttpResponse {
    let negotiated = Negotiated::from(headers);
    if let Err(refused) = limit_ip(state, headers, socket, endpoint) {
        return negotiated.fail_with(&refused);
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let batch: BatchRequest = match media.as_str() {
        JSON => {
            if body.len() > state.settings.max_body_bytes {
                return too_large(&negotiated, state.settings.max_body_bytes);
            }
            match serde_json::from_slice(body) {
                Ok(batch) => batch,
                Err(_) => {
                    return negotiated.bad_request("the body is not a GraphQL request in JSON");
                }
            }
        }
        // The GraphQL multipart request convention, for a bulk job's CSV file. Browsers cannot
        // send it cross-site with our bearer token, so it opens no CSRF hole.
        MULTIPART if endpoint == Endpoint::Main => {
            let options = MultipartOptions::default()
                .max_file_size(state.settings.max_upload_bytes)
                .max_num_files(1);
            let reader = futures_util::io::Cursor::new(body.clone());
            match async_graphql::http::receive_batch_body(Some(content_type), reader, options).await
            {
                Ok(batch) => batch,
                Err(ParseRequestError::PayloadTooLarge) => {
                    return too_large(&negotiated, state.settings.max_upload_bytes);
                }
                Err(_) => {
                    return negotiated.bad_request(
                        "the body is not a GraphQL multipart request with at most one file",
                    );
                }
            }
        }
        _ => {
            let mut response = negotiated.fail(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                request_error(
                    &AppError::BadInput(
                        "send GraphQL requests as `Content-Type: application/json`".into(),
                    ),
                    None,
                ),
            );
            response
                .headers_mut()
                .insert(header::ACCEPT, HeaderValue::from_static(JSON));
            return response;
        }
    };
    if let BatchRequest::Batch(requests) = &batch {
        if requests.is_empty() {
            return negotiated.bad_request("an empty batch");
        }
        if requests.len() > state.settings.max_batch {
            return negotiated.bad_request(format!(
                "a batch holds at most {} operations",
                state.settings.max_batch
            ));
        }
    }
    execute(state, headers, negotiated, batch, false, endpoint).await
}

/// 413 with the limit that was passed.
fn too_large(negotiated: &Negotiated, limit: usize) -> HttpResponse {
    negotiated.fail(
        StatusCode::PAYLOAD_TOO_LARGE,
        request_error(
            &AppError::BadInput(format!("the body is larger than {limit} bytes")),
            None,
        ),
    )
}

/// `GET /graphql`: GraphiQL for a browser, or a query (never a mutation) from the URL.
pub async fn get_graphql(
    State(state): State<AppState>,
    ConnectInfo(socket): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> HttpResponse {
    let negotiated = Negotiated::from(&headers);
    if let Err(refused) = limit_ip(&state, &headers, socket, Endpoint::Main) {
        return negotiated.fail_with(&refused);
    }
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let raw = raw.unwrap_or_default();
    if raw.is_empty() {
        if wants_html && state.settings.graphiql {
            return Html(
                GraphiQLSource::build()
                    .endpoint("/graphql")
                    .subscription_endpoint("/graphql/ws")
                    .title("Liaison GraphiQL")
                    .finish(),
            )
            .into_response();
        }
        return negotiated.bad_request("pass the query in the `query` parameter");
    }
    let request: Request = match async_graphql::http::parse_query_string(&raw) {
        Ok(request) => request,
        Err(_) => return negotiated.bad_request("the URL parameters are not a GraphQL request"),
    };
    execute(
        &state,
        &headers,
        negotiated,
        BatchRequest::Single(request),
        true,
        Endpoint::Main,
    )
    .await
}

fn bearer(headers: &HeaderMap) -> Result<Option<&str>, AppError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| AppError::Unauthenticated("the Authorization header is malformed"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(AppError::Unauthenticated(
            "use `Authorization: Bearer <token>`",
        )),
    }
}

/// The operation a request runs, by `operationName` or as the only one.
fn selected_operation<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a async_graphql::parser::types::OperationDefinition> {
    match (&document.operations, name) {
        (DocumentOperations::Single(operation), _) => Some(&operation.node),
        (DocumentOperations::Multiple(operations), Some(name)) => {
            operations.get(name).map(|operation| &operation.node)
        }
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next().map(|operation| &operation.node)
        }
        _ => None,
    }
}

fn root_fields(operation: &async_graphql::parser::types::OperationDefinition) -> Vec<String> {
    operation
        .selection_set
        .node
        .items
        .iter()
        .filter_map(|selection| match &selection.node {
            Selection::Field(field) => Some(field.node.name.node.to_string()),
            _ => None,
        })
        .collect()
}

/// What the HTTP layer learnt from parsing one request.
struct Parsed {
    operation_type: Option<OperationType>,
    root_fields: Vec<String>,
}

fn parse(documents: &DocumentCache, request: &mut Request) -> Result<Parsed, ServerError> {
    let name = request.operation_name.clone();
    let document = documents.parse(request)?;
    let operation = selected_operation(document, name.as_deref());
    Ok(Parsed {
        operation_type: operation.map(|op| op.ty),
        root_fields: operation.map(root_fields).unwrap_or_default(),
    })
}

/// Who calls, on either endpoint.
enum Caller {
    Account(Principal),
    /// The invitation of an invitee session; `None` before `openInvitation`.
    Invitee(Option<Invitation>),
}

/// Authenticates the bearer token for `endpoint`, and applies the user and account limits.
async fn caller(
    state: &AppState,
    services: &Services,
    headers: &HeaderMap,
    endpoint: Endpoint,
) -> Result<Caller, AppError> {
    match endpoint {
        Endpoint::Main => Ok(Caller::Account(principal(state, services, headers).await?)),
        Endpoint::Invitee => Ok(Caller::Invitee(
            authenticate_invitee(services, &state.tokens, bearer(headers)?).await?,
        )),
    }
}

/// The main API's principal behind the bearer token, with the user and account limits applied.
async fn principal(
    state: &AppState,
    services: &Services,
    headers: &HeaderMap,
) -> Result<Principal, AppError> {
    let principal = authenticate(&services.db, &state.tokens, bearer(headers)?).await?;
    state
        .limits
        .check_principal(&principal)
        .map_err(|limited| {
            state.metrics.record_rate_limited(limited.policy);
            limited.to_error()
        })?;
    Ok(principal)
}

/// For the plain HTTP routes beside GraphQL: the account user behind the bearer token, under
/// the API's limits, or the response refusing the request (as JSON with `extensions.code`).
pub async fn account_user(
    state: &AppState,
    headers: &HeaderMap,
    socket: SocketAddr,
) -> Result<AccountUser, HttpResponse> {
    let user = async {
        limit_ip(state, headers, socket, Endpoint::Main)?;
        principal(state, &state.services, headers)
            .await?
            .account_user()
            .cloned()
    };
    user.await.map_err(|error| refusal(headers, &error))
}

/// A plain HTTP route's refusal, shaped like a GraphQL request error.
pub fn refusal(headers: &HeaderMap, error: &AppError) -> HttpResponse {
    Negotiated::from(headers).fail_with(error)
}

async fn execute(
    state: &AppState,
    headers: &HeaderMap,
    negotiated: Negotiated,
    batch: BatchRequest,
    via_get: bool,
    endpoint: Endpoint,
) -> HttpResponse {
    // Sign-in and every operation of the request share one database connection.
    let services = state.services.for_request();
    let caller = match caller(state, &services, headers, endpoint).await {
        Ok(caller) => caller,
        Err(error) => {
            if !matches!(error, AppError::RateLimited { .. }) {
                state.metrics.record_error(error.code());
            }
            return negotiated.fail_with(&error);
        }
    };
    let (single, requests) = match batch {
        BatchRequest::Single(request) => (true, vec![request]),
        BatchRequest::Batch(requests) => (false, requests),
    };
    let mut responses = Vec::new();
    for mut request in requests {
        let parsed = match parse(&state.documents, &mut request) {
            Ok(parsed) => parsed,
            Err(mut error) => {
                error
                    .extensions
                    .get_or_insert_with(Default::default)
                    .set("code", "BAD_USER_INPUT");
                if single {
                    state.metrics.record_error("BAD_USER_INPUT");
                    return negotiated.fail(StatusCode::BAD_REQUEST, error);
                }
                responses.push(Response::from_errors(vec![error]));
                continue;
            }
        };
        if via_get && parsed.operation_type != Some(OperationType::Query) {
            let mut response = negotiated.fail(
                StatusCode::METHOD_NOT_ALLOWED,
                request_error(
                    &AppError::BadInput("only queries may be sent with GET; use POST".into()),
                    None,
                ),
            );
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return response;
        }
        let introspection_only = !parsed.root_fields.is_empty()
            && parsed.root_fields.iter().all(|f| f.starts_with("__"));
        if matches!(caller, Caller::Account(Principal::Anonymous)) && !introspection_only {
            return negotiated.fail_with(&AppError::Unauthenticated("a bearer token is required"));
        }
        responses.push(run(state, &services, &caller, &negotiated, request, &parsed).await);
    }
    if single {
        let response = responses.pop().unwrap_or_default();
        let is_request_error = matches!(response.data, Value::Null)
            && !response.errors.is_empty()
            && response.errors.iter().all(|e| e.path.is_empty());
        let status = if negotiated.modern && is_request_error {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        };
        negotiated.respond(status, &response)
    } else {
        negotiated.respond(StatusCode::OK, &responses)
    }
}

async fn run(
    state: &AppState,
    services: &Services,
    caller: &Caller,
    negotiated: &Negotiated,
    request: Request,
    parsed: &Parsed,
) -> Response {
    let request = request
        .data(RequestId(negotiated.request_id.clone()))
        .data(services.clone());
    let label = state
        .metrics
        .operation_label(parsed.root_fields.first().map(String::as_str));
    let started = Instant::now();
    let response = match caller {
        Caller::Account(principal) => {
            let mut request = request.data(RequestPrincipal(principal.clone()));
            if let Principal::User(user) = principal {
                request = request.data(Loaders::new(&services.db, user.account_id));
            }
            state
                .schema
                .execute(request, Some(&negotiated.request_id))
                .await
        }
        Caller::Invitee(session) => {
            let request = request.data(InviteeSession(session.clone()));
            state
                .invitee_schema
                .execute(request, Some(&negotiated.request_id))
                .await
        }
    };
    let labels = super::metrics::OperationLabels { operation: label };
    state.metrics.requests.get_or_create(&labels).inc();
    state
        .metrics
        .latency
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    for error in &response.errors {
        let code = error
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .and_then(|v| match v {
                Value::String(code) => Some(code.clone()),
                _ => None,
            })
            .unwrap_or_else(|| "UNKNOWN".into());
        state.metrics.record_error(&code);
    }
    response
}
