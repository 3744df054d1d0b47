//! The HTTP server: accepts connections up to a cap and serves each with hyper, under
//! timeouts that keep slow or idle clients from holding descriptors (`axum::serve` gives hyper
//! no timer, so a client that sends half its headers would stay forever), then drains on
//! shutdown.
//!
//! Each connection has a watchdog task that knows what the connection is doing:
//! - **head**: waiting for a request's headers (from the connection's start, or from the first
//!   byte of a later request): closed after `RASURA_HEADER_READ_TIMEOUT`;
//! - **body**: the request's body is being read: after `RASURA_BODY_READ_TIMEOUT` the body
//!   fails with [`BodyReadTimeout`], which the pipeline answers with 408;
//! - **busy**: the handler runs (it has its own timeout);
//! - **idle**: kept alive between requests: closed after `RASURA_IDLE_TIMEOUT`.
//!
//! The request path only stores the phase (no clock, no timer, nothing polled per wake-up); the
//! watchdog wakes four times per limit, notes when the phase changed, and acts through the
//! socket and body wrappers: a closed connection reads as end-of-stream, so hyper closes it
//! cleanly after any response in flight. hyper's own header timer is not used: it starts as
//! soon as a kept-alive connection waits, so it would also be the idle timeout.
//!
//! An over-long request target is refused here in Hasura's format (414); what hyper itself
//! refuses before a request exists (malformed framing 400, more than 100 headers or a head over
//! 64 KiB 431) gets hyper's bare answer.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::task::AtomicWaker;
use http::StatusCode;
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{Semaphore, watch};
use tower::Service as _;

use crate::config::Config;
use crate::error::Rejection;

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
            max_connections: config.max_connections.max(1),
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
const IDLE: u8 = 3;

const CARRY_ON: u8 = 0;
/// Close when not serving a request: reads end.
const CLOSE: u8 = 1;
/// The body took too long: it fails.
const BODY_EXPIRED: u8 = 2;

/// What a connection is doing (written by its task), and the watchdog's verdict.
struct Activity {
    phase: AtomicU8,
    changes: AtomicU64,
    verdict: AtomicU8,
    read_waker: AtomicWaker,
    body_waker: AtomicWaker,
}

impl Activity {
    fn new() -> Self {
        Self {
            phase: AtomicU8::new(HEAD),
            changes: AtomicU64::new(0),
            verdict: AtomicU8::new(CARRY_ON),
            read_waker: AtomicWaker::new(),
            body_waker: AtomicWaker::new(),
        }
    }

    fn phase(&self) -> u8 {
        self.phase.load(Ordering::Relaxed)
    }

    fn enter(&self, phase: u8) {
        self.phase.store(phase, Ordering::Relaxed);
        // One writer (the connection's task): a load and a store, no locked instruction.
        let n = self.changes.load(Ordering::Relaxed);
        self.changes.store(n.wrapping_add(1), Ordering::Relaxed);
    }

    fn state(&self) -> (u8, u64) {
        (self.phase(), self.changes.load(Ordering::Relaxed))
    }

    fn verdict(&self) -> u8 {
        self.verdict.load(Ordering::Acquire)
    }

    /// A closed connection, or one whose body timed out, ends reads once no request is being
    /// served (after its response).
    fn ends_reads(&self) -> bool {
        self.verdict() != CARRY_ON && !matches!(self.phase(), BUSY | BODY)
    }

    fn close(&self) {
        self.verdict.store(CLOSE, Ordering::Release);
        self.read_waker.wake();
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
        if buf.filled().len() > before && self.activity.phase() == IDLE {
            self.activity.enter(HEAD);
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
        Pin::new(&mut self.inner).poll_write(cx, buf)
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
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
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
        if self.activity.phase() == BODY {
            self.activity.enter(BUSY);
        }
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

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting, closes idle
/// connections, and lets in-flight requests finish for at most `grace`.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: Limits,
    grace: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
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
        let watchdog = tokio::spawn(watch_connection(activity.clone(), limits, stop_rx.clone()));
        let router = router.clone();
        tokio::spawn(async move {
            serve_connection(stream, router, activity).await;
            watchdog.abort();
            drop(permit);
        });
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

async fn serve_connection(stream: tokio::net::TcpStream, router: Router, activity: Arc<Activity>) {
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
        registered: false,
    });
    let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
        activity.enter(BODY);
        let refused = over_limits(&req);
        let mut router = router.clone();
        let activity = activity.clone();
        let body_activity = activity.clone();
        async move {
            let response = match refused {
                Some(response) => response,
                None => {
                    let req = req.map(|inner| {
                        Body::new(WatchedBody {
                            inner,
                            activity: body_activity,
                            registered: false,
                        })
                    });
                    match router.call(req).await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    }
                }
            };
            activity.enter(IDLE);
            Ok::<_, Infallible>(response)
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

/// The connection's watchdog: enforces the header, body and idle limits and closes the
/// connection on shutdown (at once when it is not serving a request).
async fn watch_connection(
    activity: Arc<Activity>,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let tick = limits.tick();
    let mut seen = activity.state();
    let mut seen_at = Instant::now();
    loop {
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    // Ends reads now if idle or waiting for headers, else after the response.
                    activity.close();
                    return;
                }
            }
            () = tokio::time::sleep(tick) => {
                let now = activity.state();
                if now != seen {
                    (seen, seen_at) = (now, Instant::now());
                    continue;
                }
                let limit = match now.0 {
                    HEAD => limits.header_read,
                    BODY => limits.body_read,
                    IDLE => limits.idle,
                    _ => continue,
                };
                if seen_at.elapsed() < limit {
                    continue;
                }
                if now.0 == BODY {
                    // The pipeline answers 408; then reads end and the connection closes.
                    activity.verdict.store(BODY_EXPIRED, Ordering::Release);
                    activity.body_waker.wake();
                    activity.read_waker.wake();
                    return;
                }
                activity.close();
                return;
            }
        }
    }
}
