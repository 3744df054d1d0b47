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
pub struct Transaction(crate::db::connections::Taken);

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
        if self.delivery.as_ref().is_some_and(|scope| scope.id == id) {
            // The delivery's own record is held by the handler's transaction: recording it again
            // would wait for that transaction forever.
            return Err(TransactionError::Unavailable(crate::context::Unavailable {
                resource: "ctx.once(<this delivery's id>)",
                hint: "this handler has the `once` option: the whole delivery already runs once; \
                       write through ctx.delivery_transaction()"
                    .into(),
            })
            .into());
        }
        let Some(mut tx) = begin_recorded(self, id).await? else {
            tracing::info!(delivery_id = id, "delivery already processed; work skipped");
            self.shared.metrics.duplicate_skipped(self.handler_name());
            return Ok(Once::AlreadyProcessed);
        };
        let value = match work(&mut tx).await {
            Ok(value) => value,
            Err(e) => {
                tx.0.roll_back().await;
                return Err(e);
            }
        };
        tx.0.commit().await.map_err(TransactionError::from)?;
        Ok(Once::Ran(value))
    }

    /// The transaction of this delivery, in a handler with the `once` option (`#[event(…,
    /// once)]`): what the handler writes through it commits together with the delivery's
    /// record, after the handler succeeds, and rolls back if it fails.
    ///
    /// ```no_run
    /// # use rasura::{Ctx, Event, EventError};
    /// # async fn handler(ctx: Ctx, event: Event<serde_json::Value>) -> Result<(), EventError> {
    /// use rasura::db::sqlx;
    /// let mut tx = ctx.delivery_transaction().await?;
    /// sqlx::query("UPDATE account SET credits = credits + 1")
    ///     .execute(&mut *tx)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn delivery_transaction(&self) -> Result<DeliveryTransaction, TransactionError> {
        let not_once = || {
            TransactionError::Unavailable(crate::context::Unavailable {
                resource: "ctx.delivery_transaction()",
                hint: "only a handler with the `once` option has one (`#[event(…, once)]`)".into(),
            })
        };
        let scope = self.delivery.clone().ok_or_else(not_once)?;
        let guard = scope.tx.clone().lock_owned().await;
        if guard.is_none() {
            // The delivery already ended (a clone of the context outlived the handler).
            return Err(not_once());
        }
        Ok(DeliveryTransaction(guard))
    }
}

/// The delivery's transaction in a `once` handler ([`Ctx::delivery_transaction`]): a Postgres
/// connection inside the transaction (`&mut *tx` is an executor). Held, it blocks other users
/// of the same transaction; drop it before awaiting anything long.
pub struct DeliveryTransaction(tokio::sync::OwnedMutexGuard<Option<Transaction>>);

impl std::ops::Deref for DeliveryTransaction {
    type Target = sqlx::PgConnection;
    fn deref(&self) -> &sqlx::PgConnection {
        match &*self.0 {
            Some(tx) => tx,
            // Checked when the guard was made, and only the pipeline takes it (under the lock).
            None => unreachable!("a DeliveryTransaction always holds a transaction"),
        }
    }
}

impl std::ops::DerefMut for DeliveryTransaction {
    fn deref_mut(&mut self) -> &mut sqlx::PgConnection {
        match &mut *self.0 {
            Some(tx) => tx,
            None => unreachable!("a DeliveryTransaction always holds a transaction"),
        }
    }
}

impl std::fmt::Debug for DeliveryTransaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryTransaction")
            .finish_non_exhaustive()
    }
}

/// The open transaction of a `once` delivery, shared with the handler's context.
pub(crate) struct DeliveryScope {
    id: String,
    tx: std::sync::Arc<tokio::sync::Mutex<Option<Transaction>>>,
}

impl DeliveryScope {
    /// Ends the transaction without committing, now (not when the last clone of the context
    /// goes), releasing its record's lock: rolled back, keeping the connection, when the
    /// handler finished (`settled`); closed otherwise (a handler that timed out or panicked may
    /// have left a statement running). A guard still held elsewhere (a task the handler
    /// spawned) keeps the transaction until that guard goes; then the connection is closed.
    pub(crate) async fn roll_back(&self, settled: bool) {
        match self.tx.try_lock() {
            Ok(mut guard) => {
                if let Some(tx) = guard.take() {
                    if settled {
                        tx.0.roll_back().await;
                    }
                }
            }
            Err(_) => {
                let tx = self.tx.clone();
                tokio::spawn(async move { drop(tx.lock().await.take()) });
            }
        }
    }
}

/// The delivery tables exist (applied on first use, under the migrations' advisory lock, so
/// replicas racing here apply them once); old records are pruned at most once an hour.
async fn ready(ctx: &Ctx) -> Result<&sqlx::PgPool, TransactionError> {
    let pool = ctx.db()?;
    ctx.shared
        .deliveries_ready
        .get_or_try_init(|| async {
            // Boxed: once per replica, and otherwise inline in every delivery's future.
            Box::pin(crate::migrations::apply(
                pool,
                &[crate::migrations::DELIVERIES],
            ))
            .await
            .map(|_| ())
        })
        .await?;
    prune_now_and_then(ctx, pool);
    Ok(pool)
}

/// Deletes processed deliveries and attempt counts older than the retention, at most once an
/// hour per replica, in the background.
fn prune_now_and_then(ctx: &Ctx, pool: &sqlx::PgPool) {
    use std::sync::atomic::Ordering;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let last = ctx.shared.deliveries_pruned_at.load(Ordering::Relaxed);
    if now.saturating_sub(last) < 3600
        || ctx
            .shared
            .deliveries_pruned_at
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        return;
    }
    let pool = pool.clone();
    let retention = ctx.shared.delivery_retention;
    tokio::spawn(async move {
        match prune(&pool, retention).await {
            Ok(rows) if rows > 0 => tracing::info!(rows, "pruned old delivery records"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "pruning old delivery records failed"),
        }
    });
}

/// Deletes processed deliveries and attempt counts older than `retention`; returns how many
/// rows went.
pub async fn prune(
    pool: &sqlx::PgPool,
    retention: std::time::Duration,
) -> Result<u64, sqlx::Error> {
    let secs = retention.as_secs_f64();
    let processed = sqlx::query(
        "DELETE FROM rasura.processed_delivery \
         WHERE processed_at < now() - make_interval(secs => $1)",
    )
    .bind(secs)
    .execute(pool)
    .await?;
    let attempts = sqlx::query(
        "DELETE FROM rasura.delivery_attempt WHERE updated_at < now() - make_interval(secs => $1)",
    )
    .bind(secs)
    .execute(pool)
    .await?;
    Ok(processed.rows_affected() + attempts.rows_affected())
}

/// Begins the transaction and records `(handler, id)`; `None` when it was recorded before. A
/// concurrent delivery of the same id blocks on the insert until the first commits (then
/// conflicts) or rolls back (then inserts).
async fn begin_recorded(ctx: &Ctx, id: &str) -> Result<Option<Transaction>, TransactionError> {
    ready(ctx).await?;
    let connections = ctx.shared.connections()?;
    let tx = crate::db::begin_as_recording(
        connections,
        ctx.identity().session_variables(),
        ctx.handler_name(),
        id,
    )
    .await?;
    Ok(tx.map(Transaction))
}

/// The scope of a `once` delivery; `None` when it was processed before.
pub(crate) async fn begin_scope(
    ctx: &Ctx,
    id: &str,
) -> Result<Option<DeliveryScope>, TransactionError> {
    Ok(begin_recorded(ctx, id).await?.map(|tx| DeliveryScope {
        id: id.to_owned(),
        tx: std::sync::Arc::new(tokio::sync::Mutex::new(Some(tx))),
    }))
}

/// Commits a `once` delivery after its handler succeeded; a replay, or any success of a
/// `dead_letter` handler (a redelivery from Hasura's console), also deletes the delivery's dead
/// letter in the same transaction.
pub(crate) async fn commit_scope(
    scope: &DeliveryScope,
    delivery: &crate::pipeline::deliveries::Delivery<'_>,
) -> Result<(), crate::EventError> {
    let taken = match scope.tx.try_lock() {
        Ok(mut guard) => guard.take(),
        Err(_) => None,
    };
    let Some(mut tx) = taken else {
        return Err(crate::EventError::new(
            "the delivery's transaction is still held (a DeliveryTransaction outlived the handler)",
        ));
    };
    if delivery.replay || delivery.policy.dead_letter {
        sqlx::query("DELETE FROM rasura.dead_letter WHERE id = $1")
            .bind(&delivery.id)
            .execute(&mut *tx.0)
            .await
            .map_err(|e| crate::EventError::from(TransactionError::from(e)))?;
    }
    tx.0.commit()
        .await
        .map_err(|e| crate::EventError::from(TransactionError::from(e)))
}

/// Counts a failed attempt of a delivery without a retry counter; returns the attempts so far
/// (1 after the first failure).
pub(crate) async fn count_attempt(ctx: &Ctx, id: &str) -> Result<u32, TransactionError> {
    let pool = ready(ctx).await?;
    let attempts: i32 = sqlx::query_scalar(
        "INSERT INTO rasura.delivery_attempt (handler, id, attempts) VALUES ($1, $2, 1) \
         ON CONFLICT (handler, id) DO UPDATE \
         SET attempts = rasura.delivery_attempt.attempts + 1, updated_at = now() \
         RETURNING attempts",
    )
    .bind(ctx.handler_name())
    .bind(id)
    .fetch_one(pool)
    .await?;
    Ok(u32::try_from(attempts).unwrap_or(0))
}

/// Forgets the attempts of a delivery that ended (best effort: the retention prunes leftovers).
pub(crate) async fn forget_attempts(ctx: &Ctx, id: &str) {
    let Ok(pool) = ready(ctx).await else { return };
    let deleted = sqlx::query("DELETE FROM rasura.delivery_attempt WHERE handler = $1 AND id = $2")
        .bind(ctx.handler_name())
        .bind(id)
        .execute(pool)
        .await;
    if let Err(e) = deleted {
        tracing::warn!(error = %e, "forgetting the delivery's attempts failed");
    }
}

/// Stores the delivery in `rasura.dead_letter` (replacing an older letter of the same id).
pub(crate) async fn store_dead_letter(
    ctx: &Ctx,
    delivery: &crate::pipeline::deliveries::Delivery<'_>,
    error: &crate::EventError,
    attempts: u32,
) -> Result<(), TransactionError> {
    let pool = ready(ctx).await?;
    let payload = String::from_utf8_lossy(delivery.body);
    sqlx::query(
        "INSERT INTO rasura.dead_letter (id, handler, payload, error, attempts) \
         VALUES ($1, $2, $3::jsonb, $4, $5) \
         ON CONFLICT (id) DO UPDATE SET handler = EXCLUDED.handler, \
         payload = EXCLUDED.payload, error = EXCLUDED.error, attempts = EXCLUDED.attempts, \
         failed_at = now()",
    )
    .bind(&delivery.id)
    .bind(delivery.handler.name)
    .bind(&*payload)
    .bind(error.to_string())
    .bind(i32::try_from(attempts).unwrap_or(i32::MAX))
    .execute(pool)
    .await?;
    Ok(())
}

/// Deletes a replayed dead letter.
pub(crate) async fn delete_dead_letter(ctx: &Ctx, id: &str) -> Result<(), TransactionError> {
    let pool = ready(ctx).await?;
    sqlx::query("DELETE FROM rasura.dead_letter WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Counts a failed replay on its dead letter.
pub(crate) async fn record_replay_failure(ctx: &Ctx, id: &str, message: &str) {
    let Ok(pool) = ready(ctx).await else { return };
    let updated = sqlx::query(
        "UPDATE rasura.dead_letter SET attempts = attempts + 1, error = $2, failed_at = now() \
         WHERE id = $1",
    )
    .bind(id)
    .bind(message)
    .execute(pool)
    .await;
    if let Err(e) = updated {
        tracing::warn!(error = %e, "recording the failed replay failed");
    }
}

/// How long Hasura should wait before the next attempt of a failed delivery (sent as
/// `Retry-After`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backoff {
    /// The same delay every time (Hasura's own `interval_sec`).
    Fixed {
        /// Seconds between attempts.
        interval_sec: u32,
    },
    /// `base_sec · 2^current_retry`, at most `max_sec`.
    Exponential {
        /// The first delay, seconds.
        base_sec: u32,
        /// The largest delay, seconds.
        max_sec: u32,
    },
}

/// Largest share of a delay that jitter may add or remove.
pub const JITTER: f64 = 0.2;

impl Backoff {
    /// The delay before the next attempt when `current_retry` attempts came before this one
    /// (0 on the first delivery), without jitter; at least 1 s.
    pub fn delay_secs(&self, current_retry: u32) -> u64 {
        let secs = match *self {
            Backoff::Fixed { interval_sec } => u64::from(interval_sec),
            Backoff::Exponential { base_sec, max_sec } => {
                let factor = 1u64.checked_shl(current_retry.min(63)).unwrap_or(u64::MAX);
                u64::from(base_sec)
                    .saturating_mul(factor)
                    .min(u64::from(max_sec))
            }
        };
        secs.max(1)
    }

    /// [`Backoff::delay_secs`] moved by `jitter` × 20% (`jitter` in −1..=1, from a random
    /// source), rounded, at least 1 s: replicas that failed together do not retry together.
    pub fn jittered_secs(&self, current_retry: u32, jitter: f64) -> u64 {
        let delay = self.delay_secs(current_retry) as f64;
        let moved = delay * (1.0 + JITTER * jitter.clamp(-1.0, 1.0));
        (moved.round() as u64).max(1)
    }

    /// [`Backoff::jittered_secs`] with a random jitter.
    pub fn retry_after_secs(&self, current_retry: u32) -> u64 {
        let jitter = rand::random::<f64>() * 2.0 - 1.0;
        self.jittered_secs(current_retry, jitter)
    }
}

/// Whether an answer may still carry `Retry-After`: Hasura stops retrying only when its tries
/// reach `num_retries` *and* the answer has none, so past the last retry a `Retry-After` would
/// keep the event alive forever.
pub fn retries_left(info: &crate::protocol::DeliveryInfo) -> bool {
    info.current_retry < info.max_retries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_backoff_doubles_up_to_the_cap() {
        let backoff = Backoff::Exponential {
            base_sec: 10,
            max_sec: 3600,
        };
        let delays: Vec<u64> = (0..10).map(|r| backoff.delay_secs(r)).collect();
        assert_eq!(delays, [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600]);
        assert_eq!(backoff.delay_secs(u32::MAX), 3600, "no overflow");
        assert_eq!(Backoff::Fixed { interval_sec: 0 }.delay_secs(3), 1);
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        let backoff = Backoff::Exponential {
            base_sec: 10,
            max_sec: 600,
        };
        assert_eq!(backoff.jittered_secs(2, -1.0), 32);
        assert_eq!(backoff.jittered_secs(2, 1.0), 48);
        assert_eq!(backoff.jittered_secs(2, 5.0), 48, "clamped");
        for retry in 0..8 {
            let base = backoff.delay_secs(retry) as f64;
            for _ in 0..200 {
                let secs = backoff.retry_after_secs(retry) as f64;
                assert!(secs >= (base * 0.8).floor().max(1.0), "{secs} for {base}");
                assert!(secs <= (base * 1.2).ceil(), "{secs} for {base}");
            }
        }
    }

    #[test]
    fn retry_after_only_while_retries_remain() {
        let info = |current_retry, max_retries| crate::protocol::DeliveryInfo {
            current_retry,
            max_retries,
        };
        assert!(retries_left(&info(0, 5)));
        assert!(retries_left(&info(4, 5)));
        assert!(!retries_left(&info(5, 5)));
        assert!(!retries_left(&info(0, 0)));
    }
}
