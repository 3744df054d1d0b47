//! The HTTP server: accepts connections up to a cap and serves each with hyper, under
//! timeouts that keep slow or idle clients from holding descriptors (`axum::serve` gives hyper
//! no timer, so a client that sends half its headers would stay forever), then drains on
//! shutdown.
//!
//! Each connection has a watchdog task that knows what the connection is doing:
//! - **head**: waiting for a request's headers (from the connection's start, or from the first
//!   byte of a later request): dropped after `RASURA_HEADER_READ_TIMEOUT`;
//! - **body**: the request's body is being read: after `RASURA_BODY_READ_TIMEOUT` the body
//!   fails with [`BodyReadTimeout`], which the pipeline answers with 408;
//! - **busy**: a handler runs (it has its own timeout);
//! - **writing**: a response is being written: dropped when the client reads nothing for
//!   `RASURA_IDLE_TIMEOUT`;
//! - **idle**: kept alive between requests: closed after `RASURA_IDLE_TIMEOUT`.
//!
//! The request path only updates counters (no clock, no timer, nothing polled per wake-up); the
//! watchdog wakes four times per limit and notes when they last moved. Closing an idle
//! connection is a compare-and-swap on the change counter, so a request that arrives at that
//! moment is either seen (and the connection kept) or finds the connection closed before any of
//! it was accepted. hyper's own header timer is not used: it starts as soon as a kept-alive
//! connection waits, so it would also be the idle timeout.
//!
//! An over-long request target is refused here in Hasura's format (414); what hyper itself
//! refuses before a request exists (malformed framing 400, more than 100 headers or a head over
//! 64 KiB 431) gets hyper's bare answer.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::task::AtomicWaker;
use http::StatusCode;
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{Semaphore, watch};

use crate::config::Config;
use crate::error::Rejection;
use crate::pipeline::Dispatch;

/// Longest request target accepted (414 above).
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Largest request head (start line and headers) hyper accepts (its bare 431 above).
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// The connection limits of [`Config`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub header_read: Duration,
    pub body_read: Duration,
    pub idle: Duration,
    pub max_connections: usize,
}

impl Limits {
    pub(crate) fn of(config: &Config) -> Self {
        Self {
            header_read: config.header_read_timeout,
            body_read: config.body_read_timeout,
            idle: config.idle_timeout,
            max_connections: config
                .max_connections
                .clamp(1, crate::config::MAX_MAX_CONNECTIONS),
        }
    }

    /// How often the watchdog looks: a limit is enforced within a quarter of itself.
    fn tick(&self) -> Duration {
        (self.header_read.min(self.body_read).min(self.idle) / 4).max(Duration::from_millis(10))
    }
}

/// The request body was not received within `RASURA_BODY_READ_TIMEOUT`.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the request body was not received in time")]
pub(crate) struct BodyReadTimeout;

const HEAD: u8 = 0;
const BODY: u8 = 1;
const BUSY: u8 = 2;
const WRITING: u8 = 3;
const IDLE: u8 = 4;

const CARRY_ON: u8 = 0;
/// Shutting down: reads end once no request is being served.
const CLOSE: u8 = 1;
/// The body took too long: it fails, and reads end after the 408.
const BODY_EXPIRED: u8 = 2;

/// Set in [`Activity::changes`] once the watchdog closed the connection.
const CLOSED: u64 = 1 << 63;

/// What a connection is doing. Written by the connection's task (counters and flags, in
/// `Relaxed` order: the watchdog only needs to see them move), read by its watchdog.
struct Activity {
    /// Requests whose handler (service future) has not answered yet.
    handling: AtomicU32,
    /// Responses whose body hyper has not finished writing.
    writing: AtomicU32,
    /// The current request's body is still being received.
    body_pending: AtomicBool,
    /// Bytes of a request's head arrived (or the connection is new) with no request yet.
    head_started: AtomicBool,
    /// Bumped on every change above; [`CLOSED`] once the watchdog closed the connection.
    changes: AtomicU64,
    /// Bytes written, so a stalled reader shows.
    written: AtomicU64,
    verdict: AtomicU8,
    read_waker: AtomicWaker,
    body_waker: AtomicWaker,
}

impl Activity {
    fn new() -> Self {
        Self {
            handling: AtomicU32::new(0),
            writing: AtomicU32::new(0),
            body_pending: AtomicBool::new(false),
            head_started: AtomicBool::new(true),
            changes: AtomicU64::new(0),
            written: AtomicU64::new(0),
            verdict: AtomicU8::new(CARRY_ON),
            read_waker: AtomicWaker::new(),
            body_waker: AtomicWaker::new(),
        }
    }

    /// Records a change; `false` when the watchdog has closed the connection.
    fn bump(&self) -> bool {
        self.changes.fetch_add(1, Ordering::AcqRel) & CLOSED == 0
    }

    fn closed(&self) -> bool {
        self.changes.load(Ordering::Acquire) & CLOSED != 0
    }

    fn request_started(&self) {
        self.head_started.store(false, Ordering::Relaxed);
        self.body_pending.store(true, Ordering::Relaxed);
        self.handling.fetch_add(1, Ordering::Relaxed);
        self.bump();
    }

    fn body_done(&self) {
        if self.body_pending.swap(false, Ordering::Relaxed) {
            self.bump();
        }
    }

    fn response_ready(&self) {
        self.body_pending.store(false, Ordering::Relaxed);
        self.writing.fetch_add(1, Ordering::Relaxed);
        self.handling.fetch_sub(1, Ordering::Relaxed);
        self.bump();
    }

    fn response_written(&self) {
        self.writing.fetch_sub(1, Ordering::Relaxed);
        self.bump();
    }

    fn serving(&self) -> bool {
        self.handling.load(Ordering::Relaxed) > 0
            || self.writing.load(Ordering::Relaxed) > 0
            || self.body_pending.load(Ordering::Relaxed)
    }

    fn phase(&self) -> u8 {
        if self.body_pending.load(Ordering::Relaxed) {
            BODY
        } else if self.handling.load(Ordering::Relaxed) > 0 {
            BUSY
        } else if self.writing.load(Ordering::Relaxed) > 0 {
            WRITING
        } else if self.head_started.load(Ordering::Relaxed) {
            HEAD
        } else {
            IDLE
        }
    }

    fn wrote(&self, n: usize) {
        // One writer (the connection's task): a load and a store, no locked instruction.
        let total = self.written.load(Ordering::Relaxed);
        self.written
            .store(total.wrapping_add(n as u64), Ordering::Relaxed);
    }

    /// What the watchdog compares between ticks: any movement restarts the clock.
    fn state(&self) -> (u8, u64, u64) {
        (
            self.phase(),
            self.changes.load(Ordering::Acquire),
            self.written.load(Ordering::Relaxed),
        )
    }

    fn verdict(&self) -> u8 {
        self.verdict.load(Ordering::Acquire)
    }

    /// Reads end when the watchdog closed the connection, or once a closing or timed-out
    /// connection has no request left to serve.
    fn ends_reads(&self) -> bool {
        self.closed() || (self.verdict() != CARRY_ON && !self.serving())
    }

    /// Closes the connection if nothing moved since `seen` (the change counter the watchdog
    /// last saw); `false` when something did.
    fn close_if_unchanged(&self, seen: u64) -> bool {
        self.changes
            .compare_exchange(seen, seen | CLOSED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

/// The socket: tells the watchdog when a new request's first bytes arrive, and reads as
/// end-of-stream once the watchdog closed the connection.
struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
    /// The connection task's waker is registered once: it does not change.
    registered: bool,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.registered {
            self.activity.read_waker.register(cx.waker());
            self.registered = true;
        }
        if self.activity.ends_reads() {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before
            && !self.activity.serving()
            && !self.activity.head_started.swap(true, Ordering::Relaxed)
            && !self.activity.bump()
        {
            // The watchdog closed the connection just before these bytes: nothing of the
            // request is accepted, the client sees a closed keep-alive connection.
            buf.set_filled(before);
            return Poll::Ready(Ok(()));
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = polled {
            self.activity.wrote(n);
        }
        polled
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = polled {
            self.activity.wrote(n);
        }
        polled
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// The request body: marks the end of the body phase, and fails with [`BodyReadTimeout`] when
/// the watchdog says it took too long.
struct WatchedBody {
    inner: hyper::body::Incoming,
    activity: Arc<Activity>,
    registered: bool,
}

impl WatchedBody {
    fn done(&self) {
        self.activity.body_done();
    }
}

impl hyper::body::Body for WatchedBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let expired = || Poll::Ready(Some(Err(Box::new(BodyReadTimeout) as Self::Error)));
        if self.activity.verdict() == BODY_EXPIRED {
            return expired();
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Pending => {
                if !self.registered {
                    self.activity.body_waker.register(cx.waker());
                    self.registered = true;
                    if self.activity.verdict() == BODY_EXPIRED {
                        return expired();
                    }
                }
                Poll::Pending
            }
            Poll::Ready(None) => {
                self.done();
                Poll::Ready(None)
            }
            Poll::Ready(Some(Ok(frame))) => {
                if self.inner.is_end_stream() {
                    self.done();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// Whether `error` (or any error it wraps) is a [`BodyReadTimeout`].
pub(crate) fn is_body_read_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.is::<BodyReadTimeout>() {
            return true;
        }
        current = e.source();
    }
    false
}

/// A request target over Rasura's limit, answered in Hasura's format (414).
fn over_limits<B>(req: &http::Request<B>) -> Option<Response> {
    let uri = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    let refusal = if uri > MAX_URI_BYTES {
        Rejection::new(
            StatusCode::URI_TOO_LONG,
            "uri-too-long",
            format!("the request target is longer than {MAX_URI_BYTES} bytes"),
        )
    } else {
        return None;
    };
    let mut response = refusal.into_response();
    let id = crate::context::RequestId::from_headers(req.headers());
    response
        .headers_mut()
        .insert(crate::context::REQUEST_ID_HEADER.clone(), id.header_value());
    Some(response)
}

/// Serves `dispatch` on `listener` until `shutdown` resolves, then stops accepting, closes idle
/// connections, and lets in-flight requests finish for at most `grace`. While it serves, a
/// handler blocking its worker thread does not stop the other workers (`worker_nudge`).
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    dispatch: Dispatch,
    limits: Limits,
    grace: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let _nudge = crate::worker_nudge::start();
    let dispatch = Arc::new(dispatch);
    let (stop_tx, stop_rx) = watch::channel(false);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    tokio::pin!(shutdown);
    loop {
        // At the cap, further clients wait in the listen backlog.
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors and the like: wait a little instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let dispatch = Arc::clone(&dispatch);
        let connection = tokio::spawn({
            let activity = activity.clone();
            async move {
                serve_connection(stream, dispatch, activity).await;
                // Aborted or not, the permit is released when this task's future is dropped.
                drop(permit);
            }
        });
        tokio::spawn(watch_connection(
            activity,
            connection.abort_handle(),
            limits,
            stop_rx.clone(),
        ));
    }
    tracing::info!("shutting down: no new connections, finishing in-flight requests");
    drop(listener);
    let _ = stop_tx.send(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(grace, permits.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish within the shutdown timeout");
    }
    Ok(())
}

/// The response body: the response counts as written when hyper drops it (at its end, or
/// when the connection goes).
struct WatchedResponse {
    inner: Body,
    activity: Arc<Activity>,
}

impl Drop for WatchedResponse {
    fn drop(&mut self) {
        self.activity.response_written();
    }
}

impl hyper::body::Body for WatchedResponse {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    dispatch: Arc<Dispatch>,
    activity: Arc<Activity>,
) {
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
        registered: false,
    });
    let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
        activity.request_started();
        let refused = over_limits(&req);
        let dispatch = Arc::clone(&dispatch);
        let activity = activity.clone();
        async move {
            let response = match refused {
                Some(response) => response,
                None => {
                    let body_activity = activity.clone();
                    let req = req.map(|inner| {
                        Body::new(WatchedBody {
                            inner,
                            activity: body_activity,
                            registered: false,
                        })
                    });
                    dispatch.call(req).await
                }
            };
            activity.response_ready();
            Ok::<_, Infallible>(response.map(|inner| WatchedResponse { inner, activity }))
        }
    });
    // Header limits are hyper's (its bare 431): counting them again here would cost every
    // request, and hyper's default count (100) is kept because a higher one makes it allocate
    // two header arrays per request.
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .keep_alive(true)
        .header_read_timeout(None)
        .max_header_size(MAX_HEADER_BYTES);
    let _ = builder.serve_connection(io, service).await;
}

/// The connection's watchdog: enforces the header, body, write and idle limits, and on
/// shutdown closes the connection at once when it serves no request (after its response
/// otherwise). It ends with the connection.
async fn watch_connection(
    activity: Arc<Activity>,
    connection: tokio::task::AbortHandle,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let tick = limits.tick();
    let mut seen = activity.state();
    let mut seen_at = Instant::now();
    let mut stopping = false;
    while !connection.is_finished() {
        tokio::select! {
            changed = stop.changed(), if !stopping => {
                if changed.is_err() || *stop.borrow() {
                    stopping = true;
                    activity.verdict.store(CLOSE, Ordering::Release);
                    activity.read_waker.wake();
                    let now = activity.state();
                    if matches!(now.0, HEAD | IDLE) && activity.close_if_unchanged(now.1) {
                        connection.abort();
                        return;
                    }
                }
            }
            () = tokio::time::sleep(tick) => {
                let now = activity.state();
                if stopping && matches!(now.0, HEAD | IDLE) && activity.close_if_unchanged(now.1) {
                    connection.abort();
                    return;
                }
                if now != seen {
                    (seen, seen_at) = (now, Instant::now());
                    continue;
                }
                let limit = match now.0 {
                    HEAD => limits.header_read,
                    BODY => limits.body_read,
                    WRITING | IDLE => limits.idle,
                    _ => continue,
                };
                if seen_at.elapsed() < limit {
                    continue;
                }
                match now.0 {
                    BODY if activity.verdict() == CARRY_ON => {
                        // The pipeline answers 408; then reads end and the connection closes.
                        activity.verdict.store(BODY_EXPIRED, Ordering::Release);
                        activity.body_waker.wake();
                        seen_at = Instant::now();
                    }
                    // Headers not in time, idle too long, or a client that reads nothing (or,
                    // after a 408, still has not gone): drop the connection, unless a request
                    // arrived this instant.
                    _ => {
                        if activity.close_if_unchanged(now.1) {
                            connection.abort();
                            return;
                        }
                    }
                }
            }
        }
    }
}
