//! Postgres for handlers (`ctx.db()`): one `sqlx` pool, created at start-up and shared, and
//! transactions that carry the caller's session to Postgres the way Hasura does.

use std::fmt;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

use crate::config::Secret;
use crate::protocol::SessionVariables;

pub use sqlx;

pub(crate) mod batch;
pub(crate) mod connections;

/// How long a handler waits for a pooled connection before failing.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the pool could not be created or reached.
#[derive(Debug, thiserror::Error)]
#[error("database {target}: {message}")]
pub struct DatabaseError {
    /// `host:port/database`, never the password.
    pub target: String,
    /// What failed.
    pub message: String,
}

fn options(url: &Secret) -> Result<PgConnectOptions, DatabaseError> {
    url.expose()
        .parse::<PgConnectOptions>()
        .map_err(|e| DatabaseError {
            target: "(DATABASE_URL)".into(),
            // sqlx's parse errors name the part that is wrong, not the URL itself.
            message: format!("invalid URL: {}", redact(&e.to_string(), url.expose())),
        })
}

fn target(options: &PgConnectOptions) -> String {
    format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("(default)")
    )
}

/// Removes `secret` (and its password part) from `text`, in case a driver echoes it.
fn redact(text: &str, secret: &str) -> String {
    let mut text = text.replace(secret, "[redacted]");
    if let Ok(url) = url::Url::parse(secret) {
        if let Some(password) = url.password().filter(|p| p.len() > 2) {
            text = text.replace(password, "[redacted]");
        }
    }
    text
}

/// A pooled connection idle for longer than this is pinged before it is handed out.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

fn pool_options(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // sqlx pings every connection it hands out by default: a round trip per transaction,
        // a sixth of a `once` delivery's CPU. A connection in steady use has just proven
        // itself; only one idle for a while (the database may have restarted since) is
        // pinged, and a dead one is replaced before the handler sees it.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_WHEN_IDLE_FOR {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
}

/// Connects a pool and checks the database answers (a start-up error names the host, never the
/// password).
pub async fn connect(url: &Secret, max_connections: u32) -> Result<PgPool, DatabaseError> {
    let options = options(url)?;
    let target = target(&options);
    pool_options(max_connections)
        .connect_with(options)
        .await
        .map_err(|e| DatabaseError {
            target,
            message: format!("cannot connect: {}", redact(&e.to_string(), url.expose())),
        })
}

/// One connection attempt, no retry (a pool retries until its acquire timeout): the driver's own
/// reason, such as "connection refused", for `doctor`.
pub(crate) async fn probe(url: &Secret) -> Result<(), DatabaseError> {
    use sqlx::Connection;
    let options = options(url)?;
    let target = target(&options);
    let connection = sqlx::PgConnection::connect_with(&options)
        .await
        .map_err(|e| DatabaseError {
            target,
            message: format!("cannot connect: {}", redact(&e.to_string(), url.expose())),
        })?;
    let _ = connection.close().await;
    Ok(())
}

/// A pool that connects on first use (for routers built without `await`).
pub fn connect_lazy(url: &Secret, max_connections: u32) -> Result<PgPool, DatabaseError> {
    Ok(pool_options(max_connections).connect_lazy_with(options(url)?))
}

/// Whether the database answers `SELECT 1` within `timeout`.
pub async fn ping(pool: &PgPool, timeout: Duration) -> Result<(), String> {
    match tokio::time::timeout(timeout, sqlx::query("SELECT 1").execute(pool)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {}s", timeout.as_secs_f32())),
    }
}

/// Begins a transaction with `hasura.user` set to `session` (as JSON, for this transaction only),
/// as Hasura does for its own writes: event triggers fired by this transaction's writes carry
/// the session in `event.session_variables`.
pub async fn begin_as(
    pool: &PgPool,
    session: &SessionVariables,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    // The setting and `BEGIN` in one round trip: sqlx sends a custom begin statement as one
    // simple query. `BEGIN` last (the setting is kept: the statements before it are part of
    // the transaction it opens), so a failure leaves no transaction behind.
    let statement = format!(
        "SELECT set_config('hasura.user', {}, true); BEGIN",
        sql_literal(&session_json(session)?)?
    );
    begin(pool, statement.into()).await
}

/// [`begin_as`] on one of the delivery connections, recording the delivery `id` of `handler` in
/// `rasura.processed_delivery` in the same round trip; `None` when the delivery was processed
/// before (or by a concurrent duplicate, which held the record until it committed).
///
/// The record and the setting come first in the one simple query, so they run in the query's
/// implicit transaction, which the `BEGIN` at its end turns into the transaction returned
/// (Postgres's protocol, "Multiple Statements in a Simple Query"): the record commits with the
/// work. A recorded delivery's insert fails on the primary key instead, as does anything else
/// that fails before `BEGIN`: that rolls the whole query back and leaves the connection idle,
/// with no transaction to end.
///
/// A connection that turns out dead (pinged only after a second idle, so one that died within
/// that second, such as at a database restart) fails the query before anything ran; the begin
/// is then tried once more on another connection.
pub(crate) async fn begin_as_recording(
    connections: &connections::Connections,
    session: &SessionVariables,
    handler: &str,
    id: &str,
) -> Result<Option<connections::Taken>, sqlx::Error> {
    use sqlx::SqlSafeStr;
    let statement = sqlx::AssertSqlSafe(format!(
        "INSERT INTO rasura.processed_delivery (handler, id) VALUES ({}, {}); \
         SELECT set_config('hasura.user', {}, true); BEGIN",
        sql_literal(handler)?,
        sql_literal(id)?,
        sql_literal(&session_json(session)?)?
    ))
    .into_sql_str();
    let (mut conn, begun) =
        on_live_connection(connections, |conn| Box::pin(conn.begin(statement.clone()))).await?;
    match begun {
        Ok(()) => Ok(Some(conn)),
        Err(e) if recorded_before(&e) => {
            conn.ended_before_begin();
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Runs one statement outside any transaction on Rasura's own connections (one round trip: no
/// release ping), once more on another connection when the first turns out dead. For the
/// framework's own per-request reads; `statement` may run twice, so it must be one that can.
pub(crate) async fn run_statement<T>(
    connections: &connections::Connections,
    statement: impl for<'c> Fn(
        &'c mut sqlx::PgConnection,
    ) -> futures_util::future::BoxFuture<'c, Result<T, sqlx::Error>>,
) -> Result<T, sqlx::Error> {
    let (mut conn, answer) = on_live_connection(connections, |conn| statement(conn)).await?;
    if answer.is_ok() {
        conn.answered();
    }
    answer
}

/// Runs `op` on one of Rasura's own connections, and once more on another when the first turns
/// out dead (`connection_lost`); returns the connection `op` last ran on, with its answer.
async fn on_live_connection<T>(
    connections: &connections::Connections,
    op: impl for<'c> Fn(
        &'c mut connections::Taken,
    ) -> futures_util::future::BoxFuture<'c, Result<T, sqlx::Error>>,
) -> Result<(connections::Taken, Result<T, sqlx::Error>), sqlx::Error> {
    let mut conn = connections.take().await?;
    let mut answer = op(&mut conn).await;
    if let Err(e) = &answer {
        if connection_lost(e) {
            tracing::info!(error = %e, "a Postgres connection was dead; running on another");
            drop(conn);
            conn = connections.take().await?;
            answer = op(&mut conn).await;
        }
    }
    Ok((conn, answer))
}

/// `pool.begin()`, safe to give up midway (see [`begin`]): for Rasura's own transactions that
/// carry no session.
pub(crate) async fn begin_plain(
    pool: &PgPool,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    begin(pool, std::sync::Arc::from("BEGIN")).await
}

/// The delivery's record already exists: the unique violation of `rasura.processed_delivery`.
fn recorded_before(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = e else {
        return false;
    };
    let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() else {
        return false;
    };
    pg.code() == "23505"
        && pg.schema() == Some("rasura")
        && pg.table() == Some("processed_delivery")
}

/// `text` as a Postgres string literal, for the few values sent inside a simple query, which has
/// no parameters: `E'…'` (its escapes do not depend on `standard_conforming_strings`), all
/// ASCII (characters beyond it as escapes such as `\u00E9` and `\U0001D11E`, so no client
/// encoding a session may have switched to can read a quote or a backslash into a multibyte
/// character). A NUL is refused: Postgres text cannot hold one, and the protocol would end the
/// query at it.
fn sql_literal(text: &str) -> Result<String, sqlx::Error> {
    if text.contains('\0') {
        return Err(sqlx::Error::Encode(
            "a NUL character cannot be stored in Postgres text".into(),
        ));
    }
    let mut literal = String::with_capacity(text.len() + 4);
    literal.push_str("E'");
    for c in text.chars() {
        match c {
            '\'' => literal.push_str("''"),
            '\\' => literal.push_str("\\\\"),
            c if c.is_ascii() => literal.push(c),
            c => {
                use std::fmt::Write;
                let code = u32::from(c);
                let _ = if code <= 0xFFFF {
                    write!(literal, "\\u{code:04X}")
                } else {
                    write!(literal, "\\U{code:08X}")
                };
            }
        }
    }
    literal.push('\'');
    Ok(literal)
}

/// `pool.begin_with(statement)`, once more on another connection when the first one turns out
/// dead: pooled connections are pinged only after a second idle, so one that died within that
/// second (a database restart) fails its `BEGIN`, before anything ran (a query the server did
/// not finish is rolled back).
///
/// In a task of its own: sqlx 0.9.0 counts a transaction as begun only once the statement has
/// answered (transact-rs/sqlx#4393, fixed upstream after 0.9.0), so a caller that stopped
/// waiting midway (a handler timeout, a dropped request) would put the connection back in the
/// pool inside the transaction, for whoever uses it next. The task always finishes; a
/// transaction nobody waits for any more is dropped there, which rolls it back. (`once`
/// deliveries begin on connections of their own instead: [`begin_as_recording`].)
async fn begin(
    pool: &PgPool,
    statement: std::sync::Arc<str>,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    use sqlx::AssertSqlSafe;
    let pool = pool.clone();
    let begun = tokio::spawn(async move {
        match pool.begin_with(AssertSqlSafe(statement.clone())).await {
            Err(e) if connection_lost(&e) => {
                tracing::info!(error = %e, "a pooled connection was dead; beginning on another");
                pool.begin_with(AssertSqlSafe(statement)).await
            }
            begun => begun,
        }
    });
    begun
        .await
        .map_err(|e| sqlx::Error::Protocol(format!("beginning the transaction failed: {e}")))?
}

/// The connection itself failed (closed socket, or the server ended the session: admin
/// shutdown, crash shutdown, connection exceptions), not the statement. Not sqlx's protocol
/// errors: the connection may still be alive, with the statement's effects.
fn connection_lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) => true,
        sqlx::Error::Database(_) => sqlstate(e).is_some_and(|code| {
            matches!(code.as_str(), "57P01" | "57P02" | "57P03") || code.starts_with("08")
        }),
        _ => false,
    }
}

fn session_json(session: &SessionVariables) -> Result<String, sqlx::Error> {
    serde_json::to_string(session).map_err(|e| sqlx::Error::Encode(Box::new(e)))
}

/// Why [`crate::Ctx::transaction`] failed.
#[derive(Debug, thiserror::Error)]
pub enum TransactionError {
    /// No database is configured.
    #[error(transparent)]
    Unavailable(#[from] crate::context::Unavailable),
    /// Postgres failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<TransactionError> for crate::ActionError {
    fn from(e: TransactionError) -> Self {
        match e {
            TransactionError::Unavailable(e) => e.into(),
            TransactionError::Database(e) => action_error(&e),
        }
    }
}

/// How this module's errors answer an event or cron delivery: Postgres failures are
/// `postgres-error`, transient when the database is unreachable, busy or the transaction lost
/// a race ([`is_transient`]); a missing database is `not-configured`.
pub(crate) fn classify(any: &dyn std::any::Any) -> Option<crate::error::DeliveryFailure> {
    use crate::error::DeliveryFailure;
    let postgres = |e: &sqlx::Error| DeliveryFailure {
        code: "postgres-error",
        transient: is_transient(e),
    };
    if let Some(e) = any.downcast_ref::<sqlx::Error>() {
        return Some(postgres(e));
    }
    match any.downcast_ref::<TransactionError>()? {
        TransactionError::Database(e) => Some(postgres(e)),
        TransactionError::Unavailable(_) => Some(DeliveryFailure {
            code: "not-configured",
            transient: false,
        }),
    }
}

/// The Postgres error code (`SQLSTATE`) of a database error.
fn sqlstate(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// Whether trying again later may succeed: the pool or the connection failed, or Postgres
/// reported a serialization failure, a deadlock or that it is shutting down.
pub fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(_) => sqlstate(e).is_some_and(|code| {
            matches!(
                code.as_str(),
                "40001" | "40P01" | "57P01" | "57P03" | "53300"
            ) || code.starts_with("08")
        }),
        _ => false,
    }
}

/// Maps a database error for an action's caller: a missing row is 404 `not-exists`, a
/// constraint violation keeps Hasura's `constraint-violation` code, and everything else is
/// `postgres-error` with no SQL details (those go to the log).
pub(crate) fn action_error(e: &sqlx::Error) -> crate::ActionError {
    use http::StatusCode;
    let code = sqlstate(e);
    match (e, code.as_deref()) {
        (sqlx::Error::RowNotFound, _) => crate::ActionError::not_found("no such row"),
        (_, Some("23505")) => crate::ActionError::new(
            StatusCode::CONFLICT,
            "constraint-violation",
            "a row with this key already exists",
        ),
        (_, Some(c)) if c.starts_with("23") => crate::ActionError::bad_request(
            "constraint-violation",
            "the change violates a database constraint",
        ),
        _ => {
            tracing::error!(error = %e, "database error");
            crate::ActionError::bad_request("postgres-error", "database error")
        }
    }
}

impl From<sqlx::Error> for crate::ActionError {
    fn from(e: sqlx::Error) -> Self {
        action_error(&e)
    }
}

/// A handle on the pool that `Debug`-prints without the connection string.
pub(crate) struct PoolDebug<'a>(pub(crate) &'a PgPool);

impl fmt::Debug for PoolDebug<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PgPool(size {}, idle {})",
            self.0.size(),
            self.0.num_idle()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_escape_quotes_and_backslashes_and_refuse_nul() {
        assert_eq!(sql_literal("plain").unwrap(), "E'plain'");
        assert_eq!(sql_literal("it's").unwrap(), "E'it''s'");
        assert_eq!(sql_literal("a\\b").unwrap(), "E'a\\\\b'");
        assert_eq!(sql_literal("\\'").unwrap(), "E'\\\\'''");
        assert_eq!(sql_literal("").unwrap(), "E''");
        // Beyond ASCII, escapes: no client encoding can misread them.
        assert_eq!(sql_literal("é ✓").unwrap(), "E'\\u00E9 \\u2713'");
        assert_eq!(sql_literal("𝄞'").unwrap(), "E'\\U0001D11E'''");
        assert!(sql_literal("\u{7f}\u{80}\u{10FFFF}").unwrap().is_ascii());
        assert!(sql_literal("a\0b").is_err());
    }

    #[test]
    fn urls_are_checked_and_never_echoed() {
        let e = options(&Secret::new("postgres://u:hunter2@[bad")).unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let ok = options(&Secret::new("postgres://u:hunter2@db.example:6543/app")).unwrap();
        assert_eq!(target(&ok), "db.example:6543/app");
        assert_eq!(
            redact(
                "failed for postgres://u:hunter2@h/db",
                "postgres://u:hunter2@h/db"
            ),
            "failed for [redacted]"
        );
        assert_eq!(
            redact("password hunter2 rejected", "postgres://u:hunter2@h/db"),
            "password [redacted] rejected"
        );
    }
}
