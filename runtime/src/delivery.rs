//! Exactly-once effects of at-least-once deliveries (`ctx.once`).
//!
//! Hasura delivers events, cron ticks and scheduled events at least once. `ctx.once(id, work)`
//! runs `work` inside one Postgres transaction that also records `(handler, id)` in
//! `rasura.processed_delivery`: the work's writes and the record commit together or not at
//! all. A redelivery of a recorded id finds the record and skips the work; two concurrent
//! deliveries of the same id serialise on the record's primary key, so the second waits for
//! the first and then skips (or runs, if the first rolled back).
//!
//! "Exactly once" covers what commits in that transaction. A call to another service stays
//! at-least-once: pass the delivery id as its idempotency key.

use crate::context::Ctx;
use crate::db::TransactionError;

/// What `ctx.once` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Once<T> {
    /// The work ran and committed, with its result.
    Ran(T),
    /// This delivery was processed before (or concurrently): the work did not run.
    AlreadyProcessed,
}

impl<T> Once<T> {
    /// Whether the work ran.
    pub fn ran(&self) -> bool {
        matches!(self, Once::Ran(_))
    }
}

/// The transaction `ctx.once` hands to the work: a Postgres connection inside the transaction
/// (`&mut **tx` is an executor, as for `sqlx::Transaction`).
///
/// A type of its own, without a lifetime parameter: with `sqlx::Transaction<'static, _>` in the
/// closure's argument, rustc cannot prove the handler's future `Send` (a higher-ranked lifetime
/// limitation of async closures).
pub struct Transaction(sqlx::Transaction<'static, sqlx::Postgres>);

impl std::ops::Deref for Transaction {
    type Target = sqlx::PgConnection;
    fn deref(&self) -> &sqlx::PgConnection {
        &self.0
    }
}

impl std::ops::DerefMut for Transaction {
    fn deref_mut(&mut self) -> &mut sqlx::PgConnection {
        &mut self.0
    }
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction").finish_non_exhaustive()
    }
}

impl Ctx {
    /// Runs `work` once per delivery `id` of this handler, in a transaction tagged with the
    /// caller's session (as [`Ctx::transaction`]) that also records the delivery. An error from
    /// `work` rolls everything back, so a redelivery runs it again.
    ///
    /// ```no_run
    /// # use rasura::{Ctx, Event, EventError};
    /// # async fn handler(ctx: Ctx, event: Event<serde_json::Value>) -> Result<(), EventError> {
    /// use rasura::db::sqlx;
    /// ctx.once(&event.id, async |tx| {
    ///     sqlx::query("UPDATE account SET credits = credits + 1")
    ///         .execute(&mut **tx)
    ///         .await?;
    ///     Ok::<_, EventError>(())
    /// })
    /// .await?;
    /// # Ok(()) }
    /// ```
    pub async fn once<T, E>(
        &self,
        id: &str,
        work: impl AsyncFnOnce(&mut Transaction) -> Result<T, E>,
    ) -> Result<Once<T>, E>
    where
        E: From<TransactionError>,
    {
        // The table is a framework migration, applied on first use (under the migrations'
        // advisory lock, so replicas racing here apply it once).
        let pool = self.db().map_err(TransactionError::from)?;
        self.shared
            .deliveries_ready
            .get_or_try_init(|| async {
                crate::migrations::apply(pool, &[crate::migrations::DELIVERIES])
                    .await
                    .map(|_| ())
            })
            .await
            .map_err(TransactionError::from)?;
        let mut tx = Transaction(self.transaction().await?);
        // A concurrent delivery of the same id blocks here until the first commits (then
        // conflicts) or rolls back (then inserts).
        let recorded = sqlx::query(
            "INSERT INTO rasura.processed_delivery (handler, id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(self.handler_name())
        .bind(id)
        .execute(&mut *tx.0)
        .await
        .map_err(TransactionError::from)?;
        if recorded.rows_affected() == 0 {
            tracing::info!(delivery_id = id, "delivery already processed; work skipped");
            return Ok(Once::AlreadyProcessed);
        }
        let value = work(&mut tx).await?;
        tx.0.commit().await.map_err(TransactionError::from)?;
        Ok(Once::Ran(value))
    }
}
