//! Typed configuration: defaults, then an optional TOML file (`LIAISON_CONFIG`), then `LIAISON_*`
//! environment variables. Secrets are `SecretString`s, which never print.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    #[default]
    Development,
    Production,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// An external identity provider whose tokens Liaison accepts (API.md, "Who signs what").
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct IdentityProvider {
    /// The `iss` its tokens carry; it selects this provider.
    pub issuer: String,
    /// The `aud` its tokens must carry, when set.
    #[serde(default)]
    pub audience: Option<String>,
    /// A JWKS document on disk…
    #[serde(default)]
    pub jwks_file: Option<PathBuf>,
    /// …or at a URL, cached as its cache headers say.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// The claim holding Liaison's user id.
    #[serde(default = "default_user_claim")]
    pub user_id_claim: String,
    /// The claim holding Liaison's account id.
    #[serde(default = "default_account_claim")]
    pub account_id_claim: String,
    /// The least time between two JWKS fetches prompted by unknown key ids.
    #[serde(default = "default_refetch_seconds")]
    pub jwks_min_refetch_seconds: u64,
}

fn default_refetch_seconds() -> u64 {
    30
}

fn default_user_claim() -> String {
    "sub".into()
}

fn default_account_claim() -> String {
    "acc".into()
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Config {
    pub env: Environment,
    /// Database URL: `sqlite://path?mode=rwc` or `postgres://…`.
    pub database_url: Option<String>,
    pub database_max_connections: u32,
    pub bind: SocketAddr,
    /// The externally visible base URL (links in emails are built from it, never from `Host`).
    pub public_url: Option<String>,
    /// Liaison's own HS256 signing secret (at least 32 bytes).
    #[serde(skip_serializing)]
    pub jwt_secret: Option<SecretString>,
    /// Or a private key (PEM, RSA or EC P-256) with its public key, for RS256/ES256.
    pub jwt_private_key_file: Option<PathBuf>,
    pub jwt_public_key_file: Option<PathBuf>,
    /// `iss` of the tokens Liaison mints and expects of its own tokens.
    pub jwt_issuer: String,
    /// `aud` of the tokens Liaison mints and accepts.
    pub jwt_audience: String,
    /// Allowed clock skew for `exp` and `nbf`, in seconds.
    pub jwt_leeway_seconds: u64,
    pub identity_providers: Vec<IdentityProvider>,
    /// The integration catalog; the one shipped in the binary when unset.
    pub catalog_file: Option<PathBuf>,
    /// Where development keeps its generated secrets (default: beside the SQLite file).
    pub data_dir: Option<PathBuf>,
    pub graphiql: Option<bool>,
    pub introspection: Option<bool>,
    pub cors_allowed_origins: Vec<String>,
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_page_size: usize,
    pub max_body_bytes: usize,
    /// The limit of a multipart request (a CSV upload for a bulk job).
    pub max_upload_bytes: usize,
    pub max_batch: usize,
    pub request_timeout_seconds: u64,
    pub log_format: LogFormat,
    /// The key ring for secrets at rest: `k1:<base64 32 bytes>,k2:<…>`.
    #[serde(skip_serializing)]
    pub secret_keys: Option<SecretString>,
    /// Which key of the ring encrypts new values (default: the last one listed).
    pub secret_active_key: Option<String>,
    /// SMTP server: `smtp://user:pass@host:587?tls=required`, `smtps://…`, or `smtp://host:25`.
    #[serde(skip_serializing)]
    pub smtp_url: Option<SecretString>,
    /// The sender of every email.
    pub mail_from: String,
    /// Where development writes `.eml` files when no SMTP server is configured.
    pub mail_dir: Option<PathBuf>,
    /// The language of templates when the recipient's has no translation.
    pub default_language: String,
    /// Runs background jobs in this process.
    pub worker_enabled: bool,
    /// How often an idle worker looks for due jobs and schedules, in milliseconds.
    pub worker_poll_millis: u64,
    /// How long a claimed job stays leased before another worker may take it over.
    pub job_lease_seconds: u64,
    /// Emails account admins when their contact review falls due or required topics are empty.
    pub contact_reminders_enabled: bool,
    /// Recipients one notice fan-out step writes to the outbox in one transaction.
    pub notice_batch_size: u64,
    /// Intercom's API base URL for every region (a proxy, or a local test double); by the
    /// connection's region when unset.
    pub intercom_api_url: Option<String>,
    /// How long a connector check may wait for the provider, in seconds.
    pub connector_timeout_seconds: u64,
    /// Connection requests a user, and an account, may create per hour.
    pub connection_requests_per_user_per_hour: u32,
    pub connection_requests_per_account_per_hour: u32,
    /// Rows a bulk user job writes per transaction (each row under its own savepoint).
    pub bulk_chunk_rows: usize,
    /// How long one request of a user sync to the upstream may take, in seconds.
    pub sync_request_timeout_seconds: u64,
    /// Tries per upstream request before a sync run fails (429, 5xx and timeouts are retried).
    pub sync_retry_attempts: u32,
    /// The first retry's backoff, in milliseconds; doubled each retry, with jitter.
    pub sync_retry_base_millis: u64,
    /// The longest wait a sync honours for a rate limit (`Retry-After`, `X-RateLimit-Reset`).
    pub sync_max_wait_seconds: u64,
    /// Whether a directory's URL may point into the server's own networks (loopback, private
    /// addresses); unset: yes in development, no in production.
    pub sync_allow_private_addresses: Option<bool>,
    /// Rate limits; `false` switches every limit off (benchmarks).
    pub rate_limit_enabled: bool,
    pub rate_limit_per_ip_per_minute: u32,
    pub rate_limit_per_user_per_minute: u32,
    pub rate_limit_per_account_per_minute: u32,
    /// Requests per client address on the invitee route (`/connect/…`), which takes no login.
    pub rate_limit_invitee_per_ip_per_minute: u32,
    /// The window the limits count in, in seconds (60: per minute).
    pub rate_limit_window_seconds: u64,
    /// A header holding the client's address when a trusted proxy sets it (e.g. `x-forwarded-for`,
    /// first entry); otherwise the socket address is used.
    pub client_ip_header: Option<String>,
    /// Appends every SQL statement the server sends, with its values inlined, to this file: how
    /// the load benchmark captures the statements it replays as the database floor. Development
    /// only (values include hashed tokens and encrypted secrets); refused in production.
    pub statement_log: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            env: Environment::Development,
            database_url: None,
            database_max_connections: 10,
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            jwt_secret: None,
            jwt_private_key_file: None,
            jwt_public_key_file: None,
            jwt_issuer: "liaison".into(),
            jwt_audience: "liaison".into(),
            jwt_leeway_seconds: 60,
            identity_providers: Vec::new(),
            catalog_file: None,
            data_dir: None,
            graphiql: None,
            introspection: None,
            cors_allowed_origins: Vec::new(),
            max_depth: 12,
            max_complexity: 1000,
            max_page_size: 100,
            max_body_bytes: 1024 * 1024,
            max_upload_bytes: 10 * 1024 * 1024,
            max_batch: 10,
            request_timeout_seconds: 30,
            log_format: LogFormat::Text,
            secret_keys: None,
            secret_active_key: None,
            smtp_url: None,
            mail_from: "Liaison <no-reply@localhost>".into(),
            mail_dir: None,
            default_language: "en".into(),
            worker_enabled: true,
            contact_reminders_enabled: true,
            notice_batch_size: 200,
            worker_poll_millis: 1000,
            job_lease_seconds: 60,
            rate_limit_enabled: true,
            rate_limit_per_ip_per_minute: 600,
            rate_limit_per_user_per_minute: 600,
            rate_limit_per_account_per_minute: 3000,
            rate_limit_invitee_per_ip_per_minute: 30,
            intercom_api_url: None,
            connector_timeout_seconds: 10,
            connection_requests_per_user_per_hour: 20,
            connection_requests_per_account_per_hour: 100,
            bulk_chunk_rows: 200,
            sync_request_timeout_seconds: 30,
            sync_retry_attempts: 4,
            sync_retry_base_millis: 500,
            sync_max_wait_seconds: 60,
            sync_allow_private_addresses: None,
            rate_limit_window_seconds: 60,
            client_ip_header: None,
            statement_log: None,
        }
    }
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Invalid(String),
    #[error(
        "refusing to start in production on development defaults; set: {}",
        .0.join("; ")
    )]
    ProductionDefaults(Vec<String>),
}

impl From<figment::Error> for ConfigError {
    fn from(error: figment::Error) -> Self {
        ConfigError::Invalid(error.to_string())
    }
}

/// The SQLite file used when no database is configured.
pub const DEFAULT_SQLITE_FILE: &str = "liaison.db";

impl Config {
    /// Reads defaults, the optional file named by `LIAISON_CONFIG`, then `LIAISON_*` variables.
    pub fn load() -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Ok(path) = std::env::var("LIAISON_CONFIG") {
            figment = figment.merge(Toml::file_exact(path));
        }
        let config: Config = figment
            .merge(Env::prefixed("LIAISON_").ignore(&["CONFIG", "TEST_DATABASE_URL"]))
            .extract()?;
        config.check()?;
        Ok(config)
    }

    pub fn is_production(&self) -> bool {
        self.env == Environment::Production
    }

    /// The database URL, defaulting to a SQLite file in the working directory.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{DEFAULT_SQLITE_FILE}?mode=rwc"))
    }

    /// Where development-generated secrets live: the configured folder, or beside the SQLite
    /// file, or `.liaison/` in the working directory for a server database.
    pub fn data_dir(&self) -> PathBuf {
        if let Some(dir) = &self.data_dir {
            return dir.clone();
        }
        let url = self.database_url();
        match sqlite_path(&url) {
            Some(path) => path
                .parent()
                .filter(|parent| !parent.as_os_str().is_empty())
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from(".")),
            None => PathBuf::from(".liaison"),
        }
    }

    pub fn graphiql_enabled(&self) -> bool {
        self.graphiql.unwrap_or(!self.is_production())
    }

    pub fn introspection_enabled(&self) -> bool {
        self.introspection.unwrap_or(!self.is_production())
    }

    /// The public base URL without a trailing slash.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind))
            .trim_end_matches('/')
            .to_owned()
    }

    /// Refuses settings that cannot work, and in production every development default.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.max_page_size == 0 || self.max_page_size > 1000 {
            return Err(ConfigError::Invalid(
                "LIAISON_MAX_PAGE_SIZE must be between 1 and 1000".into(),
            ));
        }
        if let Some(secret) = &self.jwt_secret
            && secret.expose_secret().len() < 32
        {
            return Err(ConfigError::Invalid(
                "LIAISON_JWT_SECRET must be at least 32 bytes".into(),
            ));
        }
        if self.jwt_private_key_file.is_some() != self.jwt_public_key_file.is_some() {
            return Err(ConfigError::Invalid(
                "LIAISON_JWT_PRIVATE_KEY_FILE and LIAISON_JWT_PUBLIC_KEY_FILE go together".into(),
            ));
        }
        for provider in &self.identity_providers {
            if provider.jwks_file.is_some() == provider.jwks_url.is_some() {
                return Err(ConfigError::Invalid(format!(
                    "identity provider {} needs exactly one of jwks_file and jwks_url",
                    provider.issuer
                )));
            }
        }
        if !self.is_production() {
            return Ok(());
        }
        if self.statement_log.is_some() {
            return Err(ConfigError::Invalid(
                "LIAISON_STATEMENT_LOG is a development tool and is refused in production".into(),
            ));
        }
        let mut missing = Vec::new();
        if self.jwt_secret.is_none() && self.jwt_private_key_file.is_none() {
            missing.push(
                "a signing key: LIAISON_JWT_SECRET (32+ random bytes) or \
                 LIAISON_JWT_PRIVATE_KEY_FILE with LIAISON_JWT_PUBLIC_KEY_FILE"
                    .to_owned(),
            );
        }
        if self.database_url.is_none() {
            missing.push("LIAISON_DATABASE_URL (no default database in production)".to_owned());
        }
        if self.public_url.is_none() {
            missing.push("LIAISON_PUBLIC_URL (the externally visible base URL)".to_owned());
        }
        if self.secret_keys.is_none() {
            missing.push(
                "LIAISON_SECRET_KEYS (the key ring for secrets at rest: k1:<base64 of 32 bytes>)"
                    .to_owned(),
            );
        }
        if self.smtp_url.is_none() {
            missing.push("LIAISON_SMTP_URL (the SMTP server that delivers email)".to_owned());
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::ProductionDefaults(missing))
        }
    }
}

/// The file path of a `sqlite:` URL, if it is one (and not in memory).
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(PathBuf::from(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statement_log_is_refused_in_production_and_allowed_in_development() {
        let development = Config {
            statement_log: Some(PathBuf::from("statements.sql")),
            ..Config::default()
        };
        let production = Config {
            env: Environment::Production,
            ..development.clone()
        };

        assert!(development.check().is_ok());
        let message = production.check().unwrap_err().to_string();
        assert!(message.contains("LIAISON_STATEMENT_LOG"), "{message}");
    }

    #[test]
    fn production_names_every_missing_setting() {
        let config = Config {
            env: Environment::Production,
            ..Config::default()
        };
        let message = config.check().unwrap_err().to_string();
        assert!(message.contains("LIAISON_JWT_SECRET"), "{message}");
        assert!(message.contains("LIAISON_DATABASE_URL"), "{message}");
        assert!(message.contains("LIAISON_PUBLIC_URL"), "{message}");
        assert!(message.contains("LIAISON_SECRET_KEYS"), "{message}");
        assert!(message.contains("LIAISON_SMTP_URL"), "{message}");
    }

    #[test]
    fn short_secrets_are_refused() {
        let config = Config {
            jwt_secret: Some(SecretString::from("short")),
            ..Config::default()
        };
        assert!(config.check().is_err());
    }

    #[test]
    fn sqlite_paths_are_found() {
        assert_eq!(
            sqlite_path("sqlite://data/liaison.db?mode=rwc"),
            Some(PathBuf::from("data/liaison.db"))
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://localhost/liaison"), None);
    }
}
