//! A local stand-in for Intercom's REST API, answering as Intercom's published reference does
//! (`GET /me`, "Identify an admin": the admin with its `app`; 401 with an `error.list` for a bad
//! token). It records each request's version header, so tests can check what we send.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

#[derive(Default)]
struct Workspace {
    /// Access tokens Intercom accepts; any token when `None`.
    tokens: Option<HashSet<String>>,
    /// The `Intercom-Version` header of every request, in order.
    versions: Vec<Option<String>>,
}

#[derive(Clone)]
pub struct FakeIntercom {
    pub url: String,
    state: Arc<Mutex<Workspace>>,
}

impl FakeIntercom {
    /// Starts the fake on a loopback port; it accepts the given access tokens.
    pub async fn start(tokens: &[&str]) -> Self {
        Self::serve(Some(tokens.iter().map(|t| (*t).to_owned()).collect())).await
    }

    /// A fake that accepts every access token (what tests that are not about the check use).
    pub async fn accepting_any() -> Self {
        Self::serve(None).await
    }

    async fn serve(tokens: Option<HashSet<String>>) -> Self {
        let state = Arc::new(Mutex::new(Workspace {
            tokens,
            versions: Vec::new(),
        }));
        let router = Router::new()
            .route("/me", get(me))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { url, state }
    }

    /// The `Intercom-Version` headers received so far.
    pub fn versions(&self) -> Vec<Option<String>> {
        self.state.lock().expect("state").versions.clone()
    }
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({
            "type": "error.list",
            "request_id": "000on9nhhdd3ua2t4vr0",
            "errors": [{ "code": "unauthorized", "message": "Access Token Invalid" }]
        })),
    )
        .into_response()
}

async fn me(State(state): State<Arc<Mutex<Workspace>>>, headers: HeaderMap) -> Response {
    let version = headers
        .get("intercom-version")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let mut workspace = state.lock().expect("state");
    workspace.versions.push(version);
    let accepted = match (&token, &workspace.tokens) {
        (Some(token), Some(tokens)) => tokens.contains(token),
        (Some(token), None) => !token.is_empty(),
        (None, _) => false,
    };
    if !accepted {
        return unauthorized();
    }
    axum::Json(json!({
        "type": "admin",
        "id": "991267464",
        "email": "lead@acme.example.com",
        "name": "Support Lead",
        "email_verified": true,
        "app": {
            "type": "app",
            "id_code": "this_is_an_id116_that_should_be_at_least_40",
            "name": "Acme Support",
            "created_at": 1734537243,
            "secure": false,
            "identity_verification": false,
            "timezone": "America/Los_Angeles",
            "region": "US"
        },
        "avatar": { "type": "avatar", "image_url": "https://static.intercomassets.com/assets/default-avatars/admins/128.png" },
        "has_inbox_seat": true
    }))
    .into_response()
}
