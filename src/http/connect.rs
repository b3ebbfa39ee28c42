//! The invitee route's pages: `GET /connect/{token}` shows the invitation with a settings form per
//! integration, generated from the catalog's settings schema; the form POSTs back to the same
//! link and connects. Server-rendered, without JavaScript, with no third-party resource, and
//! answered with `Referrer-Policy: no-referrer` and a strict Content-Security-Policy (see
//! [`page_headers`]). A GET changes and records nothing: mail scanners open links.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::LazyLock;

use axum::Form;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::{AutoEscape, Environment};
use serde_json::{Map, Value, json};

use super::REQUEST_ID;
use super::graphql::{Endpoint, limit_ip};
use super::state::AppState;
use crate::domain::connection_request::{ItemStatus, LinkState};
use crate::error::AppError;
use crate::service::connection_requests::{Invitation, InvitationView};

/// The pages' templates, HTML-escaped throughout; a unit test renders each.
static PAGES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    for (name, source) in [
        (
            "layout.html",
            include_str!("../../templates/connect/layout.html"),
        ),
        (
            "invitation.html",
            include_str!("../../templates/connect/invitation.html"),
        ),
        (
            "message.html",
            include_str!("../../templates/connect/message.html"),
        ),
    ] {
        if let Err(error) = env.add_template(name, source) {
            tracing::error!(%error, name, "connect page template does not parse");
        }
    }
    env
});

const STYLESHEET: &str = include_str!("../../templates/connect/style.css");

/// Every page's security headers: no referrer (the URL holds the token), nothing loaded from
/// elsewhere, no inline script or style, forms only to ourselves, never framed or cached.
pub async fn page_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        ("referrer-policy", "no-referrer"),
        (
            "content-security-policy",
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("cache-control", "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

fn render(status: StatusCode, template: &str, context: Value) -> Response {
    match PAGES
        .get_template(template)
        .and_then(|page| page.render(&context))
    {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, template, "rendering a connect page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong.").into_response()
        }
    }
}

fn message(status: StatusCode, title: &str, text: &str, can_ask: bool) -> Response {
    render(
        status,
        "message.html",
        json!({ "title": title, "text": text, "can_ask": can_ask }),
    )
}

/// The page for a link that does not work: the plain answer for an unknown token, the reason
/// (and a button to ask for a new link) for a real one.
fn refused(error: &AppError, request_id: &str) -> Response {
    match error {
        AppError::InvalidLink => message(
            StatusCode::NOT_FOUND,
            "This link is not valid",
            "Check that you copied the whole link. If it still does not work, ask the person \
             who sent it for a new one.",
            false,
        ),
        AppError::LinkUnusable(state) => {
            let title = match state {
                LinkState::Expired => "This link has expired",
                LinkState::Revoked => "This link was withdrawn",
                LinkState::Completed => "This link has been used",
                LinkState::Replaced => "This link was replaced",
                LinkState::Usable => "This link works",
            };
            let text = format!(
                "{}. You can ask the person who sent it for a new one.",
                capitalised(state.message())
            );
            message(StatusCode::GONE, title, &text, true)
        }
        AppError::RateLimited {
            retry_after_seconds,
        } => {
            let mut response = message(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                &format!("Please wait {retry_after_seconds} seconds and try again."),
                false,
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_seconds));
            response
        }
        AppError::ForbiddenBecause(reason) => message(
            StatusCode::FORBIDDEN,
            "Not part of this request",
            &format!("{}.", capitalised(reason)),
            false,
        ),
        AppError::BadInput(reason) => {
            message(StatusCode::BAD_REQUEST, "That did not work", reason, false)
        }
        other => {
            tracing::error!(request_id, error = ?other, "connect page failed");
            message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                &format!("Please try again later. Reference: {request_id}"),
                false,
            )
        }
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// What the invitee sent with a form that failed, to show it again with the problems.
#[derive(Default)]
struct Submitted {
    integration: String,
    /// Non-secret values as entered (secrets are never sent back into a page).
    values: HashMap<String, String>,
    email: String,
    field_errors: HashMap<String, String>,
    email_error: Option<String>,
    error: Option<String>,
}

fn invitation_page(
    status: StatusCode,
    view: &InvitationView,
    submitted: Option<&Submitted>,
    notice: Option<&str>,
) -> Response {
    let integrations: Vec<Value> = view
        .integrations
        .iter()
        .map(|(entry, item_status)| {
            let mine = submitted.filter(|s| s.integration == entry.key);
            let fields: Vec<Value> = entry
                .settings
                .iter()
                .map(|setting| {
                    let mut field = serde_json::to_value(setting).unwrap_or_default();
                    let value = mine
                        .and_then(|s| s.values.get(&setting.key).cloned())
                        .or_else(|| {
                            setting.default.as_ref().map(|d| match d {
                                Value::String(text) => text.clone(),
                                other => other.to_string(),
                            })
                        })
                        .unwrap_or_default();
                    field["value"] = json!(value);
                    field["error"] = json!(mine.and_then(|s| s.field_errors.get(&setting.key)));
                    field
                })
                .collect();
            json!({
                "key": entry.key,
                "name": entry.name,
                "description": entry.description,
                "connected": *item_status == ItemStatus::Connected,
                "fields": fields,
                "error": mine.and_then(|s| s.error.clone()),
                "email_error": mine.and_then(|s| s.email_error.clone()),
            })
        })
        .collect();
    render(
        status,
        "invitation.html",
        json!({
            "requester": view.requester_name,
            "account": view.account_name,
            "message": view.message,
            "names": view.integrations.iter().map(|(e, _)| e.name.clone()).collect::<Vec<_>>(),
            "expires_at": view.expires_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            "email_required": view.invitee_email.is_none(),
            "email": submitted.map(|s| s.email.clone()).unwrap_or_default(),
            "integrations": integrations,
            "notice": notice,
        }),
    )
}

/// `GET /connect/{token}`: the invitation. Reads only.
pub async fn show(
    State(state): State<AppState>,
    ConnectInfo(socket): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let id = request_id(&headers);
    if let Err(limited) = limit_ip(&state, &headers, socket, Endpoint::Invitee) {
        return refused(&limited, &id);
    }
    let services = &state.services;
    let shown = async {
        let invitation = services.invitation_by_token(&token).await?;
        services.invitation_view(&invitation).await
    };
    match shown.await {
        Ok(view) => invitation_page(StatusCode::OK, &view, None, None),
        Err(error) => refused(&error, &id),
    }
}

/// `POST /connect/{token}`: connects one integration (`intent=connect`), or asks the requester
/// for a new link (`intent=new-link`).
pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(socket): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let id = request_id(&headers);
    if let Err(limited) = limit_ip(&state, &headers, socket, Endpoint::Invitee) {
        return refused(&limited, &id);
    }
    let field = |name: &str| {
        fields
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    match field("intent") {
        Some("new-link") => match state.services.ask_for_new_link(&token).await {
            Ok(()) => message(
                StatusCode::OK,
                "New link asked for",
                "The person who sent you this link has been emailed and can send you a new one.",
                false,
            ),
            Err(error) => refused(&error, &id),
        },
        Some("connect") => {
            let integration = field("integration").unwrap_or_default().to_owned();
            let mut settings = Map::new();
            for (key, value) in &fields {
                // The last value of a name wins (a checked box follows its hidden "false");
                // an empty field is absent, so an optional one stays unset.
                if let Some(setting) = key.strip_prefix("setting.") {
                    if value.trim().is_empty() {
                        settings.remove(setting);
                    } else {
                        settings.insert(setting.to_owned(), Value::String(value.clone()));
                    }
                }
            }
            connect(&state, &token, integration, settings, field("email"), &id).await
        }
        _ => refused(&AppError::BadInput("the form is incomplete".into()), &id),
    }
}

async fn connect(
    state: &AppState,
    token: &str,
    integration: String,
    settings: Map<String, Value>,
    email: Option<&str>,
    id: &str,
) -> Response {
    let services = &state.services;
    let invitation: Invitation = match services.invitation_by_token(token).await {
        Ok(invitation) => invitation,
        Err(error) => return refused(&error, id),
    };
    let result = services
        .connect_as_invitee(&invitation, &integration, &settings, email)
        .await;
    let view = match services.invitation_view(&invitation).await {
        Ok(view) => view,
        Err(error) => return refused(&error, id),
    };
    match result {
        Ok(connected) if connected.completed => {
            let names: Vec<String> = view
                .integrations
                .iter()
                .map(|(e, _)| e.name.clone())
                .collect();
            message(
                StatusCode::OK,
                "All connected",
                &format!(
                    "Thank you: {} connected for {}. {} has been told. You can close this page.",
                    names.join(", "),
                    view.account_name,
                    view.requester_name
                ),
                false,
            )
        }
        Ok(connected) => invitation_page(
            StatusCode::OK,
            &view,
            None,
            Some(&format!("{} is connected.", connected.integration.name)),
        ),
        Err(AppError::Rejected(errors)) => {
            let mut submitted = Submitted {
                integration,
                email: email.unwrap_or_default().to_owned(),
                ..Submitted::default()
            };
            if let Some((entry, _)) = view
                .integrations
                .iter()
                .find(|(entry, _)| entry.key == submitted.integration)
            {
                for setting in &entry.settings {
                    if setting.kind != crate::domain::catalog::SettingType::Secret
                        && let Some(Value::String(value)) = settings.get(&setting.key)
                    {
                        submitted.values.insert(setting.key.clone(), value.clone());
                    }
                }
            }
            for error in errors {
                match error.field.iter().map(String::as_str).collect::<Vec<_>>()[..] {
                    ["input", "settings", key] => {
                        submitted.field_errors.insert(key.to_owned(), error.message);
                    }
                    ["input", "email"] => submitted.email_error = Some(error.message),
                    _ => submitted.error = Some(error.message),
                }
            }
            invitation_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &view,
                Some(&submitted),
                None,
            )
        }
        Err(error) => refused(&error, id),
    }
}

/// `GET /connect/assets/style.css`.
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_renders_and_escapes() {
        let page = PAGES
            .get_template("message.html")
            .unwrap()
            .render(json!({ "title": "<b>x</b>", "text": "t", "can_ask": true }))
            .unwrap();
        assert!(page.contains("&lt;b&gt;x") && !page.contains("<b>x"));
        assert!(page.contains("name=\"intent\" value=\"new-link\""));
        let page = PAGES
            .get_template("invitation.html")
            .unwrap()
            .render(json!({
                "requester": "Ann", "account": "Acme", "message": "<script>",
                "names": ["Intercom"], "expires_at": "soon", "email_required": true,
                "email": "", "notice": null,
                "integrations": [{ "key": "intercom", "name": "Intercom", "description": "d",
                    "connected": false, "error": null, "email_error": null,
                    "fields": [{ "key": "region", "label": "Region", "type": "SELECT",
                        "required": true, "options": [{ "value": "us", "label": "US" }],
                        "value": "us", "error": null }] }],
            }))
            .unwrap();
        assert!(!page.contains("<script>"));
        assert!(page.contains("<option value=\"us\" selected>US</option>"));
        assert!(page.contains("name=\"email\""));
    }
}
