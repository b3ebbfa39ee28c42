//! What the benchmarks share: an application on a temporary SQLite file or the PostgreSQL
//! database `LIAISON_BENCH_DATABASE_URL` names, an account with an admin, and peak memory.

use liaison::auth::principal::AccountUser;
use liaison::config::Config;
use liaison::service::accounts::NewAccount;
use liaison::service::platform::PlatformCaller;
use liaison::service::users::NewUserInput;
use liaison::startup::{Application, BuildOptions};
use secrecy::SecretString;

pub struct Bench {
    pub app: Application,
    pub config: Config,
    /// Holds the SQLite file and the development keys for the run.
    _dir: tempfile::TempDir,
}

impl Bench {
    /// An application whose worker the benchmark drives; `adjust` may change the configuration.
    pub async fn start(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let database_url = std::env::var("LIAISON_BENCH_DATABASE_URL").unwrap_or_else(|_| {
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("bench.db").display()
            )
        });
        let mut config = Config {
            database_url: Some(database_url),
            bind: "127.0.0.1:0".parse().expect("bind address"),
            jwt_secret: Some(SecretString::from(
                "bench-secret-bench-secret-bench-secret-0123",
            )),
            worker_enabled: false,
            contact_reminders_enabled: false,
            data_dir: Some(dir.path().to_owned()),
            ..Config::default()
        };
        adjust(&mut config);
        let app = Application::build(&config, BuildOptions::default())
            .await
            .expect("application");
        Self {
            app,
            config,
            _dir: dir,
        }
    }

    pub fn backend(&self) -> &'static str {
        if self.config.database_url().starts_with("postgres") {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    }

    /// A new account with `licence_limit` seats; its admin.
    pub async fn account(&self, licence_limit: i32) -> AccountUser {
        let services = &self.app.core.services;
        let (account, _) = services
            .open_account(
                &PlatformCaller::Cli,
                NewAccount {
                    slug: format!("bench-{}", std::process::id()),
                    name: "Bench".into(),
                    licence_limit,
                    admin: NewUserInput {
                        username: Some("admin".into()),
                        email: Some("admin@bench.example.com".into()),
                        ..NewUserInput::default()
                    },
                },
            )
            .await
            .expect("account");
        services
            .acting_user(account.account.id, None)
            .await
            .expect("admin")
    }
}

/// The process's peak resident memory since the last reset, in MiB (Linux only).
pub fn peak_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Starts a new peak-memory measurement (Linux: writing 5 to clear_refs resets VmHWM).
pub fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
