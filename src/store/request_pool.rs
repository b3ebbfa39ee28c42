//! PostgreSQL connections for requests, pooled without a round trip on their way back.
//!
//! sqlx's pool pings every connection as it goes back (a `Sync` and PostgreSQL's answer to it),
//! because it cannot know whether the last statement ran to its end or its future was dropped
//! half-way. Under load that ping was one round trip in three of a `node(id:)` query, answered
//! by a PostgreSQL backend woken on the server's own core. A request's statements go through
//! [`super::Db`], which does know: it marks its connection settled once an answer has been read
//! in full. This pool (deadpool, with the checks below on the way out) pings only a connection
//! that is not settled (a statement failed or was cut off; the ping drains what is left of it,
//! as sqlx's would) or that sat idle long enough for the server to have gone away.
//!
//! Transactions and background work keep SeaORM's pool; SQLite, which runs in the process,
//! keeps it for everything.

use std::time::Duration;

use deadpool::Runtime;
use deadpool::managed::{self, Metrics, RecycleResult};
use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection};
use sea_orm::sqlx::{self, ConnectOptions, Connection};

/// Longer idle than this, and a connection is pinged before it is handed out again.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(30);
/// How long a request waits for a connection, and for a new one to open: as SeaORM's pool.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The requests' pool.
pub type RequestPool = managed::Pool<Connector>;
/// A connection taken from it; it goes back when dropped.
pub type PooledConnection = managed::Object<Connector>;

/// Opens the pool (lazily: a connection opens when a request first needs it).
pub fn open(url: &str, max_connections: usize) -> Result<RequestPool, sqlx::Error> {
    let options: PgConnectOptions = url.parse()?;
    managed::Pool::builder(Connector {
        options: options.disable_statement_logging(),
    })
    .max_size(max_connections.max(1))
    .runtime(Runtime::Tokio1)
    .wait_timeout(Some(TIMEOUT))
    .create_timeout(Some(TIMEOUT))
    .recycle_timeout(Some(TIMEOUT))
    .build()
    .map_err(|error| sqlx::Error::Configuration(error.into()))
}

/// A connection of the requests' pool, and whether its last exchange ran to its end.
pub struct RequestConnection {
    raw: PgConnection,
    settled: bool,
}

impl RequestConnection {
    /// The connection for one exchange; it counts as unsettled until [`Self::settle`].
    pub fn exchange(&mut self) -> &mut PgConnection {
        self.settled = false;
        &mut self.raw
    }

    /// The exchange's answer has been read in full.
    pub fn settle(&mut self) {
        self.settled = true;
    }
}

/// Opens and checks the requests' connections.
pub struct Connector {
    options: PgConnectOptions,
}

impl managed::Manager for Connector {
    type Type = RequestConnection;
    type Error = sqlx::Error;

    async fn create(&self) -> Result<RequestConnection, sqlx::Error> {
        Ok(RequestConnection {
            raw: PgConnection::connect_with(&self.options).await?,
            settled: true,
        })
    }

    async fn recycle(
        &self,
        connection: &mut RequestConnection,
        metrics: &Metrics,
    ) -> RecycleResult<sqlx::Error> {
        // A failed ping drops the connection; the pool then opens another.
        if !connection.settled || metrics.last_used() > IDLE_BEFORE_PING {
            connection.raw.ping().await?;
            connection.settled = true;
        }
        Ok(())
    }
}
