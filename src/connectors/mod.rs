//! Connector checks: before a connection is saved, the provider itself may be asked whether the
//! credentials work, so a typo is reported to whoever typed it instead of failing later in a
//! background sync. One check per provider that offers a cheap authenticated call.

pub mod intercom;
pub mod scim;
pub mod upstream;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use thiserror::Error;

use crate::config::Config;

/// The settings a check sees: the plain values and the secrets, already validated.
pub struct CheckedSettings<'a> {
    pub plain: &'a Map<String, Value>,
    pub secrets: &'a BTreeMap<String, String>,
}

/// Why a check failed. The text is shown to the connector: it names no secret.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CheckFailure {
    /// The provider refused the credentials.
    #[error("{0}")]
    Rejected(String),
    /// The provider could not be asked (network, timeout, unexpected answer).
    #[error("{0}")]
    Unavailable(String),
}

impl CheckFailure {
    /// The `userErrors` code.
    pub fn code(&self) -> &'static str {
        match self {
            CheckFailure::Rejected(_) => "CREDENTIALS_REJECTED",
            CheckFailure::Unavailable(_) => "PROVIDER_UNAVAILABLE",
        }
    }
}

/// A provider's credential check.
#[async_trait::async_trait]
pub trait ConnectorCheck: Send + Sync {
    async fn verify(&self, settings: &CheckedSettings<'_>) -> Result<(), CheckFailure>;
}

/// The checks by catalog key; integrations without one connect after schema validation alone.
#[derive(Clone, Default)]
pub struct Connectors(HashMap<&'static str, Arc<dyn ConnectorCheck>>);

impl Connectors {
    pub fn from_config(config: &Config) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.connector_timeout_seconds.max(1)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        let mut checks: HashMap<&'static str, Arc<dyn ConnectorCheck>> = HashMap::new();
        checks.insert(
            intercom::KEY,
            Arc::new(intercom::IntercomCheck::new(
                http,
                config.intercom_api_url.clone(),
            )),
        );
        Self(checks)
    }

    pub fn check(&self, integration_key: &str) -> Option<&Arc<dyn ConnectorCheck>> {
        self.0.get(integration_key)
    }
}
