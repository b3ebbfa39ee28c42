//! Persistence: the only place that builds SeaORM queries. Every function over tenant data takes
//! the `AccountId` it is scoped to.

pub mod accounts;
pub mod audit;
pub mod bulk_jobs;
pub mod catalog;
pub mod connection_requests;
pub mod connections;
pub mod constraint;
pub mod contacts;
pub mod entities;
pub mod jobs;
pub mod named;
pub mod notices;
pub mod outbox;
pub mod roles;
pub mod schedules;
pub mod telephony;
pub mod topics;
pub mod user_views;
pub mod users;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// Counts the SQL statements sent, for `/metrics` and the statement-count tests.
#[derive(Debug, Default)]
pub struct StatementCounter {
    statements: AtomicU64,
    failed: AtomicU64,
}

impl StatementCounter {
    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }
}

/// Opens the pool. SQLite gets WAL, a busy timeout, enforced foreign keys and full durability;
/// writers start `IMMEDIATE` transactions (see [`begin_write`]).
pub async fn connect(
    url: &str,
    max_connections: u32,
    counter: Arc<StatementCounter>,
) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections.max(1))
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    let mut db = Database::connect(options).await?;
    db.set_metric_callback(move |info| {
        counter.statements.fetch_add(1, Ordering::Relaxed);
        if info.failed {
            counter.failed.fetch_add(1, Ordering::Relaxed);
        }
    });
    Ok(db)
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Whether every known migration has been applied.
pub async fn migrations_current(db: &DatabaseConnection) -> Result<bool, DbErr> {
    Ok(Migrator::get_pending_migrations(db).await?.is_empty())
}

/// Begins a transaction that will write. On SQLite it takes the write lock at once
/// (`BEGIN IMMEDIATE`), so two writers queue on the busy timeout instead of failing when one
/// upgrades a read lock.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    if db.get_database_backend() == DbBackend::Sqlite {
        db.begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        })
        .await
    } else {
        db.begin().await
    }
}

/// Rows per multi-row insert: well under SQLite's limit of bound values per statement.
const INSERT_BATCH: usize = 500;

/// Inserts rows with multi-row statements of at most [`INSERT_BATCH`] rows each.
pub async fn insert_batched<A>(conn: &impl Conn, models: Vec<A>) -> Result<(), DbErr>
where
    A: sea_orm::ActiveModelTrait + Clone + Send,
{
    for batch in models.chunks(INSERT_BATCH) {
        <A::Entity as sea_orm::EntityTrait>::insert_many(batch.to_vec())
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// `ConnectionTrait` for store functions that run on a pool or inside a transaction.
pub trait Conn: ConnectionTrait + Sync {}
impl<T: ConnectionTrait + Sync> Conn for T {}

/// Open and idle connections of the pool.
pub fn pool_stats(db: &DatabaseConnection) -> (u32, usize) {
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
    }
}
