//! Intercom: `GET /me` with the access token identifies the admin the token belongs to; a 401
//! means the token is wrong. The API version is pinned, so an upgrade on Intercom's side cannot
//! change the answer under us.

use reqwest::StatusCode;
use serde::Deserialize;

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

    /// The API host of a workspace's region.
    fn base_url(&self, region: Option<&str>) -> String {
        if let Some(base) = &self.base_url {
            return base.trim_end_matches('/').to_owned();
        }
        match region {
            Some("eu") => "https://api.eu.intercom.io".into(),
            Some("au") => "https://api.au.intercom.io".into(),
            _ => "https://api.intercom.io".into(),
        }
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
        let url = format!("{}/me", self.base_url(region));
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
