//! Intercom: `GET /me` with the access token identifies the admin the token belongs to; a 401
//! means the token is wrong. `GET /admins` lists the workspace's teammates, which a user sync
//! reads as the upstream users. The API version is pinned, so an upgrade on Intercom's side
//! cannot change the answer under us.

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

use super::upstream::{
    DirectorySettings, FetchError, JsonGet, RetryPolicy, UpstreamDirectory, UpstreamPages,
    UpstreamUser, get_json,
};
use super::{CheckFailure, CheckedSettings, ConnectorCheck};

pub const KEY: &str = "intercom";
/// The Intercom API version every request asks for.
pub const API_VERSION: &str = "2.14";

pub struct IntercomCheck {
    http: reqwest::Client,
    /// Replaces the regional host (a proxy or a test double).
    base_url: Option<String>,
}

/// What `GET /me` answers (only what we look at).
#[derive(Deserialize)]
struct Admin {
    #[serde(rename = "type")]
    kind: String,
}

impl IntercomCheck {
    pub fn new(http: reqwest::Client, base_url: Option<String>) -> Self {
        Self { http, base_url }
    }
}

/// The API host of a workspace's region, unless `base_url` replaces it.
fn api_base(base_url: Option<&str>, region: Option<&str>) -> String {
    if let Some(base) = base_url {
        return base.trim_end_matches('/').to_owned();
    }
    match region {
        Some("eu") => "https://api.eu.intercom.io".into(),
        Some("au") => "https://api.au.intercom.io".into(),
        _ => "https://api.intercom.io".into(),
    }
}

#[async_trait::async_trait]
impl ConnectorCheck for IntercomCheck {
    async fn verify(&self, settings: &CheckedSettings<'_>) -> Result<(), CheckFailure> {
        let token = settings
            .secrets
            .get("access_token")
            .ok_or_else(|| CheckFailure::Rejected("Intercom needs an access token".into()))?;
        let region = settings.plain.get("region").and_then(|v| v.as_str());
        let url = format!("{}/me", api_base(self.base_url.as_deref(), region));
        let response = self
            .http
            .get(url)
            .bearer_auth(token)
            .header("Intercom-Version", API_VERSION)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|error| {
                tracing::warn!(error = %error.without_url(), "Intercom check: no answer");
                CheckFailure::Unavailable("Intercom could not be reached; try again later".into())
            })?;
        match response.status() {
            StatusCode::OK => match response.json::<Admin>().await {
                Ok(admin) if admin.kind == "admin" => Ok(()),
                _ => Err(CheckFailure::Unavailable(
                    "Intercom gave an unexpected answer; try again later".into(),
                )),
            },
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(CheckFailure::Rejected(
                "Intercom refused the access token: check that it is copied whole and belongs \
                 to the workspace's region"
                    .into(),
            )),
            status => {
                tracing::warn!(%status, "Intercom check: unexpected status");
                Err(CheckFailure::Unavailable(
                    "Intercom could not check the access token; try again later".into(),
                ))
            }
        }
    }
}

/// The workspace's admins (teammates) as upstream users. Admins have no username; `name` is
/// their display name, never split into first and last.
pub struct IntercomDirectory {
    http: reqwest::Client,
    /// Replaces the regional host (a proxy or a test double).
    base_url: Option<String>,
    retry: RetryPolicy,
}

impl IntercomDirectory {
    pub fn new(http: reqwest::Client, base_url: Option<String>, retry: RetryPolicy) -> Self {
        Self {
            http,
            base_url,
            retry,
        }
    }
}

impl UpstreamDirectory for IntercomDirectory {
    fn integration_key(&self) -> &'static str {
        KEY
    }

    fn has_usernames(&self) -> bool {
        false
    }

    fn list_users(
        &self,
        settings: &DirectorySettings<'_>,
    ) -> Result<Box<dyn UpstreamPages>, FetchError> {
        let token = settings
            .secrets
            .get("access_token")
            .filter(|token| !token.is_empty())
            .ok_or_else(|| FetchError::Misconfigured("Intercom needs an access token".into()))?;
        let region = settings.plain.get("region").and_then(Value::as_str);
        Ok(Box::new(AdminPages {
            http: self.http.clone(),
            retry: self.retry.clone(),
            url: format!("{}/admins", api_base(self.base_url.as_deref(), region)),
            token: SecretString::from(token.as_str()),
            done: false,
        }))
    }
}

/// `GET /admins` is not paginated: the whole list is one page.
struct AdminPages {
    http: reqwest::Client,
    retry: RetryPolicy,
    url: String,
    token: SecretString,
    done: bool,
}

/// What `GET /admins` answers. Entries stay raw until their `type` says they are admins: older
/// API versions mixed `team` entries into the list.
#[derive(Deserialize)]
struct AdminList {
    #[serde(rename = "type")]
    kind: String,
    admins: Option<Vec<Value>>,
}

#[derive(Deserialize)]
struct ListedAdmin {
    /// A string in the API; a number is read too.
    id: Value,
    name: Option<String>,
    email: Option<String>,
}

#[async_trait::async_trait]
impl UpstreamPages for AdminPages {
    async fn next_page(&mut self) -> Result<Option<Vec<UpstreamUser>>, FetchError> {
        if self.done {
            return Ok(None);
        }
        let list: AdminList = get_json(
            &self.http,
            &self.retry,
            &JsonGet {
                provider: "Intercom",
                url: &self.url,
                token: self.token.expose_secret(),
                headers: &[
                    ("Intercom-Version", API_VERSION),
                    ("Accept", "application/json"),
                ],
            },
        )
        .await?;
        let users = admins_of(list)?;
        self.done = true;
        Ok(Some(users))
    }
}

fn admins_of(list: AdminList) -> Result<Vec<UpstreamUser>, FetchError> {
    let invalid = |what: &str| FetchError::Invalid(format!("Intercom's admin list {what}"));
    if list.kind != "admin.list" {
        return Err(invalid("is not of type admin.list"));
    }
    let entries = list.admins.ok_or_else(|| invalid("has no admins field"))?;
    let non_empty = |text: Option<String>| text.filter(|text| !text.trim().is_empty());
    entries
        .into_iter()
        .filter(|entry| entry.get("type").and_then(Value::as_str) == Some("admin"))
        .map(|entry| {
            let admin: ListedAdmin = serde_json::from_value(entry)
                .map_err(|error| invalid(&format!("has an unreadable admin: {error}")))?;
            let external_id = match admin.id {
                Value::String(id) if !id.is_empty() => id,
                Value::Number(id) => id.to_string(),
                _ => return Err(invalid("has an admin without an id")),
            };
            Ok(UpstreamUser {
                external_id,
                username: None,
                email: non_empty(admin.email),
                display_name: non_empty(admin.name),
                first_name: None,
                last_name: None,
            })
        })
        .collect()
}
