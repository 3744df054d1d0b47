//! Step 8's guard rails: the handler runs under a timeout and a panic guard, so a stuck or
//! panicking handler becomes an answer, never a hung or dropped connection.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt;

use crate::registry::BoxFuture;

/// How a handler's future ended.
pub(crate) enum Outcome<T> {
    /// It returned.
    Done(T),
    /// It panicked (the panic is caught; the service keeps serving).
    Panicked,
    /// It did not finish within the timeout (it is dropped).
    TimedOut(Duration),
}

/// Runs `fut` until `deadline` at the latest, catching a panic. `limit` is the time limit the
/// deadline stands for, reported when it passes. (A deadline rather than a duration: the caller
/// already knows when the request arrived, so no clock is read here.)
pub(crate) async fn guarded<T>(
    deadline: tokio::time::Instant,
    limit: Duration,
    fut: BoxFuture<T>,
) -> Outcome<T> {
    match tokio::time::timeout_at(deadline, AssertUnwindSafe(fut).catch_unwind()).await {
        Ok(Ok(value)) => Outcome::Done(value),
        Ok(Err(_panic)) => Outcome::Panicked,
        Err(_) => Outcome::TimedOut(limit),
    }
}
