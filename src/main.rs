//! The `liaison` command: the server and its administration tools.

mod cli;

/// mimalloc rather than the system allocator: a GraphQL response is built from many small
/// allocations, and under load glibc's malloc and free took a fifth of the server's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use migration::{Migrator, MigratorTrait};

use liaison::auth::tokens::Tokens;
use liaison::clock::{Clock, SystemClock};
use liaison::config::Config;
use liaison::domain::operator::{OperatorName, OperatorScopes};
use liaison::domain::permission::ScopeSet;
use liaison::error::AppError;
use liaison::service::accounts::NewAccount;
use liaison::service::platform::PlatformCaller;
use liaison::service::users::NewUserInput;
use liaison::startup::{self, Application, BuildOptions, Core, shutdown_signal};
use liaison::store::accounts::AccountFilter;
use liaison::store::entities::account::AccountStatus;
use liaison::{graphql, store, telemetry};

#[derive(Parser)]
#[command(
    name = "liaison",
    version,
    about = "GraphQL API server for account administration"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations, load the catalog and serve HTTP (the default).
    Serve,
    /// Manage the database schema.
    Migrate {
        #[command(subcommand)]
        action: Option<MigrateAction>,
    },
    /// Print the public GraphQL schema (SDL); with --invitee, the invitee route's schema.
    Schema {
        /// The schema of `/connect/graphql` (what `schema.invitee.graphql` holds).
        #[arg(long)]
        invitee: bool,
    },
    /// Print a signed JWT for a user, or for a platform operator (--operator), and nothing else.
    Token {
        /// Account id or slug.
        #[arg(
            long,
            required_unless_present = "operator",
            conflicts_with = "operator"
        )]
        account: Option<String>,
        /// User id or username.
        #[arg(
            long,
            required_unless_present = "operator",
            conflicts_with = "operator"
        )]
        user: Option<String>,
        /// A platform operator's name (letters, digits, `. _ - @ +`): mints an operator token,
        /// which names no account.
        #[arg(long)]
        operator: Option<String>,
        /// Space-separated scopes. A user's: e.g. "users:read roles:write"; none means the user's
        /// rights. An operator's: "accounts:read", "accounts:write"; none means every operator
        /// right.
        #[arg(long)]
        scope: Option<String>,
        /// Lifetime, e.g. 15m, 1h, 7d.
        #[arg(long, default_value = "1h")]
        ttl: String,
    },
    /// Manage customer accounts (what platform operators do through the API).
    Account {
        #[command(subcommand)]
        action: AccountAction,
    },
    /// Manage secrets at rest.
    Secrets {
        #[command(subcommand)]
        action: SecretsAction,
    },
    /// Work with an account's users.
    Users {
        #[command(subcommand)]
        action: UsersAction,
    },
    /// Development tools.
    Dev {
        #[command(subcommand)]
        action: DevAction,
    },
}

#[derive(Subcommand)]
enum DevAction {
    /// Seed the load benchmark's dataset: deterministic accounts `load-01`… with their users,
    /// roles, groups, skills, connected integrations with contacts, and invitation links.
    Seed(cli::seed::Seed),
}

#[derive(Subcommand)]
enum UsersAction {
    /// Create users from a CSV file, copying a template user, with the API's engine: a progress
    /// bar, then a line per row (created, or failed with every reason). Exit status 1 when a row
    /// failed, 2 for bad input.
    FromTemplate(cli::users::FromTemplate),
}

#[derive(Subcommand, Clone, Copy)]
enum SecretsAction {
    /// Re-encrypt every stored secret under the active key of LIAISON_SECRET_KEYS.
    Rotate,
}

#[derive(Subcommand)]
enum AccountAction {
    /// Create an account and its first admin (LOGIN, ACTIVE, Account Admin); prints their ids.
    Create {
        /// URL name: 3 to 40 lowercase letters, digits and hyphens; unique.
        #[arg(long)]
        slug: String,
        /// The company's name.
        #[arg(long)]
        name: String,
        /// The first admin's username.
        #[arg(long)]
        admin_username: String,
        /// The first admin's email address.
        #[arg(long)]
        admin_email: String,
        /// The first admin's display name.
        #[arg(long)]
        admin_name: Option<String>,
        /// The first admin's preferred language (BCP 47, e.g. `de-CH`).
        #[arg(long)]
        admin_language: Option<String>,
        /// How many ACTIVE LOGIN users the account may have (at least 1).
        #[arg(long, default_value_t = 10, allow_negative_numbers = true)]
        licence_limit: i32,
    },
    /// List the accounts: slug, status, seats used, licence limit, creation time and name.
    List {
        /// Only accounts with this status.
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        /// Only accounts whose slug or name contains this text (any letter case).
        #[arg(long)]
        search: Option<String>,
    },
    /// Suspend an account: its users' tokens are refused until it is reactivated.
    Suspend {
        /// The account's slug or id.
        account: String,
        /// Why, for the account's audit log.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Reactivate a suspended account.
    Reactivate {
        /// The account's slug or id.
        account: String,
    },
}

#[derive(clap::ValueEnum, Clone, Copy)]
enum StatusArg {
    Active,
    Suspended,
}

#[derive(Subcommand, Clone, Copy)]
enum MigrateAction {
    /// Apply every pending migration (the default).
    Up,
    /// Revert the last migration (or --steps of them).
    Down {
        #[arg(long, default_value_t = 1)]
        steps: u32,
    },
    /// List migrations and whether each is applied.
    Status,
}

/// A failure to report, with its exit code (2 for bad input, 1 otherwise).
struct Failure(u8, String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure(1, error.to_string())
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command.unwrap_or(Command::Serve)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, message)) => {
            eprintln!("liaison: {message}");
            ExitCode::from(code)
        }
    }
}

async fn run(command: Command) -> Result<(), Failure> {
    if let Command::Schema { invitee } = command {
        if invitee {
            print!("{}", graphql::invitee::sdl());
        } else {
            print!("{}", graphql::sdl());
        }
        return Ok(());
    }
    let config = Config::load().map_err(|e| Failure(2, e.to_string()))?;
    telemetry::init(config.log_format);
    match command {
        Command::Schema { .. } => Ok(()),
        Command::Serve => serve(config).await,
        Command::Migrate { action } => migrate(&config, action.unwrap_or(MigrateAction::Up)).await,
        Command::Token {
            account,
            user,
            operator,
            scope,
            ttl,
        } => {
            let ttl = humantime::parse_duration(&ttl)
                .ok()
                .and_then(|ttl| chrono::Duration::from_std(ttl).ok())
                .filter(|ttl| *ttl > chrono::Duration::zero())
                .ok_or_else(|| {
                    Failure(2, format!("`{ttl}` is not a duration like 15m, 1h or 7d"))
                })?;
            match (operator, account, user) {
                (Some(operator), _, _) => operator_token(&config, &operator, scope, ttl),
                (None, Some(account), Some(user)) => {
                    user_token(&config, &account, &user, scope, ttl).await
                }
                _ => Err(Failure(
                    2,
                    "pass --account and --user, or --operator".into(),
                )),
            }
        }
        Command::Account { action } => account(&config, action).await,
        Command::Users {
            action: UsersAction::FromTemplate(args),
        } => cli::users::from_template(&config, args).await,
        Command::Dev {
            action: DevAction::Seed(args),
        } => cli::seed::seed(&config, args).await,
        Command::Secrets {
            action: SecretsAction::Rotate,
        } => {
            let core = Core::open(&config, Arc::new(SystemClock)).await?;
            let rotated = core.services.rotate_secrets().await?;
            println!(
                "re-encrypted {rotated} secret value(s) under key `{}`",
                core.services.keyring.active_id()
            );
            Ok(())
        }
    }
}

async fn user_token(
    config: &Config,
    account: &str,
    user: &str,
    scope: Option<String>,
    ttl: chrono::Duration,
) -> Result<(), Failure> {
    let scopes = match scope {
        Some(scope) => ScopeSet::parse(&scope).map_err(|e| Failure(2, e.to_string()))?,
        None => ScopeSet::unrestricted(),
    };
    let core = Core::open(config, Arc::new(SystemClock)).await?;
    let account = core
        .services
        .find_account(account)
        .await
        .map_err(|_| Failure(2, format!("no account `{account}`")))?;
    let user = core
        .services
        .find_user(account.id, user)
        .await
        .map_err(|_| Failure(2, format!("no user `{user}` in account `{}`", account.slug)))?;
    println!("{}", core.user_token(account.id, user.id, scopes, ttl)?);
    Ok(())
}

/// An operator token needs only the signing key, not the database.
fn operator_token(
    config: &Config,
    name: &str,
    scope: Option<String>,
    ttl: chrono::Duration,
) -> Result<(), Failure> {
    let name = OperatorName::parse(name).map_err(|e| Failure(2, e.to_string()))?;
    let scopes = match scope {
        Some(scope) => OperatorScopes::parse(&scope).map_err(|e| Failure(2, e.to_string()))?,
        None => OperatorScopes::unrestricted(),
    };
    let dev_secret = if config.is_production() {
        None
    } else {
        Some(startup::dev_secret(&config.data_dir())?)
    };
    let tokens = Tokens::from_config(config, dev_secret)?;
    println!(
        "{}",
        tokens.mint_operator(&name, &scopes, ttl, SystemClock.now())?
    );
    Ok(())
}

/// `liaison account …`: the operators' use cases, run as the system actor `cli`.
async fn account(config: &Config, action: AccountAction) -> Result<(), Failure> {
    let core = Core::open(config, Arc::new(SystemClock)).await?;
    let services = &core.services;
    let cli = PlatformCaller::Cli;
    match action {
        AccountAction::Create {
            slug,
            name,
            admin_username,
            admin_email,
            admin_name,
            admin_language,
            licence_limit,
        } => {
            let new = NewAccount {
                slug,
                name,
                licence_limit,
                admin: NewUserInput {
                    username: Some(admin_username),
                    email: Some(admin_email),
                    display_name: admin_name,
                    preferred_language: admin_language,
                    ..NewUserInput::default()
                },
            };
            let (account, admin) = services.open_account(&cli, new).await.map_err(refusal)?;
            println!("account {}", account.account.id);
            println!("admin {}", admin.id);
        }
        AccountAction::List { status, search } => {
            let filter = AccountFilter {
                statuses: status
                    .map(|status| match status {
                        StatusArg::Active => AccountStatus::Active,
                        StatusArg::Suspended => AccountStatus::Suspended,
                    })
                    .into_iter()
                    .collect(),
                text: search,
            };
            println!("SLUG\tSTATUS\tSEATS_USED\tLICENCE_LIMIT\tCREATED_AT\tNAME");
            let mut offset = 0;
            loop {
                let page = services
                    .managed_accounts(&cli, &filter, offset, LIST_PAGE)
                    .await?;
                for managed in &page {
                    let account = &managed.account;
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}",
                        account.slug,
                        status_name(account.status),
                        managed.seats_used,
                        account.licence_limit,
                        account
                            .created_at
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        account.name
                    );
                }
                if (page.len() as u64) < LIST_PAGE {
                    break;
                }
                offset += LIST_PAGE;
            }
        }
        AccountAction::Suspend { account, reason } => {
            let found =
                services
                    .managed_account(&cli, &account)
                    .await
                    .map_err(|error| match error {
                        AppError::NotFound => Failure(2, format!("no account `{account}`")),
                        other => refusal(other),
                    })?;
            let managed = services
                .suspend_account(&cli, found.account.id, reason)
                .await
                .map_err(refusal)?;
            println!(
                "{} {}",
                managed.account.slug,
                status_name(managed.account.status)
            );
        }
        AccountAction::Reactivate { account } => {
            let found =
                services
                    .managed_account(&cli, &account)
                    .await
                    .map_err(|error| match error {
                        AppError::NotFound => Failure(2, format!("no account `{account}`")),
                        other => refusal(other),
                    })?;
            let managed = services
                .reactivate_account(&cli, found.account.id)
                .await
                .map_err(refusal)?;
            println!(
                "{} {}",
                managed.account.slug,
                status_name(managed.account.status)
            );
        }
    }
    Ok(())
}

const LIST_PAGE: u64 = 100;

fn status_name(status: AccountStatus) -> &'static str {
    match status {
        AccountStatus::Active => "ACTIVE",
        AccountStatus::Suspended => "SUSPENDED",
    }
}

/// Bad input (exit code 2, each rejected field named by its option) or another failure.
fn refusal(error: AppError) -> Failure {
    match error {
        AppError::Rejected(errors) => Failure(
            2,
            errors
                .iter()
                .map(|error| format!("{}: {}", option_of(&error.field), error.message))
                .collect::<Vec<_>>()
                .join("\n         "),
        ),
        other => Failure(1, other.to_string()),
    }
}

/// The command-line option of a rejected API input field.
fn option_of(field: &[String]) -> String {
    let path: Vec<&str> = field.iter().map(String::as_str).collect();
    match path.as_slice() {
        ["input", "licenceLimit"] => "--licence-limit".into(),
        ["input", "admin", "name"] => "--admin-name".into(),
        ["input", "admin", "preferredLanguage"] => "--admin-language".into(),
        ["input", "admin", other] => format!("--admin-{other}"),
        ["input", other] => format!("--{other}"),
        _ => "input".into(),
    }
}

async fn serve(config: Config) -> Result<(), Failure> {
    let app = Application::build(&config, BuildOptions::default()).await?;
    let base = match &config.public_url {
        Some(_) => config.public_url(),
        None => format!("http://{}", app.address()),
    };
    let url = format!("{base}/graphql");
    tracing::info!(address = %app.address(), "Liaison is listening");
    if config.graphiql_enabled() {
        say(&format!("GraphiQL: {url}"));
    }
    if !config.is_production()
        && let Some(token) = app.demo_token().await
    {
        say("Demo admin token (account `demo`, user `admin`, valid 24 h):");
        say(&token);
        say("Send it as the header `Authorization: Bearer <token>`.");
    }
    app.run_until(shutdown_signal()).await?;
    Ok(())
}

/// Prints a line for the person who started the server; a closed stdout must not stop it.
fn say(line: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
}

async fn migrate(config: &Config, action: MigrateAction) -> Result<(), Failure> {
    let counter = Arc::new(store::StatementCounter::default());
    let db = store::connect(&config.database_url(), 1, counter).await?;
    let db = db.pool();
    match action {
        MigrateAction::Up => Migrator::up(db, None).await?,
        MigrateAction::Down { steps } => Migrator::down(db, Some(steps)).await?,
        MigrateAction::Status => {
            for migration in Migrator::get_migration_with_status(db).await? {
                println!("{:?}\t{}", migration.status(), migration.name());
            }
        }
    }
    Ok(())
}
