//! The one place error codes are attached. Every resolver error passes through
//! [`classify_response`] (the HTTP handler calls it; [`ErrorCodes`] does on WebSocket):
//! an `AppError` gets its code (and, for INSUFFICIENT_SCOPES, the scope lists); any other error
//! with a source (a database error that slipped through `?`, say) becomes INTERNAL with a generic
//! message, its detail logged with the request id. Field-level denials use [`deny_field`].

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextRequest, NextSubscribe,
};
use async_graphql::{Context, Response, ServerError, Value};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use crate::error::AppError;

/// The request id, stored in each request's data so errors can carry it.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExtension)
    }
}

struct ErrorCodesExtension;

#[async_trait::async_trait]
impl Extension for ErrorCodesExtension {
    /// Once per request rather than per field: a resolver's error keeps its source up to the
    /// response, so it is classified there.
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        classify_response(
            &mut response,
            ctx.data_opt::<RequestId>().map(|id| id.0.as_str()),
        );
        response
    }

    /// Subscription set-up errors and stream errors bypass `resolve`; they are coded here.
    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let request_id = ctx.data_opt::<RequestId>().map(|id| id.0.clone());
        next.run(ctx, stream)
            .map(move |mut response| {
                classify_response(&mut response, request_id.as_deref());
                response
            })
            .boxed()
    }
}

/// Codes every error of a response (the HTTP handler's way; the extension's for WebSocket).
pub fn classify_response(response: &mut Response, request_id: Option<&str>) {
    if !response.errors.is_empty() {
        response.errors = std::mem::take(&mut response.errors)
            .into_iter()
            .map(|error| classify(error, request_id))
            .collect();
    }
}

/// Sets `extensions.code` (and friends) on a resolver error.
pub fn classify(mut error: ServerError, request_id: Option<&str>) -> ServerError {
    let has_code = error
        .extensions
        .as_ref()
        .is_some_and(|extensions| extensions.get("code").is_some());
    if has_code {
        return error;
    }
    let source = error.source.clone();
    let app_error = source.as_ref().and_then(|source| {
        source.downcast_ref::<AppError>().or_else(|| {
            source
                .downcast_ref::<Arc<AppError>>()
                .map(|shared| shared.as_ref())
        })
    });
    match app_error {
        Some(app_error) => {
            if app_error.is_internal() {
                tracing::error!(request_id, error = ?app_error, path = ?error.path, "internal error");
            }
            annotate(&mut error, app_error, request_id);
        }
        None if error.source.is_some() => {
            tracing::error!(request_id, error = %error.message, path = ?error.path, "internal error");
            error.message = "an internal error occurred".into();
            set(&mut error, "code", "INTERNAL");
            if let Some(id) = request_id {
                set(&mut error, "requestId", id);
            }
        }
        // async-graphql's own input errors (an argument of the wrong shape) carry no source.
        None => set(&mut error, "code", "BAD_USER_INPUT"),
    }
    error
}

fn set(error: &mut ServerError, key: &str, value: impl Into<Value>) {
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set(key, value);
}

fn annotate(error: &mut ServerError, app_error: &AppError, request_id: Option<&str>) {
    error.message = app_error.to_string();
    set(error, "code", app_error.code());
    if let AppError::InsufficientScopes { required, granted } = app_error {
        set(error, "requiredScopes", required.clone());
        set(error, "grantedScopes", granted.clone());
    }
    if let AppError::RateLimited {
        retry_after_seconds,
    } = app_error
    {
        set(error, "retryAfterSeconds", *retry_after_seconds);
    }
    if app_error.is_internal()
        && let Some(id) = request_id
    {
        set(error, "requestId", id);
    }
}

/// A ServerError for an `AppError` raised outside a resolver (authentication, HTTP rules).
pub fn request_error(app_error: &AppError, request_id: Option<&str>) -> ServerError {
    let mut error = ServerError::new(String::new(), None);
    annotate(&mut error, app_error, request_id);
    error
}

/// Field-level denial: adds the error at the field's path and lets the field resolve to `null`,
/// keeping its siblings and parent (async-graphql's guards cannot do this on nullable fields).
pub fn deny_field(ctx: &Context<'_>, app_error: AppError) {
    let request_id = ctx.data_opt::<RequestId>().map(|id| id.0.as_str());
    let mut error = ctx.set_error_path(ServerError::new(String::new(), Some(ctx.item.pos)));
    annotate(&mut error, &app_error, request_id);
    ctx.add_error(error);
}

/// Resolves a guarded field: its value when `check` passes, else `null` with the denial.
pub fn guarded<T>(
    ctx: &Context<'_>,
    check: Result<(), AppError>,
    value: impl FnOnce() -> Option<T>,
) -> Option<T> {
    match check {
        Ok(()) => value(),
        Err(error) => {
            deny_field(ctx, error);
            None
        }
    }
}

/// A field's value, or `null` with the denial at its path (other errors stay errors).
pub fn field_or_denial<T>(
    ctx: &Context<'_>,
    result: Result<T, AppError>,
) -> Result<Option<T>, AppError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(denied @ (AppError::Forbidden(..) | AppError::InsufficientScopes { .. })) => {
            deny_field(ctx, denied);
            Ok(None)
        }
        Err(other) => Err(other),
    }
}
