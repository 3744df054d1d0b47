//! Keeps the runtime's I/O and timers turning while a handler blocks a worker thread.
//!
//! tokio's multi-thread runtime turns its I/O driver and timers only from a worker that parks.
//! A worker woken by I/O runs the tasks it woke without handing the driver to another worker,
//! so when one of them blocks its thread (synchronous I/O, `std::thread::sleep`, a long
//! computation), the idle workers asleep on their condition variables stay asleep and no
//! connection, timer or other route is served until it returns: the other workers exist but
//! nothing wakes them. A thread of Rasura's own spawns an empty task every [`PERIOD`] while the
//! server runs; a task spawned from outside the runtime wakes a sleeping worker, which, finding
//! nothing else to do, parks on the driver and serves the rest. The cost is one empty task per
//! period (ten a second), off the request path.

use std::sync::mpsc;
use std::time::Duration;

/// Longest time a blocked worker can keep the other workers from serving.
pub(crate) const PERIOD: Duration = Duration::from_millis(100);

/// Nudges the current runtime's workers until dropped.
pub(crate) struct WorkerNudge {
    _stop: mpsc::Sender<()>,
}

/// Starts nudging the current runtime's workers; `None` where there is nothing to nudge (a
/// current-thread runtime: its one thread blocked, nothing can answer) or no thread to do it.
pub(crate) fn start() -> Option<WorkerNudge> {
    let runtime = tokio::runtime::Handle::try_current().ok()?;
    if runtime.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
        return None;
    }
    let (stop, stopped) = mpsc::channel::<()>();
    let spawned = std::thread::Builder::new()
        .name("rasura-nudge".into())
        .spawn(move || {
            // Ends when the guard is dropped (the sender goes: `Disconnected`).
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(PERIOD) {
                drop(runtime.spawn(async {}));
            }
        });
    match spawned {
        Ok(_) => Some(WorkerNudge { _stop: stop }),
        Err(e) => {
            tracing::warn!(error = %e, "no thread to keep workers serving while one is blocked");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server on two workers: a connection that sends `b` blocks its worker (in a task of its
    /// own, as a handler runs) until `release`; one that sends `p` gets `p` back.
    async fn serve(
        listener: tokio::net::TcpListener,
        started: Arc<AtomicBool>,
        release: Arc<AtomicBool>,
    ) {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let (started, release) = (started.clone(), release.clone());
            tokio::spawn(async move {
                let mut byte = [0u8];
                if stream.read_exact(&mut byte).await.is_err() {
                    return;
                }
                if byte[0] == b'b' {
                    let blocked = tokio::spawn(async move {
                        started.store(true, Ordering::SeqCst);
                        let until = Instant::now() + Duration::from_secs(5);
                        while !release.load(Ordering::SeqCst) && Instant::now() < until {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                    });
                    let _ = blocked.await;
                }
                let _ = stream.write_all(&byte).await;
            });
        }
    }

    /// Whether, with one worker blocked, the other answered within 2 s.
    fn answered_while_blocked(
        address: std::net::SocketAddr,
        started: &AtomicBool,
        release: &AtomicBool,
    ) -> bool {
        started.store(false, Ordering::SeqCst);
        release.store(false, Ordering::SeqCst);
        let mut blocking = std::net::TcpStream::connect(address).unwrap();
        blocking.write_all(b"b").unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !started.load(Ordering::SeqCst) {
            assert!(Instant::now() < deadline, "the blocking task never ran");
            std::thread::sleep(Duration::from_millis(1));
        }
        let mut other = std::net::TcpStream::connect(address).unwrap();
        other
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        other.write_all(b"p").unwrap();
        let mut byte = [0u8];
        let answered = other.read_exact(&mut byte).is_ok();
        release.store(true, Ordering::SeqCst);
        blocking.read_exact(&mut byte).unwrap();
        answered
    }

    #[test]
    fn the_other_worker_answers_while_one_blocks() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (started, release) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let address = listener.local_addr().unwrap();
        let _nudge = runtime.block_on(async { super::start() }).expect("a nudge");
        runtime.spawn(serve(listener, started.clone(), release.clone()));
        for round in 0..40 {
            assert!(
                answered_while_blocked(address, &started, &release),
                "round {round}: no answer while a worker was blocked"
            );
        }
    }

    #[test]
    fn nothing_to_nudge_on_a_current_thread_runtime_or_outside_one() {
        assert!(super::start().is_none());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert!(runtime.block_on(async { super::start() }).is_none());
    }
}
