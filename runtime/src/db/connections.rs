//! Rasura's own Postgres connections, beside `ctx.db()`'s sqlx pool: `once` deliveries begin
//! on them, and the framework's own per-request statements (the auth webhook's role and deny
//! list lookups) run on them.
//!
//! A delivery needs three messages to Postgres: the begin (which also records the delivery),
//! the handler's write, `COMMIT`; a lookup needs one. Through sqlx's pool each needed one more:
//! sqlx pings every connection it takes back (no option skips it), and its 0.9.0 release puts
//! a connection back inside the transaction when a begin is given up midway
//! (transact-rs/sqlx#4393).
//!
//! Here a connection goes back to the set only from a state Rasura saw end cleanly: its
//! `COMMIT` or `ROLLBACK` answered, its begin failed before `BEGIN` (a recorded delivery), or a
//! statement outside any transaction answered. Anything else (a handler that timed out or
//! panicked, a request given up, an error midway, a transaction the work ended itself) closes
//! the connection, and Postgres rolls back what it held (a backend still running a statement
//! notices once that statement ends). A connection idle for over a second is pinged before it
//! is handed out, one older than 30 minutes is replaced and one idle for 10 minutes is closed,
//! as sqlx does for its own pool. The most recently returned connection is handed out first,
//! so the others can go idle and close.

use std::time::{Duration, Instant};

use deadpool::managed::{
    Manager, Metrics, Object, Pool, PoolError, QueueMode, RecycleError, RecycleResult,
};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};

/// A connection idle for longer than this is pinged before it is handed out.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);
/// A connection older than this is replaced (sqlx's default `max_lifetime`).
const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);
/// A connection idle for this long is closed (sqlx's default `idle_timeout`).
const IDLE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// How long the ping of an idle connection may take before it is replaced.
const PING_TIMEOUT: Duration = Duration::from_secs(2);
/// How long an explicit rollback may take before the connection is closed instead.
const ROLLBACK_TIMEOUT: Duration = Duration::from_secs(2);

/// Rasura's own set of connections: as many as `ctx.db()`'s pool may hold, each opened when
/// first needed. A clone is another handle on the same set.
#[derive(Clone)]
pub(crate) struct Connections(Pool<Connector>);

impl Connections {
    /// A set connecting where `pool` connects, up to its size (inside a Tokio runtime).
    pub(crate) fn beside(pool: &PgPool) -> Self {
        let connector = Connector {
            options: (*pool.connect_options()).clone(),
        };
        let size = usize::try_from(pool.options().get_max_connections()).unwrap_or(1);
        let pool = Pool::builder(connector)
            .max_size(size.max(1))
            .queue_mode(QueueMode::Lifo)
            .wait_timeout(Some(crate::db::ACQUIRE_TIMEOUT))
            .create_timeout(Some(crate::db::ACQUIRE_TIMEOUT))
            .recycle_timeout(Some(PING_TIMEOUT))
            .runtime(deadpool::Runtime::Tokio1);
        match pool.build() {
            Ok(pool) => {
                close_idle_now_and_then(&pool);
                Connections(pool)
            }
            // Only a missing runtime fails the build, and one is always given.
            Err(e) => unreachable!("the delivery connections' pool is always buildable: {e}"),
        }
    }

    /// A connection, as sqlx errors: none within the acquire timeout (waiting for a free
    /// one, pinging idle ones, connecting) is `PoolTimedOut`, transient as for `ctx.db()`.
    pub(crate) async fn take(&self) -> Result<Taken, sqlx::Error> {
        // deadpool bounds each step (the wait, each ping, the connect); this bounds them all.
        match tokio::time::timeout(crate::db::ACQUIRE_TIMEOUT, self.0.get()).await {
            Ok(Ok(conn)) => Ok(Taken {
                conn: Some(conn),
                idle: false,
            }),
            Ok(Err(PoolError::Backend(e))) => Err(e),
            Ok(Err(PoolError::Timeout(_))) | Err(_) => Err(sqlx::Error::PoolTimedOut),
            Ok(Err(PoolError::Closed)) => Err(sqlx::Error::PoolClosed),
            Ok(Err(e)) => Err(sqlx::Error::Protocol(e.to_string())),
        }
    }
}

/// Closes the connections idle for longer than the idle timeout, once a minute, for as long as
/// the set exists.
fn close_idle_now_and_then(pool: &Pool<Connector>) {
    let pool = pool.weak();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let Some(pool) = pool.upgrade() else { return };
            pool.retain(|conn, _| conn.returned.elapsed() < IDLE_TIMEOUT);
        }
    });
}

/// A connection in the set, with when it last came back.
struct Pooled {
    conn: PgConnection,
    returned: Instant,
}

/// Opens connections, and checks one before handing it out again.
struct Connector {
    options: PgConnectOptions,
}

impl Manager for Connector {
    type Type = Pooled;
    type Error = sqlx::Error;

    async fn create(&self) -> Result<Pooled, sqlx::Error> {
        // Boxed, here and for the ping: deadpool's `get` future holds these inline, and it is
        // part of every delivery's future (moved whole when axum boxes it), while a connect or
        // a ping is rare.
        Ok(Pooled {
            conn: Box::pin(PgConnection::connect_with(&self.options)).await?,
            returned: Instant::now(),
        })
    }

    async fn recycle(&self, pooled: &mut Pooled, metrics: &Metrics) -> RecycleResult<sqlx::Error> {
        if metrics.created.elapsed() > MAX_LIFETIME {
            return Err(RecycleError::message("older than the maximum lifetime"));
        }
        if manager::depth(&pooled.conn) != 0 {
            // Never expected (see `Taken`): a backstop.
            return Err(RecycleError::message("returned inside a transaction"));
        }
        if pooled.returned.elapsed() > PING_WHEN_IDLE_FOR {
            Box::pin(pooled.conn.ping())
                .await
                .map_err(RecycleError::Backend)?;
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

    /// Commits the transaction begun; the connection is idle again once Postgres answered. A
    /// transaction the work ended itself (sqlx counts none open: a nested `begin` given up
    /// midway queues a full `ROLLBACK`) is an error, not a commit of nothing.
    pub(crate) async fn commit(&mut self) -> Result<(), sqlx::Error> {
        if manager::depth(self) != 1 {
            // Not transient: the work does it again on every retry.
            return Err(sqlx::Error::InvalidArgument(
                "the delivery's transaction was ended inside the work (a nested transaction \
                 given up midway rolls it back)"
                    .into(),
            ));
        }
        manager::commit(self).await?;
        self.idle = true;
        Ok(())
    }

    /// Rolls the transaction back and keeps the connection, or closes it when Postgres does
    /// not answer in time (a statement of the work may still be running) or the work ended
    /// the transaction itself (its `ROLLBACK` may still be queued, unsent).
    pub(crate) async fn roll_back(mut self) {
        if manager::depth(&self) != 1 {
            return;
        }
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

    /// A statement run outside any transaction has answered: the connection is idle again
    /// (sqlx reads whatever of the answer a `fetch_one` left unread before its next statement).
    pub(crate) fn answered(&mut self) {
        if manager::depth(self) == 0 {
            self.idle = true;
        }
    }
}

impl std::ops::Deref for Taken {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        match &self.conn {
            Some(pooled) => &pooled.conn,
            None => unreachable!("a Taken holds its connection until dropped"),
        }
    }
}

impl std::ops::DerefMut for Taken {
    fn deref_mut(&mut self) -> &mut PgConnection {
        match &mut self.conn {
            Some(pooled) => &mut pooled.conn,
            None => unreachable!("a Taken holds its connection until dropped"),
        }
    }
}

impl Drop for Taken {
    fn drop(&mut self) {
        if self.idle {
            if let Some(pooled) = &mut self.conn {
                pooled.returned = Instant::now();
            }
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

    /// The transactions and savepoints sqlx counts open on `conn`.
    pub(super) fn depth(conn: &PgConnection) -> usize {
        PgTransactionManager::get_transaction_depth(conn)
    }
}
