//! Rasura's own Postgres connections for `once` deliveries, beside `ctx.db()`'s sqlx pool.
//!
//! A delivery needs three messages to Postgres: the begin (which also records the delivery),
//! the handler's write, `COMMIT`. Through sqlx's pool it needed four: sqlx pings every
//! connection it takes back (no option skips it), and its 0.9.0 release puts a connection back
//! inside the transaction when a begin is given up midway (transact-rs/sqlx#4393).
//!
//! Here a connection goes back to the set only from a state Rasura saw end cleanly: its
//! `COMMIT` or `ROLLBACK` answered, or its begin failed before `BEGIN` (a recorded delivery).
//! Anything else (a handler that timed out or panicked, a request given up, an error midway)
//! closes the connection, and Postgres rolls back what it held at once. A connection idle for
//! over a second is pinged before it is handed out, and one older than 30 minutes is replaced,
//! as sqlx does for its own pool.

use std::time::Duration;

use deadpool::managed::{Manager, Metrics, Object, Pool, PoolError, RecycleError, RecycleResult};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};

/// A connection idle for longer than this is pinged before it is handed out.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);
/// A connection older than this is replaced (sqlx's default `max_lifetime`).
const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);
/// How long an explicit rollback may take before the connection is closed instead.
const ROLLBACK_TIMEOUT: Duration = Duration::from_secs(2);

/// The set of connections `once` deliveries begin on: as many as `ctx.db()`'s pool may hold,
/// opened on first use.
pub(crate) struct DeliveryConnections(Pool<Connector>);

impl DeliveryConnections {
    /// A set connecting where `pool` connects, up to its size.
    pub(crate) fn beside(pool: &PgPool) -> Self {
        let connector = Connector {
            options: (*pool.connect_options()).clone(),
        };
        let size = usize::try_from(pool.options().get_max_connections()).unwrap_or(1);
        let pool = Pool::builder(connector)
            .max_size(size.max(1))
            .wait_timeout(Some(crate::db::ACQUIRE_TIMEOUT))
            .create_timeout(Some(crate::db::ACQUIRE_TIMEOUT))
            .recycle_timeout(Some(crate::db::ACQUIRE_TIMEOUT))
            .runtime(deadpool::Runtime::Tokio1);
        match pool.build() {
            Ok(pool) => DeliveryConnections(pool),
            // Only a missing runtime fails the build, and one is always given.
            Err(e) => unreachable!("the delivery connections' pool is always buildable: {e}"),
        }
    }

    /// A connection, as sqlx errors: no connection within the acquire timeout is
    /// `PoolTimedOut` (transient, as for `ctx.db()`).
    pub(crate) async fn take(&self) -> Result<Taken, sqlx::Error> {
        match self.0.get().await {
            Ok(conn) => Ok(Taken {
                conn: Some(conn),
                idle: false,
            }),
            Err(PoolError::Backend(e)) => Err(e),
            Err(PoolError::Timeout(_)) => Err(sqlx::Error::PoolTimedOut),
            Err(PoolError::Closed) => Err(sqlx::Error::PoolClosed),
            Err(e) => Err(sqlx::Error::Protocol(e.to_string())),
        }
    }
}

/// Opens connections, and checks one before handing it out again.
struct Connector {
    options: PgConnectOptions,
}

impl Manager for Connector {
    type Type = PgConnection;
    type Error = sqlx::Error;

    async fn create(&self) -> Result<PgConnection, sqlx::Error> {
        PgConnection::connect_with(&self.options).await
    }

    async fn recycle(
        &self,
        conn: &mut PgConnection,
        metrics: &Metrics,
    ) -> RecycleResult<sqlx::Error> {
        if metrics.created.elapsed() > MAX_LIFETIME {
            return Err(RecycleError::message("older than the maximum lifetime"));
        }
        // `last_used` is the time since it was last handed out: at least its idle time.
        if metrics.last_used() > PING_WHEN_IDLE_FOR {
            conn.ping().await.map_err(RecycleError::Backend)?;
        }
        Ok(())
    }
}

/// A connection taken from the set: back in the set when dropped if it is known idle, closed
/// otherwise.
pub(crate) struct Taken {
    conn: Option<Object<Connector>>,
    idle: bool,
}

impl Taken {
    /// Begins a transaction with `statement` (sqlx counts it, so a nested `begin` in the work
    /// is a savepoint). A failure leaves the connection closed on drop, except a statement
    /// that failed before its `BEGIN` (`ended_before_begin`), which leaves it idle.
    pub(crate) async fn begin(&mut self, statement: sqlx::SqlStr) -> Result<(), sqlx::Error> {
        manager::begin(self, statement).await
    }

    /// Commits the transaction begun; the connection is idle again once Postgres answered.
    pub(crate) async fn commit(&mut self) -> Result<(), sqlx::Error> {
        manager::commit(self).await?;
        self.idle = true;
        Ok(())
    }

    /// Rolls the transaction back and keeps the connection, or closes it when Postgres does
    /// not answer in time (a statement of the work may still be running).
    pub(crate) async fn roll_back(mut self) {
        if let Ok(Ok(())) =
            tokio::time::timeout(ROLLBACK_TIMEOUT, manager::rollback(&mut self)).await
        {
            self.idle = true;
        }
    }

    /// The begin failed before its `BEGIN`: the query rolled back whole, no transaction is open.
    pub(crate) fn ended_before_begin(&mut self) {
        self.idle = true;
    }
}

impl std::ops::Deref for Taken {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        match &self.conn {
            Some(conn) => conn,
            None => unreachable!("a Taken holds its connection until dropped"),
        }
    }
}

impl std::ops::DerefMut for Taken {
    fn deref_mut(&mut self) -> &mut PgConnection {
        match &mut self.conn {
            Some(conn) => conn,
            None => unreachable!("a Taken holds its connection until dropped"),
        }
    }
}

impl Drop for Taken {
    fn drop(&mut self) {
        if self.idle {
            return;
        }
        if let Some(conn) = self.conn.take() {
            // Out of the set (its place is freed for a new one) and closed: dropping the
            // socket ends the session, and Postgres rolls back whatever it held.
            drop(Object::take(conn));
        }
    }
}

/// sqlx's transaction bookkeeping on a connection outside its pool (so a nested `begin` in the
/// work is a savepoint, as in any sqlx transaction).
mod manager {
    use sqlx::PgConnection;
    use sqlx::postgres::PgTransactionManager;
    use sqlx_core::transaction::TransactionManager;

    pub(super) async fn begin(
        conn: &mut PgConnection,
        statement: sqlx::SqlStr,
    ) -> Result<(), sqlx::Error> {
        PgTransactionManager::begin(conn, Some(statement)).await
    }

    pub(super) async fn commit(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        PgTransactionManager::commit(conn).await
    }

    pub(super) async fn rollback(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        PgTransactionManager::rollback(conn).await
    }
}
