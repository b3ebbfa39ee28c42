//! A local stand-in for Intercom's REST API, answering as Intercom's published reference does
//! (`GET /me`, "Identify an admin": the admin with its `app`; `GET /admins`, "List all admins":
//! an `admin.list`; 401 with an `error.list` for a bad token; 429 with the `X-RateLimit-*`
//! headers). It records each request's version header, so tests can check what we send, and its
//! admin list and failures are programmable.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

#[derive(Default)]
struct Workspace {
    /// Access tokens Intercom accepts; any token when `None`.
    tokens: Option<HashSet<String>>,
    /// The `Intercom-Version` header of every request, in order.
    versions: Vec<Option<String>>,
    /// The entries `GET /admins` lists, in order: admins, and teams when a test mixes them in.
    admins: Vec<Value>,
    /// What the next `GET /admins` requests answer instead of the list, first first.
    failures: VecDeque<AdminsFailure>,
    /// Every `GET /admins` answers 429 until this unix second.
    limited_until: Option<u64>,
    /// The headers of every `GET /admins` request, in order.
    admins_requests: Vec<HeaderMap>,
}

/// A failure `GET /admins` can be told to answer with.
#[derive(Clone, Copy, Debug)]
pub enum AdminsFailure {
    /// 429 `rate_limit_exceeded`, announcing that the window resets this many seconds ahead.
    RateLimited { reset_in_seconds: u64 },
    /// 500 with an `error.list`.
    ServerError,
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
            admins: vec![admin_json(
                "991267464",
                "Support Lead",
                "lead@acme.example.com",
            )],
            ..Workspace::default()
        }));
        let router = Router::new()
            .route("/me", get(me))
            .route("/admins", get(admins))
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

    fn workspace(&self) -> std::sync::MutexGuard<'_, Workspace> {
        self.state.lock().expect("state")
    }

    /// Refuses every access token from now on (a token revoked in Intercom).
    pub fn revoke_tokens(&self) {
        self.workspace().tokens = Some(HashSet::new());
    }

    /// Replaces the admins `GET /admins` lists with `(id, name, email)` triples.
    pub fn set_admins(&self, admins: &[(&str, &str, &str)]) {
        self.workspace().admins = admins
            .iter()
            .map(|(id, name, email)| admin_json(id, name, email))
            .collect();
    }

    /// Appends an admin to the list.
    pub fn add_admin(&self, id: &str, name: &str, email: &str) {
        self.workspace().admins.push(admin_json(id, name, email));
    }

    /// Renames the admin with this id.
    pub fn rename_admin(&self, id: &str, name: &str) {
        let mut workspace = self.workspace();
        let admin = workspace
            .admins
            .iter_mut()
            .find(|entry| entry["type"] == "admin" && entry["id"] == id)
            .expect("an admin with that id");
        admin["name"] = json!(name);
    }

    /// Removes the admin with this id from the list.
    pub fn remove_admin(&self, id: &str) {
        self.workspace()
            .admins
            .retain(|entry| !(entry["type"] == "admin" && entry["id"] == id));
    }

    /// Mixes a team entry into the list, as API versions before 2.0 documented it.
    pub fn add_team(&self, id: &str, name: &str, admin_ids: &[&str]) {
        self.workspace().admins.push(json!({
            "type": "team",
            "id": id,
            "name": name,
            "admin_ids": admin_ids,
        }));
    }

    /// Makes the next `times` `GET /admins` requests answer `failure`.
    pub fn fail_admins(&self, failure: AdminsFailure, times: usize) {
        self.workspace()
            .failures
            .extend(std::iter::repeat_n(failure, times));
    }

    /// Rate-limits `GET /admins` as Intercom does: every request answers 429 until the window
    /// resets, at least `window` from now (rounded up to the next unix second, the header's unit).
    pub fn rate_limit_admins_for(&self, window: Duration) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970");
        self.workspace().limited_until = Some((now + window).as_secs() + 1);
    }

    /// How many `GET /admins` requests arrived.
    pub fn admins_request_count(&self) -> usize {
        self.workspace().admins_requests.len()
    }

    /// The headers of every `GET /admins` request, in order.
    pub fn admins_requests(&self) -> Vec<HeaderMap> {
        self.workspace().admins_requests.clone()
    }
}

/// An admin as `GET /admins` lists it in API 2.14.
fn admin_json(id: &str, name: &str, email: &str) -> Value {
    json!({
        "type": "admin",
        "email": email,
        "id": id,
        "name": name,
        "job_title": "Support",
        "away_mode_enabled": false,
        "away_mode_reassign": false,
        "has_inbox_seat": true,
        "team_ids": [],
        "avatar": { "image_url": "https://static.intercomassets.com/assets/default-avatars/admins/128.png" }
    })
}

fn error_list(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({
            "type": "error.list",
            "request_id": "000on9nhhdd3ua2t4vr0",
            "errors": [{ "code": code, "message": message }]
        })),
    )
        .into_response()
}

fn rate_limited(reset_at: u64) -> Response {
    let mut response = error_list(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limit_exceeded",
        "Exceeded rate limit of 10000 in 60_seconds",
    );
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", "10000".parse().expect("header"));
    headers.insert("x-ratelimit-remaining", "0".parse().expect("header"));
    headers.insert(
        "x-ratelimit-reset",
        reset_at.to_string().parse().expect("header"),
    );
    response
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
}

fn accepts(workspace: &Workspace, token: Option<&str>) -> bool {
    match (token, &workspace.tokens) {
        (Some(token), Some(tokens)) => tokens.contains(token),
        (Some(token), None) => !token.is_empty(),
        (None, _) => false,
    }
}

async fn admins(State(state): State<Arc<Mutex<Workspace>>>, headers: HeaderMap) -> Response {
    let token = bearer(&headers);
    let mut workspace = state.lock().expect("state");
    workspace.admins_requests.push(headers);
    if !accepts(&workspace, token.as_deref()) {
        return unauthorized();
    }
    if let Some(until) = workspace.limited_until {
        if unix_now() < until {
            return rate_limited(until);
        }
        workspace.limited_until = None;
    }
    match workspace.failures.pop_front() {
        Some(AdminsFailure::RateLimited { reset_in_seconds }) => {
            return rate_limited(unix_now() + reset_in_seconds);
        }
        Some(AdminsFailure::ServerError) => {
            return error_list(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "Server Error",
            );
        }
        None => {}
    }
    axum::Json(json!({ "type": "admin.list", "admins": workspace.admins })).into_response()
}

fn unauthorized() -> Response {
    error_list(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "Access Token Invalid",
    )
}

async fn me(State(state): State<Arc<Mutex<Workspace>>>, headers: HeaderMap) -> Response {
    let version = headers
        .get("intercom-version")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let token = bearer(&headers);
    let mut workspace = state.lock().expect("state");
    workspace.versions.push(version);
    if !accepts(&workspace, token.as_deref()) {
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
