//! Persistence: the only place that builds SeaORM queries. Every function over tenant data takes
//! the `AccountId` it is scoped to.

pub mod accounts;
pub mod audit;
pub mod bulk_jobs;
mod by_position;
pub mod catalog;
pub mod connection_requests;
pub mod connections;
pub mod constraint;
pub mod contacts;
mod db;
pub mod entities;
pub mod jobs;
pub mod named;
pub mod notices;
pub mod outbox;
mod request_pool;
pub mod roles;
pub mod schedules;
pub mod sync;
pub mod telephony;
pub mod topics;
pub mod user_links;
pub mod user_views;
pub mod users;

pub use by_position::ByPosition;
pub(crate) use by_position::read_by_position;
pub use db::Db;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// Counts the SQL statements sent, for `/metrics` and the statement-count tests; optionally
/// appends each one to a log.
#[derive(Debug, Default)]
pub struct StatementCounter {
    statements: AtomicU64,
    failed: AtomicU64,
    log: Option<Mutex<std::fs::File>>,
}

impl StatementCounter {
    /// A counter that also appends every statement, values inlined and `;`-terminated, to
    /// `path` (a replayable script: the load benchmark's database floor).
    pub fn logging_to(path: &std::path::Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self {
            log: Some(Mutex::new(file)),
            ..Self::default()
        })
    }

    fn record(&self, info: &sea_orm::metric::Info<'_>) {
        self.statements.fetch_add(1, Ordering::Relaxed);
        if info.failed {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(log) = &self.log {
            let line = format!("{};\n", replayable(info.statement));
            // A diagnostic: a failed write must not fail the statement it describes.
            let _ = log
                .lock()
                .map(|mut file| std::io::Write::write_all(&mut *file, line.as_bytes()));
        }
    }

    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }
}

/// `statement` with its values inlined, as a line PostgreSQL can replay. An inlined uuid array is
/// an array of text literals, which no uuid column compares with; the server's prepared statement
/// never meets that (the column types the parameter), so the replay gets the same type by a cast.
fn replayable(statement: &sea_orm::Statement) -> String {
    use sea_orm::sea_query::{ArrayType, PostgresQueryBuilder, Value, inject_parameters};
    let Some(values) = statement
        .values
        .as_ref()
        .filter(|_| statement.db_backend == DbBackend::Postgres)
    else {
        return statement.to_string();
    };
    let mut sql = statement.sql.clone();
    for (index, value) in values.0.iter().enumerate() {
        if matches!(value, Value::Array(ArrayType::Uuid, Some(_))) {
            sql = cast_placeholder(&sql, index + 1, "::uuid[]");
        }
    }
    inject_parameters(&sql, &values.0, &PostgresQueryBuilder)
}

/// `sql` with `cast` after each `$number` placeholder (and not after `$number0`).
fn cast_placeholder(sql: &str, number: usize, cast: &str) -> String {
    let placeholder = format!("${number}");
    let mut result = String::with_capacity(sql.len() + cast.len());
    let mut rest = sql;
    while let Some(at) = rest.find(&placeholder) {
        let end = at + placeholder.len();
        result.push_str(&rest[..end]);
        rest = &rest[end..];
        if !rest.starts_with(|c: char| c.is_ascii_digit()) {
            result.push_str(cast);
        }
    }
    result.push_str(rest);
    result
}

/// Page cache per SQLite connection, in KiB (allocated only as pages are read).
const SQLITE_CACHE_KIB: u32 = 32 * 1024;

/// Opens the pool. SQLite gets WAL, a busy timeout, enforced foreign keys, full durability and a
/// larger page cache; writers start `IMMEDIATE` transactions (see [`begin_write`]).
pub async fn connect(
    url: &str,
    max_connections: u32,
    counter: Arc<StatementCounter>,
) -> Result<Db, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections.max(1))
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        // The driver already pings each connection as it returns to the pool; pinging it again
        // before each use doubled the round trips of every statement (found under load).
        .test_before_acquire(false)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                // SQLite's default page cache is 2 MiB: past that, every index probe re-reads
                // pages from the OS, and bulk jobs slow down as tables grow.
                .pragma("cache_size", format!("-{}", SQLITE_CACHE_KIB))
        });
    let mut db = Database::connect(options).await?;
    let recorder = counter.clone();
    db.set_metric_callback(move |info| recorder.record(info));
    let requests = match db.get_database_backend() {
        DbBackend::Sqlite => None,
        _ => Some(
            request_pool::open(url, max_connections as usize)
                .map_err(|error| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(Arc::new(error))))?,
        ),
    };
    Ok(Db::new(db, requests, counter))
}

/// Applies every pending migration.
pub async fn migrate(db: &Db) -> Result<(), DbErr> {
    Migrator::up(db.pool(), None).await
}

/// Whether every known migration has been applied.
pub async fn migrations_current(db: &Db) -> Result<bool, DbErr> {
    Ok(Migrator::get_pending_migrations(db.pool())
        .await?
        .is_empty())
}

/// Begins a transaction that will write. On SQLite it takes the write lock at once
/// (`BEGIN IMMEDIATE`), so two writers queue on the busy timeout instead of failing when one
/// upgrades a read lock. A request's handle first gives back the connection it holds, so that a
/// request never waits for a second connection while it keeps one.
pub async fn begin_write(db: &Db) -> Result<DatabaseTransaction, DbErr> {
    db.release_held().await;
    let db = db.pool();
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

/// Inserts a whole model, every column written; the row as stored.
pub async fn insert_model<A>(
    conn: &impl Conn,
    model: <A::Entity as sea_orm::EntityTrait>::Model,
) -> Result<<A::Entity as sea_orm::EntityTrait>::Model, DbErr>
where
    A: sea_orm::ActiveModelTrait + sea_orm::ActiveModelBehavior + Send,
    <A::Entity as sea_orm::EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
{
    sea_orm::IntoActiveModel::into_active_model(model)
        .reset_all()
        .insert(conn)
        .await
}

/// Writes every column of a model but its primary key, which names the row.
pub async fn update_model<A>(
    conn: &impl Conn,
    model: <A::Entity as sea_orm::EntityTrait>::Model,
) -> Result<<A::Entity as sea_orm::EntityTrait>::Model, DbErr>
where
    A: sea_orm::ActiveModelTrait + sea_orm::ActiveModelBehavior + Send,
    <A::Entity as sea_orm::EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
{
    use sea_orm::{Iterable, PrimaryKeyToColumn};
    type Column<A> = <<A as sea_orm::ActiveModelTrait>::Entity as sea_orm::EntityTrait>::Column;
    type Key<A> = <<A as sea_orm::ActiveModelTrait>::Entity as sea_orm::EntityTrait>::PrimaryKey;
    let keys: Vec<String> = Key::<A>::iter()
        .map(|key| sea_orm::IdenStatic::as_str(&key.into_column()).to_owned())
        .collect();
    let mut active = sea_orm::IntoActiveModel::into_active_model(model);
    for column in Column::<A>::iter() {
        if !keys
            .iter()
            .any(|key| key == sea_orm::IdenStatic::as_str(&column))
        {
            active.reset(column);
        }
    }
    active.update(conn).await
}

/// For each of `keys`, the lowest `position` among `rows` whose `column` holds it: whether an
/// earlier row of a batch has the same value, for many rows in one statement.
pub async fn first_positions<E, K>(
    conn: &impl Conn,
    rows: sea_orm::Select<E>,
    column: E::Column,
    position: E::Column,
    keys: Vec<K>,
) -> Result<std::collections::HashMap<K, i32>, DbErr>
where
    E: sea_orm::EntityTrait,
    K: Key + sea_orm::TryGetable + Eq + std::hash::Hash,
{
    use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
    if keys.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let found = rows
        .select_only()
        .column(column)
        .column_as(position.min(), "first")
        .filter(one_of(conn, column, keys))
        .group_by(column)
        .into_tuple::<(K, i32)>()
        .all(conn)
        .await?;
    Ok(found.into_iter().collect())
}

/// A write that a constraint refused, rolled back.
#[derive(Debug)]
pub struct Refused {
    pub violation: constraint::Violation,
    pub error: DbErr,
}

/// Runs `write` under a savepoint of `txn`: kept when it succeeds, rolled back when it fails.
/// A constraint's refusal comes back as [`Refused`], so the caller can carry on with the rest of
/// its transaction (one row's conflict never costs its neighbours); any other error is passed on.
pub async fn under_savepoint<T>(
    txn: &DatabaseTransaction,
    write: impl AsyncFnOnce(&DatabaseTransaction) -> Result<T, DbErr>,
) -> Result<Result<T, Refused>, DbErr> {
    let savepoint = txn.begin().await?;
    match write(&savepoint).await {
        Ok(value) => {
            savepoint.commit().await?;
            Ok(Ok(value))
        }
        Err(error) => {
            savepoint.rollback().await?;
            match constraint::classify(&error) {
                Some(violation) => Ok(Err(Refused { violation, error })),
                None => Err(error),
            }
        }
    }
}

/// Refreshes PostgreSQL's planner statistics of those `tables` that have grown or changed by
/// more than half since they were last analysed. A job that multiplies a table's rows within
/// seconds outruns autovacuum: with the statistics of a near-empty `users` table, the
/// foreign-key checks against it read every user of the account, and plans cached while a table
/// was small (a sequential scan) stay in use as it grows. Analysing invalidates those plans. On
/// a large table this does nothing, as a job changes only a small part of it. SQLite checks
/// foreign keys through the parent's unique index whatever its statistics, and plans each
/// statement when it is prepared, so it is left alone.
pub async fn refresh_stale_statistics(conn: &impl Conn, tables: &[&str]) -> Result<(), DbErr> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let stale = conn
        .query_all_raw(sea_orm::Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT s.relname::text AS name FROM pg_stat_user_tables s \
             JOIN pg_class c ON c.oid = s.relid \
             WHERE s.relname = ANY($1) AND s.n_mod_since_analyze > 50 + 0.5 * GREATEST(c.reltuples, 0)",
            [tables
                .iter()
                .map(|t| (*t).to_owned())
                .collect::<Vec<String>>()
                .into()],
        ))
        .await?;
    for row in stale {
        let table: String = row.try_get("", "name")?;
        // Quoted, and only ever a name the caller passed as a constant.
        conn.execute_unprepared(&format!("ANALYZE \"{}\"", table.replace('"', "")))
            .await?;
    }
    Ok(())
}

/// Bound values per multi-row insert on PostgreSQL: a few KiB per statement. sqlx 0.9.0 no
/// longer disables Nagle's algorithm (sqlx issue 4335), and a message larger than the socket's
/// initial send buffer (16 KiB on Linux) leaves in two writes, the second of which waits about
/// 40 ms for the server's delayed acknowledgement: ten small statements cost less than one
/// large one.
const POSTGRES_VALUES_PER_INSERT: usize = 250;
/// Rows per multi-row insert on SQLite, which runs in the process: fewer, larger statements are
/// cheaper there, within its limit of 32,766 bound values per statement.
const SQLITE_ROWS_PER_INSERT: usize = 500;
const SQLITE_MAX_VALUES: usize = 32_766;

/// Rows of entity `E` one multi-row statement carries on the connection's backend.
pub fn rows_per_insert<E: sea_orm::EntityTrait>(conn: &impl Conn) -> usize {
    let columns = <E::Column as sea_orm::Iterable>::iter().count().max(1);
    let rows = match conn.get_database_backend() {
        DbBackend::Sqlite => SQLITE_ROWS_PER_INSERT.min(SQLITE_MAX_VALUES / columns),
        _ => POSTGRES_VALUES_PER_INSERT / columns,
    };
    rows.max(1)
}

/// Inserts rows with multi-row statements sized for the backend.
pub async fn insert_batched<A>(conn: &impl Conn, models: &[A]) -> Result<(), DbErr>
where
    A: sea_orm::ActiveModelTrait + Clone + Send,
{
    for batch in models.chunks(rows_per_insert::<A::Entity>(conn)) {
        <A::Entity as sea_orm::EntityTrait>::insert_many(batch.to_vec())
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// The text of a statement whose shape never changes, built by sea-query once per backend:
/// building and dropping the query tree on every call was a tenth of a small request's time
/// under load. The caller passes the values in the order the built statement binds them; debug
/// builds (the test suites) build it every time and check that they match.
pub struct FixedStatement {
    texts: [std::sync::OnceLock<String>; 2],
}

impl Default for FixedStatement {
    fn default() -> Self {
        Self::new()
    }
}

impl FixedStatement {
    /// Const, for a `static` beside the function that runs the statement.
    pub const fn new() -> Self {
        Self {
            texts: [std::sync::OnceLock::new(), std::sync::OnceLock::new()],
        }
    }

    /// The statement `build` makes for `backend`, with `values` bound.
    pub fn statement(
        &self,
        backend: DbBackend,
        build: impl Fn() -> sea_orm::sea_query::SelectStatement,
        values: Vec<sea_orm::Value>,
    ) -> sea_orm::Statement {
        let slot = match backend {
            DbBackend::Postgres => &self.texts[0],
            _ => &self.texts[1],
        };
        let sql = slot.get_or_init(|| backend.build(&build()).sql);
        if cfg!(debug_assertions) {
            let built = backend.build(&build());
            assert_eq!(sql, &built.sql, "a fixed statement's text changed");
            assert_eq!(
                built.values.as_ref().map(|v| &v.0),
                Some(&values),
                "a fixed statement's values, in the order it binds them"
            );
        }
        sea_orm::Statement::from_sql_and_values(backend, sql.as_str(), values)
    }
}

/// A record with columns of the link table that ties it to its owner, read as one row.
struct TiedRow<L, M>(L, M);

impl<L: sea_orm::FromQueryResult, M: sea_orm::FromQueryResult> sea_orm::FromQueryResult
    for TiedRow<L, M>
{
    fn from_query_result(row: &sea_orm::QueryResult, pre: &str) -> Result<Self, DbErr> {
        Ok(Self(
            L::from_query_result(row, pre)?,
            M::from_query_result(row, pre)?,
        ))
    }
}

/// Runs `select` (records of `E` joined to a link table, with the link's columns added under
/// the names `L` reads) and returns each record with its tie. The DataLoaders' relations read
/// this way rather than with `find_also_related`, which reads every column by a prefixed name
/// formatted per column and row: that was the largest cost of listing users with their
/// relations.
pub async fn tied<E, L>(
    conn: &impl Conn,
    select: sea_orm::Select<E>,
) -> Result<Vec<(L, E::Model)>, DbErr>
where
    E: sea_orm::EntityTrait,
    E::Model: Sync,
    L: sea_orm::FromQueryResult + Send + Sync,
{
    tied_as(conn, select).await
}

/// [`tied`], each record read as `R` (a reader of the entity's row, such as
/// [`users::UserRecord`]).
pub async fn tied_as<E, L, R>(
    conn: &impl Conn,
    select: sea_orm::Select<E>,
) -> Result<Vec<(L, R)>, DbErr>
where
    E: sea_orm::EntityTrait,
    R: sea_orm::FromQueryResult + Send + Sync,
    L: sea_orm::FromQueryResult + Send + Sync,
{
    let rows = select.into_model::<TiedRow<L, R>>().all(conn).await?;
    Ok(rows
        .into_iter()
        .map(|TiedRow(tie, model)| (tie, model))
        .collect())
}

/// The owner a tied record belongs to (see [`tied`]), read from the column [`TIE_OWNER`].
#[derive(Debug)]
pub struct TieOwner<K>(pub K);

impl<K: sea_orm::TryGetable> sea_orm::FromQueryResult for TieOwner<K> {
    fn from_query_result(row: &sea_orm::QueryResult, pre: &str) -> Result<Self, DbErr> {
        Ok(Self(row.try_get(pre, TIE_OWNER)?))
    }
}

/// The column alias [`TieOwner`] reads.
pub const TIE_OWNER: &str = "tie_owner";

/// An owner with the level of its tie (a skill's, a queue's), read from [`TIE_OWNER`] and
/// [`TIE_LEVEL`].
#[derive(Debug)]
pub struct LevelledTie<K, L> {
    pub owner: K,
    pub level: L,
}

impl<K: sea_orm::TryGetable, L: sea_orm::TryGetable> sea_orm::FromQueryResult
    for LevelledTie<K, L>
{
    fn from_query_result(row: &sea_orm::QueryResult, pre: &str) -> Result<Self, DbErr> {
        Ok(Self {
            owner: row.try_get(pre, TIE_OWNER)?,
            level: row.try_get(pre, TIE_LEVEL)?,
        })
    }
}

/// The column alias of [`LevelledTie`]'s level.
pub const TIE_LEVEL: &str = "tie_level";

/// `ConnectionTrait` for store functions that run on a pool or inside a transaction.
pub trait Conn: ConnectionTrait + Sync {}
impl<T: ConnectionTrait + Sync> Conn for T {}

/// `column IN (values)` for a batch of keys (a DataLoader's, a chunk's). PostgreSQL gets the
/// list as one array parameter, `column = ANY($1)`: one prepared statement whatever the batch
/// size, which PostgreSQL plans once and then reuses. An `IN` list is a new statement for each
/// size, and PostgreSQL planned some of them again on every execution, because the estimate of a
/// generic plan over unknown list items never won (the contacts of 30 integrations: 0.2 ms of
/// planning a request, found under load). SQLite has no arrays and keeps the list.
pub fn one_of(
    conn: &impl Conn,
    column: impl sea_orm::ColumnTrait,
    values: impl IntoIterator<Item = impl Key>,
) -> sea_orm::sea_query::Expr {
    one_of_on(conn.get_database_backend(), column, values)
}

/// A value a batch of keys can hold: any column value but bytes, which PostgreSQL's arrays
/// would not tell from a single `bytea`.
pub trait Key: Into<sea_orm::Value> + sea_orm::sea_query::postgres_array::NotU8 {}
impl<T: Into<sea_orm::Value> + sea_orm::sea_query::postgres_array::NotU8> Key for T {}

fn one_of_on(
    backend: DbBackend,
    column: impl sea_orm::ColumnTrait,
    values: impl IntoIterator<Item = impl Key>,
) -> sea_orm::sea_query::Expr {
    match backend {
        DbBackend::Postgres => column.eq_any(values),
        _ => column.is_in(values),
    }
}

/// Open and idle connections of the pools.
pub fn pool_stats(db: &Db) -> (u32, usize) {
    let (requests_open, requests_idle) = db.requests_pool_stats();
    let db = db.pool();
    let (open, idle) = match db.get_database_backend() {
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
    };
    (open + requests_open, idle + requests_idle)
}

#[cfg(test)]
mod tests {
    use sea_orm::{ColumnTrait, DbBackend, EntityTrait, QueryFilter, QueryTrait};

    use super::entities::user;
    use super::{one_of_on, replayable};
    use crate::domain::ids::UserId;

    fn select_by_ids(backend: DbBackend, count: usize) -> sea_orm::Statement {
        let ids = (0..count).map(|_| UserId::new());
        user::Entity::find()
            .filter(one_of_on(backend, user::Column::Id, ids))
            .build(backend)
    }

    #[test]
    fn the_statement_log_types_an_inlined_uuid_array_for_the_replay() {
        let ids: Vec<UserId> = (0..10).map(|_| UserId::new()).collect();
        let statement = user::Entity::find()
            .filter(user::Column::Username.eq("a"))
            .filter(user::Column::Email.eq("b"))
            .filter(user::Column::DisplayName.eq("c"))
            .filter(user::Column::FirstName.eq("d"))
            .filter(user::Column::LastName.eq("e"))
            .filter(user::Column::Phone.eq("f"))
            .filter(user::Column::Title.eq("g"))
            .filter(user::Column::Country.eq("h"))
            .filter(user::Column::LicenceType.eq("i"))
            .filter(one_of_on(
                DbBackend::Postgres,
                user::Column::Id,
                ids.clone(),
            ))
            .build(DbBackend::Postgres);
        assert!(statement.sql.contains("$10"), "{}", statement.sql);
        let line = replayable(&statement);
        let first = ids[0].to_string();
        assert!(line.contains(&format!("= ANY(ARRAY ['{first}'")), "{line}");
        assert!(line.ends_with("]::uuid[])"), "{line}");
        assert_eq!(line.matches("::uuid[]").count(), 1, "{line}");

        let sqlite = select_by_ids(DbBackend::Sqlite, 1);
        assert_eq!(replayable(&sqlite), sqlite.to_string());
    }

    #[test]
    fn a_batch_of_keys_is_one_array_parameter_on_postgres_and_a_list_on_sqlite() {
        let two = select_by_ids(DbBackend::Postgres, 2);
        let five = select_by_ids(DbBackend::Postgres, 5);
        assert_eq!(two.sql, five.sql, "one statement for every batch size");
        assert!(
            two.sql.ends_with(r#"WHERE "users"."id" = ANY($1)"#),
            "{}",
            two.sql
        );
        assert_eq!(five.values.map(|v| v.0.len()), Some(1));

        let sqlite = select_by_ids(DbBackend::Sqlite, 3);
        assert!(
            sqlite.sql.ends_with(r#"WHERE "users"."id" IN (?, ?, ?)"#),
            "{}",
            sqlite.sql
        );
    }
}
