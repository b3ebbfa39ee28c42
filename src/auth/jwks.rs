//! JSON Web Key Sets of external identity providers: from a file, or from a URL cached for as
//! long as its `Cache-Control: max-age` says, and re-fetched when a
//! token names a key id the cached set lacks (at most every `jwks_min_refetch_seconds`, 30 by
//! default).

use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::JwkSet;
use tokio::sync::Mutex;

use super::tokens::TokenError;
use crate::config::IdentityProvider;

const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);
const MAX_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

pub enum JwksKeys {
    Static(JwkSet),
    Remote(RemoteKeys),
}

pub struct RemoteKeys {
    url: String,
    min_refetch: Duration,
    client: reqwest::Client,
    state: Mutex<Cached>,
}

#[derive(Default)]
struct Cached {
    set: Option<JwkSet>,
    fresh_until: Option<Instant>,
    last_fetch: Option<Instant>,
}

impl JwksKeys {
    pub fn from_config(provider: &IdentityProvider) -> Result<Self, String> {
        if let Some(path) = &provider.jwks_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read JWKS file {}: {e}", path.display()))?;
            let set: JwkSet = serde_json::from_str(&text)
                .map_err(|e| format!("JWKS file {} is invalid: {e}", path.display()))?;
            return Ok(JwksKeys::Static(set));
        }
        let url = provider
            .jwks_url
            .clone()
            .ok_or_else(|| format!("identity provider {} has no JWKS", provider.issuer))?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| format!("cannot build the JWKS client: {e}"))?;
        Ok(JwksKeys::Remote(RemoteKeys {
            url,
            min_refetch: Duration::from_secs(provider.jwks_min_refetch_seconds),
            client,
            state: Mutex::new(Cached::default()),
        }))
    }

    /// The decoding key with this `kid`.
    pub async fn key(&self, kid: &str) -> Result<DecodingKey, TokenError> {
        match self {
            JwksKeys::Static(set) => decoding_key(set, kid),
            JwksKeys::Remote(remote) => remote.key(kid).await,
        }
    }
}

fn decoding_key(set: &JwkSet, kid: &str) -> Result<DecodingKey, TokenError> {
    let jwk = set.find(kid).ok_or(TokenError::UnknownKey)?;
    DecodingKey::from_jwk(jwk).map_err(|_| TokenError::UnknownKey)
}

impl RemoteKeys {
    async fn key(&self, kid: &str) -> Result<DecodingKey, TokenError> {
        let mut cached = self.state.lock().await;
        let now = Instant::now();
        let fresh = cached.fresh_until.is_some_and(|until| now < until);
        let known = cached
            .set
            .as_ref()
            .is_some_and(|set| set.find(kid).is_some());
        let may_refetch = cached
            .last_fetch
            .is_none_or(|last| now.duration_since(last) >= self.min_refetch);
        if (!fresh || !known) && may_refetch {
            cached.last_fetch = Some(now);
            match self.fetch().await {
                Ok((set, max_age)) => {
                    cached.set = Some(set);
                    cached.fresh_until = Some(now + max_age);
                }
                Err(error) => {
                    tracing::warn!(url = %self.url, %error, "JWKS fetch failed; keeping the cached keys");
                }
            }
        }
        match &cached.set {
            Some(set) => decoding_key(set, kid),
            None => Err(TokenError::KeysUnavailable),
        }
    }

    async fn fetch(&self) -> Result<(JwkSet, Duration), String> {
        let response = self
            .client
            .get(&self.url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| e.without_url().to_string())?;
        let max_age = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|value| value.to_str().ok())
            .and_then(max_age)
            .unwrap_or(DEFAULT_MAX_AGE)
            .min(MAX_MAX_AGE);
        let set = response
            .json::<JwkSet>()
            .await
            .map_err(|e| e.without_url().to_string())?;
        Ok((set, max_age))
    }
}

/// `max-age` of a `Cache-Control` header; `no-store`/`no-cache` mean zero.
fn max_age(header: &str) -> Option<Duration> {
    header.split(',').map(str::trim).find_map(|directive| {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(Duration::ZERO);
        }
        lower
            .strip_prefix("max-age=")
            .and_then(|seconds| seconds.trim_matches('"').parse().ok())
            .map(Duration::from_secs)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_max_age_is_read() {
        assert_eq!(
            max_age("public, max-age=600"),
            Some(Duration::from_secs(600))
        );
        assert_eq!(max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(max_age("public"), None);
    }
}
