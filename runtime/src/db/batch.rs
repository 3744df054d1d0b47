//! Adaptive batching of the framework's per-request reads by key (the auth webhook's role
//! lookups, the token deny list): while `in_flight` statements run, the keys asked for
//! meanwhile wait and go together in the next statement (`WHERE key = ANY($1)`). An idle
//! batcher runs a key at once, so a lone request waits for nothing; under load one round trip
//! serves many requests, which saves a send, a receive and a wake-up of Postgres per request.
//!
//! Every key is read by a statement that starts after it was asked for, so an answer is never
//! older than the request (unlike a cache). Written here rather than taken from a crate:
//! `dataloader` and `async-graphql`'s loader gather keys for a fixed delay, which every request
//! pays at low load.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::oneshot;

/// Why a batched read has no answer.
#[derive(Debug, Clone)]
pub(crate) enum BatchError {
    /// The statement failed (every key of its batch gets the same error).
    Failed(Arc<sqlx::Error>),
    /// The statement's task ended without an answer (a panic, or the runtime shutting down).
    Abandoned,
    /// The statement did not answer within the batcher's time limit.
    TimedOut,
}

impl std::fmt::Display for BatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Failed(e) => e.fmt(f),
            Self::Abandoned => f.write_str("the batched read ended without an answer"),
            Self::TimedOut => f.write_str("the batched read did not answer in time"),
        }
    }
}

/// For callers that speak `sqlx::Error`: the statement's own error when no other caller shares
/// it; otherwise its message, on the side of `db::is_transient` the statement's error was (a
/// caller deciding whether to retry decides the same). Time-outs and abandoned batches (a
/// shutdown, a panic) are transient.
impl From<BatchError> for sqlx::Error {
    fn from(e: BatchError) -> Self {
        match e {
            BatchError::Failed(e) => Arc::try_unwrap(e).unwrap_or_else(|shared| {
                let message = shared.to_string();
                if crate::db::is_transient(&shared) {
                    sqlx::Error::Io(std::io::Error::other(message))
                } else {
                    sqlx::Error::InvalidArgument(message)
                }
            }),
            BatchError::Abandoned | BatchError::TimedOut => sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                e.to_string(),
            )),
        }
    }
}

/// The statement of one batch: the values of its keys (a key without a value is left out).
pub(crate) type Read<K, V> = BoxFuture<'static, Result<HashMap<K, V>, sqlx::Error>>;

/// Starts the statement reading a batch of distinct keys from the source `S`.
pub(crate) type Fetch<S, K, V> = fn(&S, Vec<K>) -> Read<K, V>;

type Answer<V> = Result<Option<V>, BatchError>;

/// Coalesces concurrent reads by key (see the module documentation).
pub(crate) struct Batcher<K, V> {
    state: Mutex<State<K, V>>,
    in_flight: usize,
    max_keys: usize,
    /// The longest a caller waits in all, and a statement runs: past it the caller answers
    /// `TimedOut`, and a hung statement (a network black hole) gives its slot back rather than
    /// hold every later key behind it.
    limit: Duration,
}

/// The keys waiting for a statement, each with its caller's answer.
type Waiting<K, V> = Vec<(K, oneshot::Sender<Answer<V>>)>;

struct State<K, V> {
    waiting: Waiting<K, V>,
    running: usize,
}

impl<K, V> Batcher<K, V>
where
    K: Eq + Hash + Clone + Send + 'static,
    V: Clone + Send + 'static,
{
    /// At most `in_flight` statements at once (at least 1), each for at most `max_keys` keys
    /// and at most `limit` long.
    pub(crate) fn new(in_flight: usize, max_keys: usize, limit: Duration) -> Self {
        Self {
            state: Mutex::new(State {
                waiting: Vec::new(),
                running: 0,
            }),
            in_flight: in_flight.max(1),
            max_keys: max_keys.max(1),
            limit,
        }
    }

    /// The value of `key` (`None`: the key has none), read by `fetch` from `source` in a
    /// statement that starts after this call. The statement runs in a task of its own, so a
    /// caller giving up does not take the other callers' answers with it. A caller waits at
    /// most the batcher's time limit in all, queueing included.
    ///
    /// A statement task reads every batch it runs with the `source` and `fetch` of the call
    /// that started it: one batcher serves one source (the service's one `Connections`), and
    /// every caller passes the same.
    pub(crate) async fn load<S: Send + Sync + 'static>(
        self: &Arc<Self>,
        key: K,
        source: S,
        fetch: Fetch<S, K, V>,
    ) -> Answer<V> {
        let (answer, answered) = oneshot::channel();
        let start = {
            let mut state = self.lock();
            state.waiting.push((key, answer));
            (state.running < self.in_flight).then(|| {
                state.running += 1;
                // The slot is owned from here on: given back even if the task never runs.
                let slot = Running {
                    batcher: Arc::clone(self),
                    done: false,
                };
                (slot, self.next_batch(&mut state))
            })
        };
        if let Some((slot, batch)) = start {
            tokio::spawn(run(slot, batch, source, fetch));
        }
        match tokio::time::timeout(self.limit, answered).await {
            Ok(answer) => answer.unwrap_or(Err(BatchError::Abandoned)),
            Err(_) => Err(BatchError::TimedOut),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<K, V>> {
        // Nothing panics while the lock is held; a poisoned lock's state is still whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn next_batch(&self, state: &mut State<K, V>) -> Waiting<K, V> {
        if state.waiting.len() <= self.max_keys {
            return std::mem::take(&mut state.waiting);
        }
        // Oldest first; later keys wait for the next statement.
        let rest = state.waiting.split_off(self.max_keys);
        std::mem::replace(&mut state.waiting, rest)
    }
}

/// Runs statements until no key waits.
async fn run<K, V, S>(
    mut slot: Running<K, V>,
    mut batch: Waiting<K, V>,
    source: S,
    fetch: Fetch<S, K, V>,
) where
    K: Eq + Hash + Clone + Send + 'static,
    V: Clone + Send + 'static,
{
    let limit = slot.batcher.limit;
    loop {
        // Callers that gave up (their own time limit) need no statement.
        batch.retain(|(_, answer)| !answer.is_closed());
        if !batch.is_empty() {
            let keys: Vec<K> = {
                let mut seen = HashSet::with_capacity(batch.len());
                batch
                    .iter()
                    .filter(|(key, _)| seen.insert(key))
                    .map(|(key, _)| key.clone())
                    .collect()
            };
            // A timed-out statement's future is dropped, and its connection with it (closed,
            // not returned: it was not seen to end cleanly).
            let result = tokio::time::timeout(limit, fetch(&source, keys)).await;
            match result {
                Ok(Ok(values)) => {
                    for (key, answer) in batch {
                        // A caller that gave up dropped its receiver; nothing to tell it.
                        let _ = answer.send(Ok(values.get(&key).cloned()));
                    }
                }
                Ok(Err(e)) => {
                    let e = Arc::new(e);
                    for (_, answer) in batch {
                        let _ = answer.send(Err(BatchError::Failed(Arc::clone(&e))));
                    }
                }
                Err(_) => {
                    for (_, answer) in batch {
                        let _ = answer.send(Err(BatchError::TimedOut));
                    }
                }
            }
        }
        let batcher = Arc::clone(&slot.batcher);
        let mut state = batcher.lock();
        // The slot is given back in the same critical section that finds nothing waiting, so a
        // key queued just after finds a free slot and starts its own statement.
        if state.waiting.is_empty() {
            state.running -= 1;
            slot.done = true;
            return;
        }
        batch = batcher.next_batch(&mut state);
    }
}

/// Gives the statement slot back if its task ends early (a panic in `fetch`, or the runtime
/// dropping the task), and fails the keys still waiting rather than leave them to a next
/// caller that may never come.
struct Running<K, V> {
    batcher: Arc<Batcher<K, V>>,
    done: bool,
}

impl<K, V> Drop for Running<K, V> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut state = self
            .batcher
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        state.running -= 1;
        if state.running == 0 {
            // Dropping the senders answers `Abandoned`.
            state.waiting.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    const LIMIT: Duration = Duration::from_millis(200);

    /// A source that answers `key * 10` for even keys, counts statements and keys, and can be
    /// told to fail or panic on a key.
    #[derive(Default)]
    struct Numbers {
        statements: AtomicUsize,
        largest: AtomicUsize,
    }

    fn fetch(
        source: &Arc<Numbers>,
        keys: Vec<u32>,
    ) -> BoxFuture<'static, Result<HashMap<u32, u32>, sqlx::Error>> {
        source.statements.fetch_add(1, Ordering::SeqCst);
        source.largest.fetch_max(keys.len(), Ordering::SeqCst);
        Box::pin(async move {
            // A round trip: long enough for other callers to queue behind it.
            tokio::time::sleep(Duration::from_millis(5)).await;
            let distinct: HashSet<&u32> = keys.iter().collect();
            assert_eq!(
                distinct.len(),
                keys.len(),
                "keys of a statement are distinct"
            );
            if keys.contains(&13) {
                return Err(sqlx::Error::Protocol("key 13 fails".into()));
            }
            assert!(!keys.contains(&666), "key 666 panics");
            if keys.contains(&777) {
                // Key 777 never answers (a hung connection).
                std::future::pending::<()>().await;
            }
            Ok(keys
                .into_iter()
                .filter(|k| k % 2 == 0)
                .map(|k| (k, k * 10))
                .collect())
        })
    }

    /// Fails a test that would otherwise hang.
    async fn within<T>(f: impl Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(10), f)
            .await
            .expect("an answer within 10 s")
    }

    async fn load_all(
        batcher: &Arc<Batcher<u32, u32>>,
        source: &Arc<Numbers>,
        keys: &[u32],
    ) -> Vec<Answer<u32>> {
        let calls = keys
            .iter()
            .map(|&k| batcher.load(k, Arc::clone(source), fetch));
        futures_util::future::join_all(calls).await
    }

    #[tokio::test]
    async fn concurrent_keys_share_statements_and_each_gets_its_own_value() {
        let batcher = Arc::new(Batcher::new(1, 1000, LIMIT));
        let source = Arc::new(Numbers::default());
        let keys: Vec<u32> = (100..300).collect();
        let answers = load_all(&batcher, &source, &keys).await;
        for (key, answer) in keys.iter().zip(answers) {
            let want = (key % 2 == 0).then_some(key * 10);
            assert_eq!(answer.unwrap(), want, "key {key}");
        }
        // The first key runs alone; the 199 queued behind it go in one statement.
        assert_eq!(source.statements.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn duplicated_keys_are_read_once_per_statement_and_answered_to_every_caller() {
        let batcher = Arc::new(Batcher::new(1, 1000, LIMIT));
        let source = Arc::new(Numbers::default());
        let keys = vec![4; 50];
        let answers = load_all(&batcher, &source, &keys).await;
        assert!(answers.into_iter().all(|a| a.unwrap() == Some(40)));
        assert_eq!(source.largest.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_lone_key_runs_at_once_and_statements_respect_the_key_limit() {
        let batcher = Arc::new(Batcher::new(2, 16, LIMIT));
        let source = Arc::new(Numbers::default());
        assert_eq!(
            batcher.load(8, Arc::clone(&source), fetch).await.unwrap(),
            Some(80)
        );
        assert_eq!(source.statements.load(Ordering::SeqCst), 1);
        let keys: Vec<u32> = (0..100).map(|k| k * 2).collect();
        let answers = load_all(&batcher, &source, &keys).await;
        assert!(
            answers
                .iter()
                .zip(&keys)
                .all(|(a, k)| a.as_ref().unwrap() == &Some(k * 10))
        );
        assert!(source.largest.load(Ordering::SeqCst) <= 16);
        // 100 keys, at most 16 per statement (the first two alone): at least 8 statements.
        assert!(source.statements.load(Ordering::SeqCst) > 7);
    }

    #[tokio::test]
    async fn a_failed_statement_fails_its_batch_only() {
        let batcher = Arc::new(Batcher::new(1, 1000, LIMIT));
        let source = Arc::new(Numbers::default());
        // 2 runs alone; 13 and 6 wait and share the failing statement.
        let answers = within(load_all(&batcher, &source, &[2, 13, 6])).await;
        assert_eq!(answers[0].as_ref().unwrap(), &Some(20));
        assert!(matches!(answers[1], Err(BatchError::Failed(_))));
        assert!(matches!(answers[2], Err(BatchError::Failed(_))));
        assert!(
            answers[1]
                .as_ref()
                .unwrap_err()
                .to_string()
                .contains("key 13 fails")
        );
        // The batcher goes on.
        assert_eq!(
            batcher.load(6, Arc::clone(&source), fetch).await.unwrap(),
            Some(60)
        );
    }

    #[tokio::test]
    async fn a_panicking_statement_abandons_its_callers_and_frees_its_slot() {
        let batcher = Arc::new(Batcher::new(1, 1000, LIMIT));
        let source = Arc::new(Numbers::default());
        let answers = within(load_all(&batcher, &source, &[666, 2, 4])).await;
        assert!(matches!(answers[0], Err(BatchError::Abandoned)));
        // The keys queued behind the panic are failed, not left waiting.
        assert!(
            answers[1..]
                .iter()
                .all(|a| matches!(a, Err(BatchError::Abandoned)))
        );
        assert_eq!(
            batcher.load(2, Arc::clone(&source), fetch).await.unwrap(),
            Some(20)
        );
        assert_eq!(batcher.lock().running, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_hung_statement_bounds_every_caller_and_frees_its_slot() {
        let batcher = Arc::new(Batcher::new(1, 1000, LIMIT));
        let source = Arc::new(Numbers::default());
        // 777 hangs alone; 2 and 4 queue behind it. Every caller's wait is bounded by the
        // limit in all (not one limit per statement ahead of it).
        let started = tokio::time::Instant::now();
        let answers = within(load_all(&batcher, &source, &[777, 2, 4])).await;
        assert!(started.elapsed() <= LIMIT + Duration::from_millis(1));
        assert!(
            answers
                .iter()
                .all(|a| matches!(a, Err(BatchError::TimedOut)))
        );
        assert_eq!(
            answers[0].as_ref().unwrap_err().to_string(),
            "the batched read did not answer in time"
        );
        // The queued keys' callers gave up, so no statement runs for them; the next key does.
        assert_eq!(
            within(batcher.load(2, Arc::clone(&source), fetch))
                .await
                .unwrap(),
            Some(20)
        );
        assert_eq!(source.statements.load(Ordering::SeqCst), 2);
        assert_eq!(batcher.lock().running, 0);
    }

    #[tokio::test]
    async fn the_caller_that_started_a_statement_giving_up_leaves_the_others_answered() {
        let batcher = Arc::new(Batcher::new(1, 1000, LIMIT));
        let source = Arc::new(Numbers::default());
        // 2 starts the statement and gives up during it; 4 and 6 queue behind it. Were the
        // statement run in 2's own future, it would go with it and 4 and 6 would never start.
        let gives_up = tokio::time::timeout(
            Duration::from_millis(1),
            batcher.load(2, Arc::clone(&source), fetch),
        );
        let (gave_up, four, six) = within(async {
            tokio::join!(
                gives_up,
                batcher.load(4, Arc::clone(&source), fetch),
                batcher.load(6, Arc::clone(&source), fetch)
            )
        })
        .await;
        assert!(gave_up.is_err());
        assert_eq!(four.unwrap(), Some(40));
        assert_eq!(six.unwrap(), Some(60));
        assert_eq!(batcher.lock().running, 0);
    }

    #[tokio::test]
    async fn a_slot_is_given_back_when_its_task_never_runs() {
        let batcher = Arc::new(Batcher::<u32, u32>::new(1, 1000, LIMIT));
        // A runtime that shuts down before running the spawned statement task.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let source = Arc::new(Numbers::default());
        let b = Arc::clone(&batcher);
        let s = Arc::clone(&source);
        std::thread::spawn(move || {
            runtime.block_on(async move {
                let load = b.load(2, s, fetch);
                // Poll once (the key is queued and the task spawned), then drop everything.
                let _ = tokio::time::timeout(Duration::ZERO, load).await;
            });
            drop(runtime);
        })
        .join()
        .unwrap();
        assert_eq!(batcher.lock().running, 0);
        assert_eq!(
            within(batcher.load(4, Arc::clone(&source), fetch))
                .await
                .unwrap(),
            Some(40)
        );
    }

    #[test]
    fn a_batch_error_reads_as_the_statements_own_error_where_it_can() {
        let own: sqlx::Error = BatchError::Failed(Arc::new(sqlx::Error::RowNotFound)).into();
        assert!(matches!(own, sqlx::Error::RowNotFound), "{own:?}");
        // Shared with the rest of its batch: the message survives, and so does whether a retry
        // may help.
        for (error, transient) in [
            (sqlx::Error::Protocol("the server went away".into()), true),
            (
                sqlx::Error::ColumnNotFound("the server went away".into()),
                false,
            ),
        ] {
            let shared = Arc::new(error);
            let kept = Arc::clone(&shared);
            let copy: sqlx::Error = BatchError::Failed(shared).into();
            assert!(
                copy.to_string().contains("the server went away"),
                "{copy:?}"
            );
            assert_eq!(crate::db::is_transient(&copy), transient, "{copy:?}");
            drop(kept);
        }
        for e in [BatchError::Abandoned, BatchError::TimedOut] {
            let message = e.to_string();
            let copy: sqlx::Error = e.into();
            assert!(crate::db::is_transient(&copy), "{copy:?}");
            assert!(copy.to_string().contains(&message), "{copy:?}");
        }
    }
}
