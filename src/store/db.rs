//! The database as services see it: the pool, or one connection held for a whole request.
//!
//! sqlx pings a connection every time it goes back to its pool. When each statement took a
//! connection of its own, a request paid one extra round trip per statement, and PostgreSQL did
//! that work on the cores the server needs (found under load). A request's handle
//! ([`Db::for_request`]) therefore takes one connection at its first statement and keeps it
//! until the request ends. On PostgreSQL that connection comes from the requests' own pool
//! ([`super::request_pool`]), which skips the ping when the last statement was answered in full:
//! no round trip beyond the statements themselves.
//!
//! A write never waits for a second connection while holding the first: [`super::begin_write`]
//! gives the held one back before it begins, so requests cannot starve each other of the pool.

use std::sync::Arc;
use std::time::Instant;

use deadpool::managed::PoolError;
use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::{self, Postgres, Sqlite};
use sea_orm::{
    ConnAcquireErr, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult,
    RuntimeErr, Statement,
};
use sea_query_sqlx::SqlxValues;

use super::StatementCounter;
use super::request_pool::{PooledConnection, RequestPool};

/// The database handle of services: cheap to clone; its clones share what it holds.
#[derive(Clone)]
pub struct Db {
    pool: DatabaseConnection,
    counter: Arc<StatementCounter>,
    /// On PostgreSQL: where a request's handle takes its connection.
    requests: Option<RequestPool>,
    /// Present on a request's handle: the connection its statements share.
    held: Option<Arc<Held>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.pool.get_database_backend())
            .field("holds_a_connection", &self.held.is_some())
            .finish()
    }
}

/// One pooled connection, taken at the first statement; it goes back to the pool when the last
/// clone of the request's handle is dropped (or before a write begins).
#[derive(Default)]
struct Held(tokio::sync::Mutex<Option<Pooled>>);

enum Pooled {
    Postgres(PooledConnection),
    Sqlite(PoolConnection<Sqlite>),
}

/// What a statement is run for.
#[derive(Clone, Copy)]
enum Wanted {
    Execution,
    OneRow,
    AllRows,
}

enum Answer {
    Executed(ExecResult),
    Rows(Vec<QueryResult>),
}

impl Db {
    /// The pool's handle: every statement takes a connection and gives it back. `requests` is
    /// where request handles take theirs on PostgreSQL (SQLite's come from `pool`).
    pub fn new(
        pool: DatabaseConnection,
        requests: Option<RequestPool>,
        counter: Arc<StatementCounter>,
    ) -> Self {
        Self {
            pool,
            counter,
            requests,
            held: None,
        }
    }

    /// A handle for one request: its statements share one connection of the pool.
    pub fn for_request(&self) -> Self {
        Self {
            held: Some(Arc::default()),
            ..self.clone()
        }
    }

    /// The pool itself: for migrations, transactions and its statistics.
    pub fn pool(&self) -> &DatabaseConnection {
        &self.pool
    }

    /// Open and idle connections of the requests' pool (none on SQLite).
    pub(super) fn requests_pool_stats(&self) -> (u32, usize) {
        self.requests.as_ref().map_or((0, 0), |requests| {
            let status = requests.status();
            (status.size as u32, status.available)
        })
    }

    /// Gives the held connection, if any, back to the pool; the next statement takes one again.
    pub(super) async fn release_held(&self) {
        if let Some(held) = &self.held {
            held.0.lock().await.take();
        }
    }

    async fn run(&self, held: &Held, stmt: Statement, wanted: Wanted) -> Result<Answer, DbErr> {
        let mut slot = held.0.lock().await;
        let connection = match &mut *slot {
            Some(connection) => connection,
            None => slot.insert(self.acquire().await?),
        };
        let started = Instant::now();
        let answer = match connection {
            Pooled::Postgres(connection) => {
                let answer = answer::<Postgres>(connection.exchange(), &stmt, wanted).await;
                if answer.is_ok() {
                    connection.settle();
                }
                answer
            }
            Pooled::Sqlite(connection) => answer::<Sqlite>(connection, &stmt, wanted).await,
        };
        self.counter.record(&sea_orm::metric::Info {
            elapsed: started.elapsed(),
            statement: &stmt,
            failed: answer.is_err(),
        });
        answer.map_err(|error| match wanted {
            Wanted::Execution => DbErr::Exec(RuntimeErr::SqlxError(Arc::new(error))),
            Wanted::OneRow | Wanted::AllRows => {
                DbErr::Query(RuntimeErr::SqlxError(Arc::new(error)))
            }
        })
    }

    async fn acquire(&self) -> Result<Pooled, DbErr> {
        // The same errors the pool's own statements give.
        match &self.requests {
            Some(requests) => {
                requests
                    .get()
                    .await
                    .map(Pooled::Postgres)
                    .map_err(|error| match error {
                        PoolError::Timeout(_) => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
                        PoolError::Closed => {
                            DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed)
                        }
                        PoolError::Backend(error) => {
                            DbErr::Conn(RuntimeErr::SqlxError(Arc::new(error)))
                        }
                        other => DbErr::Conn(RuntimeErr::Internal(other.to_string())),
                    })
            }
            None => self
                .pool
                .get_sqlite_connection_pool()
                .acquire()
                .await
                .map(Pooled::Sqlite)
                .map_err(|error| match error {
                    sqlx::Error::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
                    sqlx::Error::PoolClosed => {
                        DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed)
                    }
                    other => DbErr::Conn(RuntimeErr::SqlxError(Arc::new(other))),
                }),
        }
    }
}

/// Runs `stmt` on `connection` the way SeaORM's pool does, values bound by sea-query's binder.
async fn answer<DB>(
    connection: &mut DB::Connection,
    stmt: &Statement,
    wanted: Wanted,
) -> Result<Answer, sqlx::Error>
where
    DB: sqlx::Database,
    SqlxValues: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    QueryResult: From<DB::Row>,
    ExecResult: From<DB::QueryResult>,
{
    let values = SqlxValues(stmt.values.clone().unwrap_or(sea_orm::Values(Vec::new())));
    let query = sqlx::query_with(sqlx::AssertSqlSafe(stmt.sql.as_str()), values);
    Ok(match wanted {
        Wanted::Execution => Answer::Executed(query.execute(&mut *connection).await?.into()),
        Wanted::OneRow => Answer::Rows(
            query
                .fetch_optional(&mut *connection)
                .await?
                .map(QueryResult::from)
                .into_iter()
                .collect(),
        ),
        Wanted::AllRows => Answer::Rows(
            query
                .fetch_all(&mut *connection)
                .await?
                .into_iter()
                .map(QueryResult::from)
                .collect(),
        ),
    })
}

#[async_trait::async_trait]
impl ConnectionTrait for Db {
    fn get_database_backend(&self) -> DbBackend {
        self.pool.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        let Some(held) = &self.held else {
            return self.pool.execute_raw(stmt).await;
        };
        match self.run(held, stmt, Wanted::Execution).await? {
            Answer::Executed(result) => Ok(result),
            Answer::Rows(_) => unreachable!("an execution answers with its result"),
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        // Schema work and maintenance, never on a request's path.
        self.pool.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let Some(held) = &self.held else {
            return self.pool.query_one_raw(stmt).await;
        };
        Ok(self
            .rows(held, stmt, Wanted::OneRow)
            .await?
            .into_iter()
            .next())
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let Some(held) = &self.held else {
            return self.pool.query_all_raw(stmt).await;
        };
        self.rows(held, stmt, Wanted::AllRows).await
    }

    fn support_returning(&self) -> bool {
        self.pool.support_returning()
    }
}

impl Db {
    async fn rows(
        &self,
        held: &Held,
        stmt: Statement,
        wanted: Wanted,
    ) -> Result<Vec<QueryResult>, DbErr> {
        match self.run(held, stmt, wanted).await? {
            Answer::Rows(rows) => Ok(rows),
            Answer::Executed(_) => unreachable!("a query answers with rows"),
        }
    }
}
