//! The test harness: every test gets its own server on a random port and its own database —
//! a fresh SQLite file, or a fresh PostgreSQL database when `LIAISON_TEST_DATABASE_URL` is set
//! (dropped when the test ends). Tests speak GraphQL over HTTP like any client.

use std::sync::Arc;

use chrono::Duration;
use liaison::clock::{Clock, SharedClock, SystemClock};
use liaison::config::Config;
use liaison::domain::ids::{AccountId, RoleId, UserId};
use liaison::domain::permission::ScopeSet;
use liaison::service::Services;
use liaison::service::accounts::NewAccount;
use liaison::service::audit::Actor;
use liaison::service::users::NewUserInput;
use liaison::startup::{Application, BuildOptions};
use sea_orm::{ConnectionTrait, Database};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// The HS256 secret every test server signs with.
pub const TEST_SECRET: &str = "test-secret-test-secret-test-secret-0123456789";

/// A database made for one test.
pub enum TestDb {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    pub async fn new() -> (Self, String) {
        match std::env::var("LIAISON_TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => {
                let name = format!("liaison_test_{}", uuid::Uuid::new_v4().simple());
                let admin = Database::connect(&url)
                    .await
                    .expect("connect to PostgreSQL");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                let base = url.rsplit_once('/').map(|(base, _)| base).unwrap_or(&url);
                (
                    TestDb::Postgres {
                        admin_url: url.clone(),
                        name: name.clone(),
                    },
                    format!("{base}/{name}"),
                )
            }
            _ => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("liaison.db").display()
                );
                (TestDb::Sqlite(dir), url)
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // The test's runtime is ending; drop the database from a runtime of our own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(runtime) = runtime {
                    runtime.block_on(async {
                        if let Ok(admin) = Database::connect(&admin_url).await {
                            let _ = admin
                                .execute_unprepared(&format!(
                                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                                ))
                                .await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

/// The answer to one HTTP request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The value at a `/`-separated path under `data`, e.g. `viewer/user/username`.
    pub fn data(&self, path: &str) -> &Value {
        path.split('/')
            .filter(|p| !p.is_empty())
            .fold(&self.body["data"], |value, part| {
                match part.parse::<usize>() {
                    Ok(index) => &value[index],
                    Err(_) => &value[part],
                }
            })
    }

    pub fn errors(&self) -> Vec<Value> {
        self.body["errors"].as_array().cloned().unwrap_or_default()
    }

    /// Every error's `extensions.code`.
    pub fn codes(&self) -> Vec<String> {
        self.errors()
            .iter()
            .map(|e| e["extensions"]["code"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    /// The codes of `userErrors` under a mutation's payload.
    pub fn user_error_codes(&self, mutation: &str) -> Vec<String> {
        self.data(mutation)["userErrors"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|e| e["code"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    /// Panics with the body when the reply has errors.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert!(self.errors().is_empty(), "unexpected errors: {}", self.body);
        self
    }
}

/// An account made for a test, with its admin.
#[derive(Clone, Debug)]
pub struct TestAccount {
    pub id: AccountId,
    pub slug: String,
    pub admin_id: UserId,
    pub admin_token: String,
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub services: Services,
    pub statements: Arc<liaison::store::StatementCounter>,
    pub db: liaison::store::Db,
    pub worker: liaison::jobs::worker::Worker,
    /// The database's URL, for running the binary against it.
    pub database_url: String,
    tokens: Arc<liaison::auth::tokens::Tokens>,
    _shutdown: oneshot::Sender<()>,
    /// Keeps the database for the test's life (a PostgreSQL one is dropped with it).
    _test_db: TestDb,
}

/// The configuration of a test server: random port, test secret, development mode.
pub fn test_config(database_url: &str) -> Config {
    Config {
        database_url: Some(database_url.to_owned()),
        database_max_connections: 5,
        bind: "127.0.0.1:0".parse().expect("bind address"),
        jwt_secret: Some(SecretString::from(TEST_SECRET)),
        // Tests drive the worker themselves (`app.worker.run_pending_jobs()`), deterministically.
        worker_enabled: false,
        // One test may send hundreds of requests from one address; tests/api/limits.rs turns
        // the limits on with small numbers.
        rate_limit_enabled: false,
        // Reminder emails would land in other tests' mailboxes; tests/api/topics.rs turns them on.
        contact_reminders_enabled: false,
        ..Config::default()
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}, None).await
    }

    /// A server whose configuration `adjust` may change, with an optional test clock.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config), clock: Option<SharedClock>) -> Self {
        let (test_db, url) = TestDb::new().await;
        let mut config = test_config(&url);
        let database_url = url.clone();
        config.data_dir = match &test_db {
            TestDb::Sqlite(dir) => Some(dir.path().to_path_buf()),
            TestDb::Postgres { .. } => Some(std::env::temp_dir()),
        };
        // Connector checks never leave the machine: Intercom is a local double by default.
        config.intercom_api_url = Some(
            crate::fake_intercom::FakeIntercom::accepting_any()
                .await
                .url,
        );
        adjust(&mut config);
        let app = Application::build(&config, BuildOptions { clock })
            .await
            .expect("server builds");
        let address = format!("http://{}", app.address());
        let services = app.core.services.clone();
        let statements = app.core.statements.clone();
        let tokens = app.core.tokens.clone();
        let db = services.db.clone();
        let worker = app.worker.clone();
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Self {
            address,
            client: reqwest::Client::new(),
            services,
            statements,
            db,
            worker,
            database_url,
            tokens,
            _shutdown: shutdown,
            _test_db: test_db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// POSTs a GraphQL request as JSON.
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Reply {
        self.post_json(token, &json!({ "query": query, "variables": variables }))
            .await
    }

    pub async fn post_json(&self, token: Option<&str>, body: &Value) -> Reply {
        let mut request = self.client.post(self.url("/graphql")).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Self::reply(request.send().await.expect("request sent")).await
    }

    pub async fn reply(response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A user token signed with the server's key.
    pub fn token(&self, account: AccountId, user: UserId, scope: Option<&str>) -> String {
        let scopes = match scope {
            Some(scope) => ScopeSet::parse(scope).expect("valid scopes"),
            None => ScopeSet::unrestricted(),
        };
        self.tokens
            .mint(
                &liaison::auth::tokens::MintRequest {
                    kind: liaison::auth::tokens::TokenKind::User,
                    subject: user.to_string(),
                    account_id: Some(account),
                    scopes,
                    ttl: Duration::hours(1),
                },
                SystemClock.now(),
            )
            .expect("token minted")
    }

    /// Creates an account and its admin through the service layer (the operator API arrives with
    /// the platform issue).
    pub async fn create_account(&self, slug: &str) -> TestAccount {
        let (account, admin) = self
            .services
            .create_account(
                NewAccount {
                    slug: slug.into(),
                    name: format!("{slug} Inc."),
                    licence_limit: 10,
                    admin: NewUserInput {
                        username: Some(format!("{slug}-admin")),
                        display_name: Some(format!("{slug} Admin")),
                        email: Some(format!("admin@{slug}.example.com")),
                        preferred_language: Some("en".into()),
                        ..NewUserInput::default()
                    },
                },
                &Actor::system("test"),
            )
            .await
            .expect("account created");
        let admin_token = self.token(account.id, admin.id, None);
        TestAccount {
            id: account.id,
            slug: account.slug,
            admin_id: admin.id,
            admin_token,
        }
    }

    /// The SQL statements the server has sent so far.
    pub fn statement_count(&self) -> u64 {
        self.statements.statements()
    }
}

/// The `liaison` binary with no `LIAISON_*` variable of the test's environment, run in `dir`.
pub fn liaison_command(dir: &std::path::Path) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_liaison"));
    for (key, _) in std::env::vars() {
        if key.starts_with("LIAISON_") {
            command.env_remove(key);
        }
    }
    command.current_dir(dir).env("RUST_LOG", "warn");
    command
}

impl TestApp {
    /// `liaison <args>` against this server's database and signing secret, in `dir`.
    pub fn cli(&self, dir: &std::path::Path, args: &[&str]) -> std::process::Command {
        let mut command = liaison_command(dir);
        command
            .args(args)
            .env("LIAISON_DATABASE_URL", &self.database_url)
            .env("LIAISON_JWT_SECRET", TEST_SECRET)
            .env("LIAISON_DATA_DIR", dir);
        command
    }
}

/// Global ids as the API encodes them.
pub fn gid(type_name: &str, id: impl ToString) -> String {
    liaison::graphql::relay::encode_id(type_name, &id.to_string()).to_string()
}

/// Creates a user through the API as `token` and returns its global id.
pub async fn create_user(app: &TestApp, token: &str, input: Value) -> String {
    let reply = app
        .graphql(
            Some(token),
            "mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } userErrors { code message field } } }",
            json!({ "input": input }),
        )
        .await
        .ok();
    assert_eq!(
        reply.user_error_codes("createUser"),
        Vec::<String>::new(),
        "{}",
        reply.body
    );
    reply
        .data("createUser/user/id")
        .as_str()
        .expect("user id")
        .to_owned()
}

/// Creates a role with the given `(AREA, LEVEL)` grants and returns its global id.
pub async fn create_role(
    app: &TestApp,
    token: &str,
    name: &str,
    grants: &[(&str, &str)],
) -> String {
    let grants: Vec<Value> = grants
        .iter()
        .map(|(area, level)| json!({ "area": area, "level": level }))
        .collect();
    let reply = app
        .graphql(
            Some(token),
            "mutation($input: CreateRoleInput!) { createRole(input: $input) { role { id } userErrors { code } } }",
            json!({ "input": { "name": name, "grants": grants } }),
        )
        .await
        .ok();
    reply
        .data("createRole/role/id")
        .as_str()
        .expect("role id")
        .to_owned()
}

/// Assigns roles to a user.
pub async fn assign_roles(app: &TestApp, token: &str, user: &str, roles: &[&str]) -> Reply {
    app.graphql(
        Some(token),
        "mutation($input: AssignRolesInput!) { assignRoles(input: $input) { user { id } userErrors { code message } } }",
        json!({ "input": { "userId": user, "roleIds": roles } }),
    )
    .await
}

/// A login user with one role holding `grants`, and a token for them (optionally scoped).
pub async fn user_with_grants(
    app: &TestApp,
    account: &TestAccount,
    username: &str,
    grants: &[(&str, &str)],
    scope: Option<&str>,
) -> (String, String) {
    let role = create_role(
        app,
        &account.admin_token,
        &format!("{username} role"),
        grants,
    )
    .await;
    let user = create_user(
        app,
        &account.admin_token,
        json!({ "username": username, "displayName": username }),
    )
    .await;
    assign_roles(app, &account.admin_token, &user, &[&role])
        .await
        .ok();
    let user_id: UserId = decode_gid(&user).parse().expect("user uuid");
    let token = app.token(account.id, user_id, scope);
    (user, token)
}

/// The raw key of a global id.
pub fn decode_gid(id: &str) -> String {
    liaison::graphql::relay::decode_id(&async_graphql::ID(id.to_owned()))
        .expect("global id")
        .1
}

#[allow(dead_code)]
pub fn role_id(id: &str) -> RoleId {
    decode_gid(id).parse().expect("role uuid")
}

/// An operator token signed like the test server's; `scope` as in
/// `liaison token --operator NAME --scope …` (every operator right when `None`).
pub fn operator_token(name: &str, scope: Option<&str>) -> String {
    use liaison::auth::tokens::Tokens;
    use liaison::domain::operator::{OperatorName, OperatorScopes};
    let scopes = match scope {
        Some(scope) => OperatorScopes::parse(scope).expect("operator scopes"),
        None => OperatorScopes::unrestricted(),
    };
    Tokens::from_config(&test_config("sqlite::memory:"), None)
        .expect("test tokens")
        .mint_operator(
            &OperatorName::parse(name).expect("operator name"),
            &scopes,
            Duration::hours(1),
            SystemClock.now(),
        )
        .expect("operator token")
}

/// Creates a non-login contact through `createContact` and returns its global id.
pub async fn new_contact(
    app: &TestApp,
    token: &str,
    name: &str,
    email: &str,
    language: &str,
    integration_keys: &[&str],
) -> String {
    let reply = app
        .graphql(
            Some(token),
            "mutation($input: CreateContactInput!) { createContact(input: $input) { contact { id } userErrors { field code } } }",
            json!({ "input": { "name": name, "email": email, "preferredLanguage": language, "integrationKeys": integration_keys } }),
        )
        .await
        .ok();
    reply
        .data("createContact/contact/id")
        .as_str()
        .unwrap_or_else(|| panic!("contact created: {}", reply.body))
        .to_owned()
}

/// A login user of `account` written directly, for a competing writer's transaction.
pub fn competing_user(
    account: &TestAccount,
    username: &str,
    agent_id: Option<i64>,
) -> liaison::store::entities::user::ActiveModel {
    use liaison::domain::ids::UserId;
    use liaison::domain::user::{UserKind, UserStatus};
    use sea_orm::ActiveValue::Set;
    let now = chrono::Utc::now();
    liaison::store::entities::user::ActiveModel {
        id: Set(UserId::new()),
        account_id: Set(account.id),
        kind: Set(UserKind::Login),
        status: Set(UserStatus::Active),
        username: Set(Some(username.to_owned())),
        username_key: Set(Some(username.to_lowercase())),
        agent_id: Set(agent_id),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

/// Waits until a session of the test database waits on a lock (PostgreSQL).
async fn wait_for_a_lock_wait(app: &TestApp) {
    use sea_orm::{ConnectionTrait, Statement};
    for _ in 0..200 {
        let waiting = app
            .db
            .query_one_raw(Statement::from_string(
                app.db.get_database_backend(),
                "SELECT count(*) AS n FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            ))
            .await
            .expect("pg_stat_activity")
            .and_then(|row| row.try_get::<i64>("", "n").ok())
            .unwrap_or(0);
        if waiting > 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the chunk never waited for the other writer");
}

/// Runs the worker while `other` holds its uncommitted writes, then commits them: on
/// PostgreSQL once a job waits on one of its locks, on SQLite (where the job waits for the write
/// lock) after half a second.
pub async fn run_jobs_while_open(app: &TestApp, other: sea_orm::DatabaseTransaction) {
    let postgres = app.database_url.starts_with("postgres");
    let (ran, committed) = tokio::join!(app.worker.run_pending_jobs(), async {
        if postgres {
            wait_for_a_lock_wait(app).await;
        } else {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        other.commit().await
    });
    ran.expect("worker");
    committed.expect("competing commit");
}
