//! Building and running the application: connect, migrate, load the catalog, wire the schema and
//! the router, bind. Tests build it the same way on port 0.

use std::collections::HashSet;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use chrono::Duration;
use secrecy::SecretString;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::tokens::{MintRequest, TokenKind, Tokens};
use crate::clock::{SharedClock, SystemClock};
use crate::config::Config;
use crate::connectors::Connectors;
use crate::connectors::upstream::{Directories, RetryPolicy};
use crate::crypto::keyring::KeyRing;
use crate::domain::catalog::{BUILT_IN, Catalog};
use crate::domain::permission::ScopeSet;
use crate::graphql::{self, SchemaSettings};
use crate::http::metrics::Metrics;
use crate::http::rate_limit::RateLimits;
use crate::http::state::{AppState, HttpSettings, SharedState};
use crate::jobs::{self, Handlers, worker::Worker};
use crate::mail::outbox::Mailer;
use crate::mail::templates::Templates;
use crate::mail::transport::MailTransport;
use crate::service::accounts::DEMO_SLUG;
use crate::service::{ServiceSettings, Services};
use crate::store::{self, StatementCounter};

#[derive(Debug, Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Catalog(#[from] crate::domain::catalog::CatalogError),
    #[error("signing keys: {0}")]
    Keys(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("mail: {0}")]
    Mail(String),
    #[error("first run: {0}")]
    FirstRun(#[from] crate::error::AppError),
}

/// The database, catalog and signing keys: what the server and the CLI both need.
pub struct Core {
    pub services: Services,
    pub tokens: Arc<Tokens>,
    pub statements: Arc<StatementCounter>,
}

impl Core {
    /// Connects, applies pending migrations and mirrors the catalog.
    pub async fn open(config: &Config, clock: SharedClock) -> Result<Self, StartupError> {
        let statements = Arc::new(match &config.statement_log {
            Some(path) => StatementCounter::logging_to(path)?,
            None => StatementCounter::default(),
        });
        let url = config.database_url();
        if let Some(path) = crate::config::sqlite_path(&url)
            && let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)?;
        }
        let db = store::connect(&url, config.database_max_connections, statements.clone()).await?;
        store::migrate(&db).await?;
        let catalog = match &config.catalog_file {
            Some(path) => Catalog::parse(&std::fs::read_to_string(path)?)?,
            None => Catalog::parse(BUILT_IN)?,
        };
        store::catalog::upsert(&db, &catalog, clock.now()).await?;
        let dev_secret = if config.is_production() {
            None
        } else {
            Some(dev_secret(&config.data_dir())?)
        };
        let tokens = Tokens::from_config(config, dev_secret).map_err(StartupError::Keys)?;
        let keyring = match &config.secret_keys {
            Some(spec) => KeyRing::parse(spec, config.secret_active_key.as_deref()),
            None => KeyRing::development(&config.data_dir()),
        }
        .map_err(|e| StartupError::Keys(e.to_string()))?;
        let mailer = Mailer {
            templates: Templates::built_in(&config.default_language)
                .map_err(|e| StartupError::Mail(e.to_string()))?,
            transport: MailTransport::from_config(config).map_err(StartupError::Mail)?,
            from: config.mail_from.clone(),
            default_language: config.default_language.clone(),
            message_id_domain: message_id_domain(&config.public_url()),
        };
        Ok(Self {
            services: Services {
                db,
                clock,
                catalog: Arc::new(catalog),
                keyring: Arc::new(keyring),
                mailer: Arc::new(mailer),
                connectors: Arc::new(Connectors::from_config(config)),
                directories: Arc::new(directories_from_config(config)),
                settings: Arc::new(ServiceSettings::from_config(config)),
            },
            tokens: Arc::new(tokens),
            statements,
        })
    }

    /// A signed token for a user of an account.
    pub fn user_token(
        &self,
        account: crate::domain::ids::AccountId,
        user: crate::domain::ids::UserId,
        scopes: ScopeSet,
        ttl: Duration,
    ) -> Result<String, crate::auth::tokens::TokenError> {
        self.tokens.mint(
            &MintRequest {
                kind: TokenKind::User,
                subject: user.to_string(),
                account_id: Some(account),
                scopes,
                ttl,
            },
            self.services.clock.now(),
        )
    }
}

/// The host of the public URL, the right-hand side of Message-IDs.
fn message_id_domain(public_url: &str) -> String {
    let host = public_url
        .split("://")
        .nth(1)
        .unwrap_or(public_url)
        .split(['/', ':'])
        .next()
        .unwrap_or_default();
    if host.is_empty() {
        "liaison.local".into()
    } else {
        host.to_owned()
    }
}

/// The development signing secret: generated once and kept in `<data dir>/liaison.dev-secret`
/// (readable by its owner only), never hard-coded.
pub fn dev_secret(dir: &Path) -> Result<SecretString, std::io::Error> {
    let path = dir.join("liaison.dev-secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim();
        if existing.len() >= 32 {
            return Ok(SecretString::from(existing.to_owned()));
        }
    }
    std::fs::create_dir_all(dir)?;
    let mut bytes = [0u8; 48];
    rand::Rng::fill(&mut rand::rng(), &mut bytes[..]);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    write_private(&path, &secret)?;
    Ok(SecretString::from(secret))
}

pub(crate) fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents.as_bytes())
}

/// A server ready to run.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    pub core: Core,
    /// The background worker; it runs in `run_until` when enabled, and tests drive it directly.
    pub worker: Worker,
    run_worker: bool,
    address: SocketAddr,
}

/// Test and embedding hooks.
#[derive(Default)]
pub struct BuildOptions {
    pub clock: Option<SharedClock>,
}

impl Application {
    pub async fn build(config: &Config, options: BuildOptions) -> Result<Self, StartupError> {
        config.check()?;
        let clock = options.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let core = Core::open(config, clock).await?;
        if !config.is_production() {
            core.services.ensure_demo_account().await?;
        }
        jobs::maintenance::ensure_schedules(&core.services).await?;
        jobs::request_expiry::ensure_schedule(&core.services).await?;
        if config.contact_reminders_enabled {
            jobs::reminders::ensure_schedule(&core.services).await?;
        }
        let worker = Worker::new(
            core.services.clone(),
            Handlers::built_in(config.notice_batch_size),
            std::time::Duration::from_secs(config.job_lease_seconds.max(1)),
            std::time::Duration::from_millis(config.worker_poll_millis.max(10)),
        );
        let schema_settings = SchemaSettings {
            max_depth: config.max_depth,
            max_complexity: config.max_complexity,
            max_page_size: config.max_page_size as u64,
            introspection: config.introspection_enabled(),
            suggestions: !config.is_production(),
        };
        let schema = graphql::build_schema(Some(core.services.clone()), &schema_settings);
        let invitee_schema = graphql::invitee::build_schema(
            Some(core.services.clone()),
            Some(core.tokens.clone()),
            &schema_settings,
        );
        let metrics = Metrics::new(
            root_field_names(&schema.fast.sdl()),
            core.statements.clone(),
        );
        let state = AppState::new(SharedState {
            schema,
            invitee_schema,
            services: core.services.clone(),
            tokens: core.tokens.clone(),
            metrics: Arc::new(metrics),
            settings: Arc::new(HttpSettings {
                graphiql: config.graphiql_enabled(),
                max_body_bytes: config.max_body_bytes,
                max_upload_bytes: config.max_upload_bytes,
                max_batch: config.max_batch,
                request_timeout_seconds: config.request_timeout_seconds,
                cors_allowed_origins: config.cors_allowed_origins.clone(),
                client_ip_header: config.client_ip_header.clone(),
            }),
            limits: RateLimits::from_config(config),
            documents: Default::default(),
        });
        let listener = TcpListener::bind(config.bind).await?;
        let address = listener.local_addr()?;
        Ok(Self {
            listener,
            router: crate::http::router(state),
            core,
            worker,
            run_worker: config.worker_enabled,
            address,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// A 24-hour token for the demo account's admin, when there is one (development).
    pub async fn demo_token(&self) -> Option<String> {
        let services = &self.core.services;
        let account = services.find_account(DEMO_SLUG).await.ok()?;
        let admin = services.find_user(account.id, "admin").await.ok()?;
        self.core
            .user_token(
                account.id,
                admin.id,
                ScopeSet::unrestricted(),
                Duration::hours(24),
            )
            .ok()
    }

    /// Serves (and runs the background worker) until `shutdown` resolves, then finishes the
    /// requests in flight and lets the worker end its current job.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop_worker, worker_stopped) = watch::channel(false);
        let worker = self
            .run_worker
            .then(|| tokio::spawn(self.worker.run(worker_stopped)));
        let router = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener, router)
            .with_graceful_shutdown(async move {
                shutdown.await;
                let _ = stop_worker.send(true);
            })
            .await;
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        served
    }
}

/// The root field names of the schema, the only operation labels metrics use.
fn root_field_names(sdl: &str) -> HashSet<String> {
    let mut names = HashSet::new();
    let Ok(document) = async_graphql::parser::parse_schema(sdl) else {
        return names;
    };
    for definition in document.definitions {
        if let async_graphql::parser::types::TypeSystemDefinition::Type(ty) = definition
            && matches!(
                ty.node.name.node.as_str(),
                "Query" | "Mutation" | "Subscription"
            )
            && let async_graphql::parser::types::TypeKind::Object(object) = &ty.node.kind
        {
            names.extend(object.fields.iter().map(|f| f.node.name.node.to_string()));
        }
    }
    names
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// The upstream directories, with the HTTP client and retry policy the configuration sets.
fn directories_from_config(config: &Config) -> Directories {
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(
            config.sync_request_timeout_seconds.max(1),
        ))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default();
    Directories::new(
        http,
        config.intercom_api_url.clone(),
        RetryPolicy {
            attempts: config.sync_retry_attempts.max(1),
            base_delay: std::time::Duration::from_millis(config.sync_retry_base_millis),
            max_wait: std::time::Duration::from_secs(config.sync_max_wait_seconds),
        },
        config
            .sync_allow_private_addresses
            .unwrap_or(!config.is_production()),
    )
}
