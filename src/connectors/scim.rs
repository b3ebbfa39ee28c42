//! SCIM 2.0 (RFC 7643/7644): any directory that serves `GET {base_url}/Users` as a ListResponse,
//! read with index paging (RFC 7644 §3.4.2.4, 1-based `startIndex`). Index paging shifts when
//! users are deleted during the listing, so a shrinking `totalResults` fails the fetch rather than
//! let a skipped user read as deleted; a growing one only repeats users, which is harmless.
//!
//! Inactive users (`active: false`) are left out of the listing: for a sync, a user the
//! directory deactivated is gone upstream.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

use super::upstream::{
    DirectorySettings, FetchError, JsonGet, RetryPolicy, UpstreamDirectory, UpstreamPages,
    UpstreamUser, ensure_public, get_json,
};

pub const KEY: &str = "scim";
/// Users asked for per page unless the connection's `page_size` says otherwise.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// The catalog's bound for `page_size`.
const MAX_PAGE_SIZE: u32 = 1000;
/// The catalog's names for the settings read here.
const BASE_URL: &str = "base_url";
const TOKEN: &str = "bearer_token";
const PAGE_SIZE: &str = "page_size";
const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

pub struct ScimDirectory {
    http: reqwest::Client,
    retry: RetryPolicy,
    /// Used when the connection sets no `page_size`.
    page_size: u32,
    /// Refuse base URLs on the server's own networks (a URL a connector typed must not reach
    /// inside them).
    public_only: bool,
}

impl ScimDirectory {
    pub fn new(http: reqwest::Client, retry: RetryPolicy) -> Self {
        Self::with_page_size(http, retry, DEFAULT_PAGE_SIZE)
    }

    /// A directory asking for `page_size` users per page (kept within 1..=1000).
    pub fn with_page_size(http: reqwest::Client, retry: RetryPolicy, page_size: u32) -> Self {
        Self {
            http,
            retry,
            page_size: page_size.clamp(1, MAX_PAGE_SIZE),
            public_only: false,
        }
    }

    /// With `true`, a base URL that is or resolves to a loopback, private or link-local address
    /// fails the fetch (see [`ensure_public`]).
    pub fn public_only(mut self, public_only: bool) -> Self {
        self.public_only = public_only;
        self
    }
}

impl UpstreamDirectory for ScimDirectory {
    fn integration_key(&self) -> &'static str {
        KEY
    }

    fn has_usernames(&self) -> bool {
        true
    }

    fn list_users(
        &self,
        settings: &DirectorySettings<'_>,
    ) -> Result<Box<dyn UpstreamPages>, FetchError> {
        let base_url = settings
            .plain
            .get(BASE_URL)
            .and_then(Value::as_str)
            .map(|url| url.trim().trim_end_matches('/'))
            .filter(|url| !url.is_empty())
            .ok_or_else(|| {
                FetchError::Misconfigured("SCIM needs the directory's base URL".into())
            })?;
        match reqwest::Url::parse(base_url) {
            Ok(url) if matches!(url.scheme(), "https" | "http") && url.query().is_none() => {}
            _ => {
                return Err(FetchError::Misconfigured(
                    "the SCIM base URL is not an http(s) address without a query".into(),
                ));
            }
        }
        let token = settings
            .secrets
            .get(TOKEN)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| FetchError::Misconfigured("SCIM needs a bearer token".into()))?;
        let page_size =
            settings
                .plain
                .get(PAGE_SIZE)
                .and_then(whole_number)
                .map_or(self.page_size, |size| {
                    u32::try_from(size)
                        .unwrap_or(MAX_PAGE_SIZE)
                        .clamp(1, MAX_PAGE_SIZE)
                });
        Ok(Box::new(UserPages {
            http: self.http.clone(),
            retry: self.retry.clone(),
            users_url: format!("{base_url}/Users"),
            token: SecretString::from(token.as_str()),
            page_size,
            next_index: 1,
            total: None,
            public_only: self.public_only,
        }))
    }
}

/// A NUMBER setting may arrive as `100` or `100.0`.
fn whole_number(value: &Value) -> Option<u64> {
    value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|n| n.fract() == 0.0 && *n >= 1.0 && *n <= f64::from(MAX_PAGE_SIZE))
            .map(|n| n as u64)
    })
}

struct UserPages {
    http: reqwest::Client,
    retry: RetryPolicy,
    users_url: String,
    token: SecretString,
    page_size: u32,
    /// The `startIndex` of the next request.
    next_index: u64,
    /// `totalResults` of the last page; `None` before the first.
    total: Option<u64>,
    /// Checked before the first request.
    public_only: bool,
}

/// A ListResponse (RFC 7644 §3.4.2), with what we read.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListResponse {
    #[serde(default)]
    schemas: Option<Vec<String>>,
    total_results: Option<u64>,
    start_index: Option<u64>,
    /// Absent when empty.
    #[serde(rename = "Resources", default)]
    resources: Option<Vec<ScimUser>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScimUser {
    id: Option<String>,
    user_name: Option<String>,
    display_name: Option<String>,
    name: Option<Name>,
    emails: Option<Vec<Email>>,
    /// Absent means active: the attribute is optional in RFC 7643.
    active: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Name {
    formatted: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
}

#[derive(Deserialize)]
struct Email {
    value: Option<String>,
    primary: Option<bool>,
}

#[async_trait::async_trait]
impl UpstreamPages for UserPages {
    async fn next_page(&mut self) -> Result<Option<Vec<UpstreamUser>>, FetchError> {
        if self.total.is_some_and(|total| self.next_index > total) {
            return Ok(None);
        }
        if self.public_only && self.total.is_none() {
            ensure_public(&self.users_url).await?;
        }
        let url = format!(
            "{}?startIndex={}&count={}",
            self.users_url, self.next_index, self.page_size
        );
        let page: ListResponse = get_json(
            &self.http,
            &self.retry,
            &JsonGet {
                provider: "The SCIM directory",
                url: &url,
                token: self.token.expose_secret(),
                headers: &[("Accept", "application/scim+json, application/json")],
            },
        )
        .await?;
        let received = self.check(&page)?;
        self.next_index += received;
        self.total = page.total_results;
        page.resources
            .unwrap_or_default()
            .into_iter()
            .filter(|user| user.active != Some(false))
            .map(user_of)
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

impl UserPages {
    /// Whether `page` continues the listing where the last one stopped; the number of users it
    /// brings.
    fn check(&self, page: &ListResponse) -> Result<u64, FetchError> {
        let invalid = |what: String| FetchError::Invalid(format!("the SCIM directory {what}"));
        if let Some(schemas) = &page.schemas
            && !schemas.iter().any(|schema| schema == LIST_RESPONSE)
        {
            return Err(invalid(
                "answered /Users with something else than a ListResponse".into(),
            ));
        }
        let total = page
            .total_results
            .ok_or_else(|| invalid("left totalResults out of a ListResponse".into()))?;
        if let Some(previous) = self.total
            && total < previous
        {
            return Err(invalid(format!(
                "lost users during the listing ({previous} then {total}), so some could have been \
                 skipped; the next sync reads it again"
            )));
        }
        if let Some(start) = page.start_index
            && start != self.next_index
        {
            return Err(invalid(format!(
                "answered startIndex {start} when asked for {}",
                self.next_index
            )));
        }
        let received = page.resources.as_ref().map_or(0, Vec::len) as u64;
        if received == 0 && self.next_index <= total {
            return Err(invalid(format!(
                "sent no users from index {} although it counts {total}",
                self.next_index
            )));
        }
        Ok(received)
    }
}

fn user_of(user: ScimUser) -> Result<UpstreamUser, FetchError> {
    let non_empty = |text: Option<String>| text.filter(|text| !text.trim().is_empty());
    let external_id = non_empty(user.id).ok_or_else(|| {
        FetchError::Invalid("the SCIM directory listed a user without an id".into())
    })?;
    let (formatted, given, family) = match user.name {
        Some(name) => (name.formatted, name.given_name, name.family_name),
        None => (None, None, None),
    };
    let mut emails = user
        .emails
        .unwrap_or_default()
        .into_iter()
        .filter(|email| email.value.as_deref().is_some_and(|v| !v.trim().is_empty()));
    let first = emails.next();
    let email = match first {
        Some(first) if first.primary == Some(true) => Some(first),
        first => emails.find(|email| email.primary == Some(true)).or(first),
    }
    .and_then(|email| email.value);
    Ok(UpstreamUser {
        external_id,
        username: non_empty(user.user_name),
        email,
        display_name: non_empty(user.display_name).or(non_empty(formatted)),
        first_name: non_empty(given),
        last_name: non_empty(family),
    })
}
