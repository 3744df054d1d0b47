//! The HTTP server: accepts connections up to a cap and serves each with hyper, under
//! timeouts that keep slow or idle clients from holding descriptors (`axum::serve` gives hyper
//! no timer, so a client that sends half its headers would stay forever), then drains on
//! shutdown.
//!
//! Each connection has a small watchdog that knows what the connection is doing:
//! - **head**: waiting for a request's headers (from the connection's start, or from the first
//!   byte of a later request): closed after `RASURA_HEADER_READ_TIMEOUT`;
//! - **busy**: a request is being served (the body has its own timeout in the pipeline, the
//!   handler its own);
//! - **idle**: kept alive between requests: closed after `RASURA_IDLE_TIMEOUT`.
//!
//! hyper's own header timer is not used: it starts as soon as a kept-alive connection waits,
//! so it would also be the idle timeout.
//!
//! Requests over the header limits are refused here in Hasura's format (414, 431); only what
//! hyper itself cannot parse (malformed framing, or headers beyond its hard limits) gets
//! hyper's bare answer.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{Semaphore, watch};
use tower::Service as _;

use crate::config::Config;
use crate::error::Rejection;

/// Longest request target accepted (414 above).
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Most request headers accepted (431 above).
pub const MAX_HEADERS: usize = 100;
/// Largest total size of request header names and values (431 above).
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// hyper's own header count limit, above Rasura's so Rasura answers first, in its format.
const HYPER_MAX_HEADERS: usize = 4 * MAX_HEADERS;

/// The connection limits of [`Config`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub header_read: Duration,
    pub idle: Duration,
    pub max_connections: usize,
}

impl Limits {
    pub(crate) fn of(config: &Config) -> Self {
        Self {
            header_read: config.header_read_timeout,
            idle: config.idle_timeout,
            max_connections: config.max_connections.max(1),
        }
    }
}

const HEAD: u8 = 0;
const BUSY: u8 = 1;
const IDLE: u8 = 2;

/// What a connection is doing, and since when (nanoseconds since it opened).
struct Activity {
    opened: Instant,
    phase: AtomicU8,
    since: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            phase: AtomicU8::new(HEAD),
            since: AtomicU64::new(0),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn enter(&self, phase: u8) {
        self.since.store(self.now(), Ordering::Relaxed);
        self.phase.store(phase, Ordering::Relaxed);
    }

    /// When the current phase times out (`None`: busy, no connection-level limit).
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        let limit = match self.phase.load(Ordering::Relaxed) {
            HEAD => limits.header_read,
            IDLE => limits.idle,
            _ => return None,
        };
        let since = Duration::from_nanos(self.since.load(Ordering::Relaxed));
        Some(self.opened + since + limit)
    }
}

/// The socket, telling the watchdog when a new request's first bytes arrive.
struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before && self.activity.phase.load(Ordering::Relaxed) == IDLE {
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

/// A request over Rasura's header limits, answered in Hasura's format.
fn over_limits<B>(req: &http::Request<B>) -> Option<Response> {
    let uri = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    let refusal = if uri > MAX_URI_BYTES {
        Rejection::new(
            StatusCode::URI_TOO_LONG,
            "uri-too-long",
            format!("the request target is longer than {MAX_URI_BYTES} bytes"),
        )
    } else if req.headers().len() > MAX_HEADERS {
        Rejection::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers-too-large",
            format!("more than {MAX_HEADERS} request headers"),
        )
    } else if req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum::<usize>()
        > MAX_HEADER_BYTES
    {
        Rejection::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers-too-large",
            format!("request headers larger than {MAX_HEADER_BYTES} bytes"),
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
        let router = router.clone();
        let stop = stop_rx.clone();
        tokio::spawn(async move {
            serve_connection(stream, router, limits, stop).await;
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

async fn serve_connection(
    stream: tokio::net::TcpStream,
    router: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let watched = activity.clone();
    let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
        watched.enter(BUSY);
        let refused = over_limits(&req);
        let mut router = router.clone();
        let watched = watched.clone();
        async move {
            let response = match refused {
                Some(response) => response,
                None => match router.call(req.map(Body::new)).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                },
            };
            watched.enter(IDLE);
            Ok::<_, Infallible>(response)
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .keep_alive(true)
        .max_headers(HYPER_MAX_HEADERS)
        .header_read_timeout(None);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut closing = false;
    loop {
        let deadline = activity.deadline(&limits);
        let timer = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => tokio::time::sleep(limits.idle.max(Duration::from_secs(1))).await,
            }
        };
        tokio::select! {
            _ = connection.as_mut() => return,
            changed = stop.changed(), if !closing => {
                if changed.is_err() || *stop.borrow() {
                    // Not serving a request (idle, or still waiting for headers): close now.
                    if activity.phase.load(Ordering::Relaxed) != BUSY {
                        return;
                    }
                    // Busy: finish the request, then close.
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
            () = timer => {
                let Some(at) = activity.deadline(&limits) else { continue };
                if Instant::now() < at {
                    continue;
                }
                if activity.phase.load(Ordering::Relaxed) == HEAD {
                    // Headers not received in time: drop the connection.
                    return;
                }
                connection.as_mut().graceful_shutdown();
                // An idle connection closes on the next poll; do not wait on it for long.
                let _ = tokio::time::timeout(Duration::from_secs(1), connection.as_mut()).await;
                return;
            }
        }
    }
}
