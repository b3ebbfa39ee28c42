//! The `liaison` command: the server and its administration tools.

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use migration::{Migrator, MigratorTrait};

use liaison::clock::SystemClock;
use liaison::config::Config;
use liaison::domain::permission::ScopeSet;
use liaison::startup::{Application, BuildOptions, Core, shutdown_signal};
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
    /// Print the public GraphQL schema (SDL).
    Schema,
    /// Print a signed JWT for a user, and nothing else.
    Token {
        /// Account id or slug.
        #[arg(long)]
        account: String,
        /// User id or username.
        #[arg(long)]
        user: String,
        /// Space-separated scopes, e.g. "users:read roles:write"; none means the user's rights.
        #[arg(long)]
        scope: Option<String>,
        /// Lifetime, e.g. 15m, 1h, 7d.
        #[arg(long, default_value = "1h")]
        ttl: String,
    },
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
    if let Command::Schema = command {
        print!("{}", graphql::sdl());
        return Ok(());
    }
    let config = Config::load().map_err(|e| Failure(2, e.to_string()))?;
    telemetry::init(config.log_format);
    match command {
        Command::Schema => Ok(()),
        Command::Serve => serve(config).await,
        Command::Migrate { action } => migrate(&config, action.unwrap_or(MigrateAction::Up)).await,
        Command::Token {
            account,
            user,
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
            let scopes = match scope {
                Some(scope) => ScopeSet::parse(&scope).map_err(|e| Failure(2, e.to_string()))?,
                None => ScopeSet::unrestricted(),
            };
            let core = Core::open(&config, Arc::new(SystemClock)).await?;
            let account = core
                .services
                .find_account(&account)
                .await
                .map_err(|_| Failure(2, format!("no account `{account}`")))?;
            let user = core
                .services
                .find_user(account.id, &user)
                .await
                .map_err(|_| {
                    Failure(2, format!("no user `{user}` in account `{}`", account.slug))
                })?;
            println!("{}", core.user_token(account.id, user.id, scopes, ttl)?);
            Ok(())
        }
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
    match action {
        MigrateAction::Up => Migrator::up(&db, None).await?,
        MigrateAction::Down { steps } => Migrator::down(&db, Some(steps)).await?,
        MigrateAction::Status => {
            for migration in Migrator::get_migration_with_status(&db).await? {
                println!("{:?}\t{}", migration.status(), migration.name());
            }
        }
    }
    Ok(())
}
