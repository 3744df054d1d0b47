//! The persistent audit sink: `rasura_audit.event` (migration `rasura_audit`), written in
//! batches by one background task. Requests only push onto a bounded queue; when the queue is
//! full the event is counted as dropped (and logged), never waited for.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::mpsc;

use super::{AuditEvent, AuditKind, AuditSink};

/// Events waiting to be written, at most.
pub const QUEUE_CAPACITY: usize = 10_000;
/// Events written per `INSERT`, at most.
const BATCH: usize = 500;

/// Writes audit events to Postgres off the request path.
pub struct PostgresAuditSink {
    pool: PgPool,
    capacity: usize,
    queue: OnceLock<Option<mpsc::Sender<Message>>>,
    counters: Arc<Counters>,
}

/// What the writer receives: an event, or a request to write everything before it.
enum Message {
    Event(Box<AuditEvent>),
    Flush(tokio::sync::oneshot::Sender<()>),
}

#[derive(Debug, Default)]
struct Counters {
    dropped: AtomicU64,
    written: AtomicU64,
    /// Queued events that anyone can cause without credentials (a refused webhook secret or
    /// token); they may fill at most a quarter of the queue, so a flood of them cannot crowd
    /// out the rest.
    unauthenticated: AtomicUsize,
}

/// Events anyone can cause without credentials.
fn is_unauthenticated(kind: AuditKind) -> bool {
    matches!(
        kind,
        AuditKind::WebhookSecretRejected | AuditKind::JwtRejected
    )
}

impl std::fmt::Debug for PostgresAuditSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresAuditSink")
            .field("capacity", &self.capacity)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl PostgresAuditSink {
    /// A sink writing through `pool`, queueing at most [`QUEUE_CAPACITY`] events.
    pub fn new(pool: PgPool) -> Self {
        Self::with_capacity(pool, QUEUE_CAPACITY)
    }

    /// A sink with a queue of `capacity` events (at least 1).
    pub fn with_capacity(pool: PgPool, capacity: usize) -> Self {
        Self {
            pool,
            capacity: capacity.max(1),
            queue: OnceLock::new(),
            counters: Arc::default(),
        }
    }

    /// Events dropped because the queue was full (or no runtime could run the writer).
    pub fn dropped(&self) -> u64 {
        self.counters.dropped.load(Ordering::Relaxed)
    }

    /// Events written so far.
    pub fn written(&self) -> u64 {
        self.counters.written.load(Ordering::Relaxed)
    }

    /// The queue, with its writer started on first use (on the caller's Tokio runtime).
    fn queue(&self) -> Option<&mpsc::Sender<Message>> {
        self.queue
            .get_or_init(|| {
                let runtime = tokio::runtime::Handle::try_current().ok()?;
                let (sender, receiver) = mpsc::channel(self.capacity);
                runtime.spawn(write_batches(
                    self.pool.clone(),
                    receiver,
                    self.counters.clone(),
                ));
                Some(sender)
            })
            .as_ref()
    }

    fn drop_event(&self) {
        let dropped = self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        // One line for the first drop, then one per thousand: the log must not flood.
        if dropped == 1 || dropped % 1000 == 0 {
            tracing::warn!(
                dropped,
                "audit queue full: events dropped (they were still logged under rasura::audit)"
            );
        }
    }
}

impl AuditSink for PostgresAuditSink {
    fn record(&self, event: &AuditEvent) {
        let Some(queue) = self.queue() else {
            return self.drop_event();
        };
        let unauthenticated = is_unauthenticated(event.kind);
        if unauthenticated {
            let queued = self
                .counters
                .unauthenticated
                .fetch_add(1, Ordering::Relaxed);
            if queued >= self.capacity.div_ceil(4) {
                self.counters
                    .unauthenticated
                    .fetch_sub(1, Ordering::Relaxed);
                return self.drop_event();
            }
        }
        if queue
            .try_send(Message::Event(Box::new(event.clone())))
            .is_err()
        {
            if unauthenticated {
                self.counters
                    .unauthenticated
                    .fetch_sub(1, Ordering::Relaxed);
            }
            self.drop_event();
        }
    }

    /// Waits until every event recorded before the call is written (or dropped after the
    /// writer's retries).
    fn flush(&self) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            let Some(Some(queue)) = self.queue.get() else {
                return;
            };
            let (done, written) = tokio::sync::oneshot::channel();
            if queue.send(Message::Flush(done)).await.is_ok() {
                let _ = written.await;
            }
        })
    }
}

/// The writer: waits for an event, takes what else is queued (up to a batch), inserts them in
/// one statement. A failed insert is retried with backoff a few times, then counted as dropped.
async fn write_batches(
    pool: PgPool,
    mut receiver: mpsc::Receiver<Message>,
    counters: Arc<Counters>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut flushed = Vec::new();
    while let Some(first) = receiver.recv().await {
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Event(event) => {
                    if is_unauthenticated(event.kind) {
                        counters.unauthenticated.fetch_sub(1, Ordering::Relaxed);
                    }
                    batch.push(*event);
                }
                // Acknowledged once the batch holding everything before it is written.
                Message::Flush(done) => flushed.push(done),
            }
            if batch.len() < BATCH {
                next = receiver.try_recv().ok();
            }
        }
        if batch.is_empty() {
            for done in flushed.drain(..) {
                let _ = done.send(());
            }
            continue;
        }
        let mut delay = Duration::from_millis(100);
        let mut attempts = 0;
        loop {
            match insert(&pool, &batch).await {
                Ok(()) => {
                    counters
                        .written
                        .fetch_add(batch.len() as u64, Ordering::Relaxed);
                    break;
                }
                Err(e) if attempts < 4 => {
                    attempts += 1;
                    tracing::warn!(error = %e, "writing audit events failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 4;
                }
                Err(e) => {
                    counters
                        .dropped
                        .fetch_add(batch.len() as u64, Ordering::Relaxed);
                    tracing::error!(error = %e, events = batch.len(), "audit events dropped: the database refused them");
                    break;
                }
            }
        }
        batch.clear();
        for done in flushed.drain(..) {
            let _ = done.send(());
        }
    }
}

async fn insert(pool: &PgPool, batch: &[AuditEvent]) -> Result<(), sqlx::Error> {
    let column = |f: fn(&AuditEvent) -> Option<String>| batch.iter().map(f).collect::<Vec<_>>();
    sqlx::query(
        "INSERT INTO rasura_audit.event \
         (occurred_at, event, handler, role, user_id, permission, reason, request_id) \
         SELECT * FROM UNNEST($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], \
         $6::text[], $7::text[], $8::text[])",
    )
    .bind(batch.iter().map(|e| e.at).collect::<Vec<_>>())
    .bind(
        batch
            .iter()
            .map(|e| e.kind.as_str().to_owned())
            .collect::<Vec<_>>(),
    )
    .bind(column(|e| e.handler.clone()))
    .bind(column(|e| e.role.clone()))
    .bind(column(|e| e.user_id.clone()))
    .bind(column(|e| e.permission.clone()))
    .bind(column(|e| e.reason.map(str::to_owned)))
    .bind(column(|e| e.request_id.clone()))
    .execute(pool)
    .await?;
    Ok(())
}
