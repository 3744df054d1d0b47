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
