//! Upstream directories: where a user sync reads the complete user list of an account's
//! directory, page by page, so memory stays flat however many users there are. Nothing is ever
//! written upstream. One module per provider implements [`UpstreamDirectory`]; [`get_json`] is
//! the one place that talks HTTP to them and decides what is worth retrying.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use thiserror::Error;

use super::intercom::IntercomDirectory;
use super::scim::ScimDirectory;
pub use crate::domain::sync::UpstreamUser;

/// Why a fetch did not complete. Messages name no secret and no token.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FetchError {
    /// 401/403: the credentials are refused (the caller marks the source AUTH_FAILED).
    #[error("{0}")]
    Unauthorized(String),
    /// Still rate-limited / 5xx / timeout / network after the retries the policy allows.
    #[error("{0}")]
    Unavailable(String),
    /// The answer does not follow the provider's API (bad JSON, a page missing, totals that do
    /// not add up): the listing is incomplete and must not be taken as the upstream's truth.
    #[error("{0}")]
    Invalid(String),
    /// The settings are missing something (no token, no base URL).
    #[error("{0}")]
    Misconfigured(String),
}

/// How transient failures are retried inside one fetch.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Tries per request, the first included.
    pub attempts: u32,
    /// The first backoff; doubled each retry, with jitter.
    pub base_delay: Duration,
    /// The longest wait honoured, for a 429 as for a backoff; a 429 asking for more fails the
    /// fetch at once rather than holding a sync for longer.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            base_delay: Duration::from_millis(500),
            max_wait: Duration::from_secs(60),
        }
    }
}

/// The connection settings a provider reads: plain values and decrypted secrets.
pub struct DirectorySettings<'a> {
    pub plain: &'a Map<String, Value>,
    pub secrets: &'a BTreeMap<String, String>,
}

/// A fetch in progress: pages in upstream order; `Ok(None)` once the listing is complete.
///
/// A page may be empty (every user on it was dropped, e.g. inactive). When the upstream changes
/// during a listing, a user may be listed twice; a change that could hide a user fails the fetch
/// with [`FetchError::Invalid`] instead, because a missing user would read as deleted upstream.
#[async_trait::async_trait]
pub trait UpstreamPages: Send {
    async fn next_page(&mut self) -> Result<Option<Vec<UpstreamUser>>, FetchError>;
}

/// A provider of upstream users.
#[async_trait::async_trait]
pub trait UpstreamDirectory: Send + Sync {
    /// The catalog key of the integration whose connection holds the settings ("intercom", "scim").
    fn integration_key(&self) -> &'static str;
    /// Whether the upstream has usernames (Intercom has none; SCIM has userName).
    fn has_usernames(&self) -> bool;
    /// Starts a listing. Takes owned copies of what it needs from the settings, so the pages
    /// outlive them; no request is sent before the first `next_page`.
    fn list_users(
        &self,
        settings: &DirectorySettings<'_>,
    ) -> Result<Box<dyn UpstreamPages>, FetchError>;
}

/// The directories by catalog key, as [`super::Connectors`] holds the checks.
#[derive(Clone, Default)]
pub struct Directories(HashMap<&'static str, Arc<dyn UpstreamDirectory>>);

impl Directories {
    /// Every provider, sharing one HTTP client; `intercom_base_url` replaces Intercom's regional
    /// host (a proxy or a test double).
    /// `private_addresses`: whether a SCIM base URL may point into the server's own networks
    /// (development and tests; never in production unless an operator says so).
    pub fn new(
        http: reqwest::Client,
        intercom_base_url: Option<String>,
        retry: RetryPolicy,
        private_addresses: bool,
    ) -> Self {
        let providers: [Arc<dyn UpstreamDirectory>; 2] = [
            Arc::new(IntercomDirectory::new(
                http.clone(),
                intercom_base_url,
                retry.clone(),
            )),
            Arc::new(ScimDirectory::new(http, retry).public_only(!private_addresses)),
        ];
        Self(
            providers
                .into_iter()
                .map(|provider| (provider.integration_key(), provider))
                .collect(),
        )
    }

    pub fn get(&self, integration_key: &str) -> Option<Arc<dyn UpstreamDirectory>> {
        self.0.get(integration_key).cloned()
    }

    /// The integration keys a sync can read from, sorted.
    pub fn keys(&self) -> Vec<&'static str> {
        let mut keys: Vec<&'static str> = self.0.keys().copied().collect();
        keys.sort_unstable();
        keys
    }
}

/// One authenticated GET against a provider's API.
pub struct JsonGet<'a> {
    /// Names the provider in error messages and logs ("Intercom").
    pub provider: &'static str,
    /// Carries no secret: tokens travel in headers only.
    pub url: &'a str,
    pub token: &'a str,
    pub headers: &'a [(&'static str, &'static str)],
}

/// What one try of a request came to, short of a body.
enum Failure {
    /// Retrying cannot help.
    Final(FetchError),
    /// Worth another try, after `wait` (the backoff when `None`).
    Transient {
        reason: String,
        wait: Option<Duration>,
    },
}

/// GETs `request.url` with a bearer token and parses the JSON answer, retrying as `retry`
/// allows: a 429 waits as long as the provider asks (`Retry-After`, else `X-RateLimit-Reset`,
/// else the backoff), 5xx and network failures back off exponentially; 401/403 are
/// [`FetchError::Unauthorized`] at once, other 4xx [`FetchError::Invalid`].
pub async fn get_json<T: DeserializeOwned>(
    http: &reqwest::Client,
    retry: &RetryPolicy,
    request: &JsonGet<'_>,
) -> Result<T, FetchError> {
    let attempts = retry.attempts.max(1);
    let mut attempt = 1;
    loop {
        let (reason, wait) = match try_once(http, request, retry).await {
            Ok(value) => return Ok(value),
            Err(Failure::Final(error)) => return Err(error),
            Err(Failure::Transient { reason, wait }) => (reason, wait),
        };
        if attempt >= attempts {
            return Err(FetchError::Unavailable(format!(
                "{} could not be read after {attempts} attempts: {reason}",
                request.provider
            )));
        }
        let wait = wait.unwrap_or_else(|| backoff(retry, attempt));
        tracing::warn!(
            provider = request.provider,
            attempt,
            attempts,
            wait = ?wait,
            %reason,
            "upstream request failed; retrying"
        );
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

async fn try_once<T: DeserializeOwned>(
    http: &reqwest::Client,
    request: &JsonGet<'_>,
    retry: &RetryPolicy,
) -> Result<T, Failure> {
    let provider = request.provider;
    let mut builder = http.get(request.url).bearer_auth(request.token);
    for (name, value) in request.headers {
        builder = builder.header(*name, *value);
    }
    let response = builder.send().await.map_err(|error| {
        if error.is_builder() {
            Failure::Final(FetchError::Misconfigured(format!(
                "the {provider} address in the connection settings is not a valid URL"
            )))
        } else {
            Failure::Transient {
                reason: describe(error),
                wait: None,
            }
        }
    })?;
    let status = response.status();
    if status.is_success() {
        let body = response.bytes().await.map_err(|error| Failure::Transient {
            reason: describe(error),
            wait: None,
        })?;
        return serde_json::from_slice(&body).map_err(|error| {
            Failure::Final(FetchError::Invalid(format!(
                "{provider} answered with JSON that does not follow its API: {error}"
            )))
        });
    }
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            Err(Failure::Final(FetchError::Unauthorized(format!(
                "{provider} refused the credentials ({status}): check the token in the connection settings"
            ))))
        }
        StatusCode::TOO_MANY_REQUESTS => {
            let wait = rate_limit_wait(response.headers(), Utc::now());
            match wait {
                Some(wait) if wait > retry.max_wait => {
                    Err(Failure::Final(FetchError::Unavailable(format!(
                        "{provider} is rate-limiting and asks to wait {}s, longer than a sync waits",
                        wait.as_secs()
                    ))))
                }
                wait => Err(Failure::Transient {
                    reason: format!("rate-limited ({status})"),
                    wait,
                }),
            }
        }
        status if status.is_server_error() => Err(Failure::Transient {
            reason: format!("server error ({status})"),
            wait: None,
        }),
        status => Err(Failure::Final(FetchError::Invalid(format!(
            "{provider} answered {status}, which its API does not give for this request"
        )))),
    }
}

/// A reqwest error as a log line: no URL (it may carry a host an operator did not mean to
/// share), no headers.
fn describe(error: reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connect() {
        "could not connect".into()
    } else {
        error.without_url().to_string()
    }
}

/// `base_delay · 2^(attempt-1)`, the upper half jittered so that parallel syncs hit by the
/// same outage do not retry in step; never above `max_wait`.
fn backoff(retry: &RetryPolicy, attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
    let full = retry.base_delay.saturating_mul(factor).min(retry.max_wait);
    let half = full / 2;
    let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
    half + Duration::from_millis(rand::random_range(0..=jitter_ms))
}

/// How long a 429 asks to wait: `Retry-After` (seconds or an HTTP date, RFC 9110 §10.2.3),
/// else `X-RateLimit-Reset` (the unix second the window resets, as Intercom documents).
fn rate_limit_wait(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
    };
    if let Some(value) = header(RETRY_AFTER.as_str()) {
        if let Ok(seconds) = value.parse::<u64>() {
            return Some(Duration::from_secs(seconds));
        }
        if let Ok(date) = DateTime::parse_from_rfc2822(value) {
            return Some(until(date.with_timezone(&Utc), now));
        }
    }
    let reset = header("x-ratelimit-reset")?.parse::<i64>().ok()?;
    Some(until(DateTime::from_timestamp(reset, 0)?, now))
}

/// The time from `now` to `at`; zero once it has passed.
fn until(at: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (at - now).to_std().unwrap_or(Duration::ZERO)
}

/// Refuses a URL whose host is, or resolves to, an address of the server's own networks
/// (loopback, private, link-local, shared, …): a URL a connector typed must not reach services
/// that only the server can (SSRF). The check runs before the first request of a listing.
pub async fn ensure_public(url: &str) -> Result<(), FetchError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|_| FetchError::Misconfigured("the directory URL is not valid".into()))?;
    let host = parsed
        .host_str()
        .ok_or_else(|| FetchError::Misconfigured("the directory URL names no host".into()))?
        .trim_matches(['[', ']'])
        .to_owned();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addresses: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|_| FetchError::Unavailable(format!("{host} could not be resolved")))?
        .collect();
    if addresses.is_empty() {
        return Err(FetchError::Unavailable(format!(
            "{host} could not be resolved"
        )));
    }
    if addresses.iter().any(|address| !is_public(address.ip())) {
        return Err(FetchError::Misconfigured(format!(
            "{host} is an address of a private network, which a directory may not use"
        )));
    }
    Ok(())
}

/// Whether `ip` is reachable on the public internet (not loopback, private, link-local,
/// shared, documentation, multicast or reserved).
pub fn is_public(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first == 0x2001 && v6.segments()[1] == 0x0db8))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().expect("header value"));
        }
        map
    }

    fn at(unix: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(unix, 0).expect("timestamp")
    }

    #[test]
    fn retry_after_in_seconds_wins_over_the_reset_header() {
        let wait = rate_limit_wait(
            &headers(&[("retry-after", "7"), ("x-ratelimit-reset", "1000000100")]),
            at(1_000_000_000),
        );
        assert_eq!(wait, Some(Duration::from_secs(7)));
    }

    #[test]
    fn retry_after_as_an_http_date_waits_until_that_date() {
        // 1445412480 is Wed, 21 Oct 2015 07:28:00 GMT.
        let wait = rate_limit_wait(
            &headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]),
            at(1_445_412_480 - 30),
        );
        assert_eq!(wait, Some(Duration::from_secs(30)));
    }

    #[test]
    fn the_reset_header_is_a_unix_second_and_a_past_one_waits_nothing() {
        let now = at(1_000_000_000);
        let ahead = rate_limit_wait(&headers(&[("x-ratelimit-reset", "1000000002")]), now);
        assert_eq!(ahead, Some(Duration::from_secs(2)));
        let past = rate_limit_wait(&headers(&[("x-ratelimit-reset", "999999990")]), now);
        assert_eq!(past, Some(Duration::ZERO));
        assert_eq!(rate_limit_wait(&HeaderMap::new(), now), None);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_stays_under_the_cap() {
        let retry = RetryPolicy {
            attempts: 10,
            base_delay: Duration::from_millis(100),
            max_wait: Duration::from_millis(500),
        };
        for _ in 0..50 {
            let first = backoff(&retry, 1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = backoff(&retry, 3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            assert!(backoff(&retry, 9) <= Duration::from_millis(500));
        }
    }

    #[test]
    fn only_public_addresses_count_as_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}
