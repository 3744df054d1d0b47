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

/// How far "never" is: a limit too large to add to an instant (`Duration::MAX` as "no timeout")
/// waits this long instead.
const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

/// `limit` after `start`, saturating at [`FAR_FUTURE`] rather than overflowing.
pub(crate) fn deadline_after(start: tokio::time::Instant, limit: Duration) -> tokio::time::Instant {
    start
        .checked_add(limit)
        .unwrap_or_else(|| start + FAR_FUTURE)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_too_large_to_add_means_far_in_the_future_not_a_panic() {
        let now = tokio::time::Instant::now();
        assert_eq!(
            deadline_after(now, Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
        assert!(deadline_after(now, Duration::MAX) >= now + FAR_FUTURE);
        assert!(deadline_after(now, Duration::from_secs(u64::MAX)) >= now + FAR_FUTURE);
    }
}
