//! The request pipeline: every webhook request goes through the same ordered steps, written
//! once in `run`; actions, events, crons and scheduled events differ only in the `Webhook`
//! methods (how the envelope reads, who the caller is, how an outcome becomes a status).
//!
//! 1. **webhook secret** (`admission::check_secret`): `X-Rasura-Webhook-Secret`, 401.
//! 2. **body limit** (`admission::read_body`): `RASURA_BODY_LIMIT` (413) within
//!    `RASURA_BODY_READ_TIMEOUT` (408).
//! 3. **envelope** (`Webhook::parse`): Hasura's payload, 400 `parse-failed`.
//! 4. **name check** (`Webhook::resolve`): the route and the payload's name agree (or, on
//!    `POST /actions`, the name picks the handler).
//! 5. **span** (`Webhook::span`): the handler's `tracing` span with the request and trace ids.
//! 6. **caller identity** (`Webhook::caller`): session variables, and the verified JWT of a
//!    `jwt` action.
//! 7. **authorization** (`Webhook::authorize`, then the handler's [`Guard`]s): roles, and
//!    per-handler guards, before the input is parsed.
//! 8. **invoke** (`Webhook::invoke`, `invoke::guarded`): a concurrency permit where the
//!    handler has a limit (503 `busy` with `Webhook::busy_retry_after` when none is free; on a
//!    delivery's last try it waits for one), the input parsed into the handler's types, the
//!    handler run under its timeout and a panic guard; deliveries inside their `once`
//!    transaction (`deliveries::deliver`).
//! 9. **response** (the end of `Webhook::invoke`): Hasura's format, with `Retry-After` only
//!    while a delivery has retries left; then every [`Observer`] sees the result.
//!
//! A new cross-cutting feature is one insertion here: a step, a guard on the registry entry,
//! or an observer on the service.

mod action;
pub(crate) mod admission;
mod cron;
pub(crate) mod deliveries;
mod direct;
mod event;
mod guard;
pub(crate) mod invoke;
mod scheduled;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::HeaderMap;
use tracing::Instrument;

use crate::audit::{AuditEvent, AuditKind};
use crate::config::Config;
use crate::context::{Ctx, Identity, REQUEST_ID_HEADER, RequestId, Shared};
use crate::error::Rejection;
use crate::protocol::SessionVariables;
use crate::registry::{Handler, InputError};
use crate::security::jwt::VerifiedClaims;

pub(crate) use admission::check_secret as admission_check;
pub use guard::{Guard, GuardFuture, Observer, RequestRecord};
pub(crate) use invoke::Outcome;

pub(crate) use action::Action;
pub(crate) use cron::Cron;
pub(crate) use direct::{DirectRoutes, Dispatch};
pub(crate) use event::Event;
pub(crate) use scheduled::Scheduled;

/// Everything a request needs, shared by all routes.
pub(crate) struct App {
    pub(crate) config: Config,
    pub(crate) shared: Arc<Shared>,
    /// Actions by name, for `POST /actions`.
    pub(crate) actions: HashMap<&'static str, &'static Handler>,
    pub(crate) observers: Vec<Arc<dyn Observer>>,
    /// Per-handler concurrency limits (`#[event(concurrency = N)]`), by kind and name.
    pub(crate) concurrency: HashMap<(&'static str, &'static str), Arc<tokio::sync::Semaphore>>,
    /// Each handler's pre-registered metrics, by [`handler_key`].
    pub(crate) handler_metrics: HashMap<usize, crate::metrics::HandlerMetrics>,
}

/// A registered handler's identity for lookups on the request path (its address: handlers are
/// statics).
pub(crate) fn handler_key(handler: &'static Handler) -> usize {
    std::ptr::from_ref(handler) as usize
}

/// The handler a route names: a registered one, or (for `POST /actions`) the one the payload
/// names.
#[derive(Clone, Copy)]
pub(crate) enum Route {
    Handler(&'static Handler),
    ByName,
}

/// Who is calling: the session Hasura sent, and the token a `jwt` action verified.
pub(crate) struct Caller {
    pub(crate) identity: Identity,
    pub(crate) claims: Option<Arc<VerifiedClaims>>,
}

/// What distinguishes the four kinds of webhook. Each method is one step of [`run`].
pub(crate) trait Webhook: 'static {
    /// `action`, `event`, `cron` or `scheduled`, for observers.
    const KIND: &'static str;
    /// The handler options of this kind (`ActionSpec`, …).
    type Spec: Sync + 'static;
    /// Hasura's payload, borrowing from the body where it can.
    type Envelope<'b>: Send;

    /// Step 3: the envelope.
    fn parse(body: &[u8]) -> Result<Self::Envelope<'_>, Rejection>;

    /// Step 4: the handler (and its options) the request is for.
    fn resolve(
        app: &App,
        route: Route,
        envelope: &Self::Envelope<'_>,
    ) -> Result<(&'static Handler, &'static Self::Spec), Rejection>;

    /// Step 5: the handler's span.
    fn span(
        handler: &'static Handler,
        headers: &HeaderMap,
        envelope: &Self::Envelope<'_>,
        request_id: &RequestId,
    ) -> tracing::Span;

    /// Step 6: the session the caller brought (taken out of the envelope).
    fn session(envelope: &mut Self::Envelope<'_>) -> SessionVariables;

    /// Step 6: the caller, from the session (and the request's token, where the kind verifies
    /// one).
    fn caller(
        app: &App,
        spec: &'static Self::Spec,
        headers: &HeaderMap,
        session: SessionVariables,
    ) -> impl Future<Output = Result<Caller, Rejection>> + Send;

    /// Step 7: what the handler's options allow (roles); guards follow.
    fn authorize(
        handler: &'static Handler,
        spec: &'static Self::Spec,
        caller: &Caller,
    ) -> Result<(), Rejection>;

    /// Step 8: when the handler already runs its maximum number of times at once
    /// (`concurrency`), the answer is 503 `busy` with this `Retry-After` (seconds).
    fn busy_retry_after(spec: &'static Self::Spec) -> u64 {
        let _ = spec;
        1
    }

    /// Step 6: the trace the payload recorded (events' `trace_context`), used when the headers
    /// carry none.
    fn payload_trace(envelope: &Self::Envelope<'_>) -> Option<crate::trace::TraceContext> {
        let _ = envelope;
        None
    }

    /// Step 8: whether this is a delivery's last attempt (then a busy handler is waited for,
    /// since a `Retry-After` would keep the delivery alive forever).
    fn last_attempt(envelope: &Self::Envelope<'_>) -> bool {
        let _ = envelope;
        false
    }

    /// Steps 8 and 9: parses the input, runs the handler (under its timeout and a panic
    /// guard) and answers in Hasura's format.
    fn invoke<'a>(
        app: &'a App,
        handler: &'static Handler,
        spec: &'static Self::Spec,
        ctx: Ctx,
        envelope: Self::Envelope<'a>,
        request: RequestParts<'a>,
    ) -> impl Future<Output = Result<Response, Rejection>> + Send + 'a;
}

/// What the last steps may need of the request itself.
pub(crate) struct RequestParts<'a> {
    /// The body as Hasura sent it (a dead letter keeps it).
    pub body: &'a Bytes,
    /// A `dead-letters replay` run.
    pub replay: bool,
    /// The concurrency slot a delivery's last try waits for (`deliveries::deliver`).
    pub wait_for_slot: Option<Arc<tokio::sync::Semaphore>>,
    /// When the request arrived (an action's timeout counts from here).
    pub started: tokio::time::Instant,
}

/// What is known of a request before the steps run.
#[derive(Clone, Copy)]
struct Arrival<'r> {
    request_id: &'r RequestId,
    /// tokio's clock (the real one outside tests), so deadlines made from it agree with
    /// tokio's timers under a paused test clock.
    started: tokio::time::Instant,
    /// A `dead-letters replay` run.
    replay: bool,
}

/// Entry point of every webhook route: runs the pipeline, then sets `x-request-id` and tells
/// the observers.
pub(crate) async fn handle<W: Webhook>(app: Arc<App>, route: Route, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let replay = parts.extensions.get::<deliveries::Replay>().is_some();
    let request_id = RequestId::from_headers(&parts.headers);
    let started = tokio::time::Instant::now();
    let mut resolved = match route {
        Route::Handler(h) => Some(h),
        Route::ByName => None,
    };
    let routed = resolved.and_then(|h| app.handler_metrics.get(&handler_key(h)));
    let in_flight = routed.map(crate::metrics::HandlerMetrics::start);
    let arrival = Arrival {
        request_id: &request_id,
        started,
        replay,
    };
    let mut response =
        match run::<W>(&app, route, parts.headers, body, arrival, &mut resolved).await {
            Ok(response) => response,
            Err(rejection) => rejected(&request_id, rejection),
        };
    drop(in_flight);
    response
        .headers_mut()
        .insert(REQUEST_ID_HEADER.clone(), request_id.header_value());
    let elapsed = started.elapsed();
    // The route's handler metrics were looked up once, on the way in; `POST /actions` finds
    // its handler only in the payload.
    let handler_metrics = match (route, routed) {
        (Route::Handler(_), Some(metrics)) => Some(metrics),
        _ => resolved.and_then(|h| app.handler_metrics.get(&handler_key(h))),
    };
    record_metrics(&app, resolved, handler_metrics, W::KIND, &response, elapsed);
    if !app.observers.is_empty() {
        observe(
            &app.observers,
            &RequestRecord {
                kind: W::KIND,
                handler: resolved,
                status: response.status(),
                elapsed,
                request_id: request_id.as_str(),
            },
        );
    }
    response
}

// The rare paths are functions of their own (not inlined), so the success path's machine code
// stays short: a request's code competes for the instruction cache with hyper's and the
// kernel's.

/// A refusal, logged and answered in Hasura's format.
#[cold]
#[inline(never)]
fn rejected(request_id: &RequestId, rejection: Rejection) -> Response {
    tracing::info!(
        request_id = request_id.as_str(),
        status = rejection.core.status().as_u16(),
        code = rejection.core.code(),
        message = rejection.core.message(),
        "request rejected"
    );
    rejection.into_response()
}

/// Tells every observer; an observer's panic must not cost the answer (or the connection).
#[inline(never)]
fn observe(observers: &[Arc<dyn Observer>], record: &RequestRecord<'_>) {
    for observer in observers {
        let observed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            observer.observe(record);
        }));
        if observed.is_err() {
            tracing::error!("an observer panicked; the request was answered");
        }
    }
}

/// Counts the answer: status and duration per handler, and the refusals and retries that have
/// counters of their own.
fn record_metrics(
    app: &App,
    handler: Option<&'static Handler>,
    handler_metrics: Option<&crate::metrics::HandlerMetrics>,
    kind: &'static str,
    response: &Response,
    elapsed: Duration,
) {
    let metrics = &app.shared.metrics;
    let status = response.status().as_u16();
    let (Some(handler), Some(handler_metrics)) = (handler, handler_metrics) else {
        metrics.record_unrouted(kind, status);
        return;
    };
    handler_metrics.record(metrics, status, elapsed);
    if status != 200 {
        record_refusal(metrics, handler, status, response);
    }
}

/// The counters a refusal or a retry adds.
#[cold]
#[inline(never)]
fn record_refusal(
    metrics: &crate::metrics::Metrics,
    handler: &'static Handler,
    status: u16,
    response: &Response,
) {
    match status {
        403 => metrics.access_denied(handler.name),
        429 => metrics.rate_limited(handler.name),
        _ => {}
    }
    if response.headers().contains_key(http::header::RETRY_AFTER) {
        metrics.retry_after(handler.name);
    }
}

/// The steps, in order (see the module documentation).
async fn run<W: Webhook>(
    app: &App,
    route: Route,
    headers: HeaderMap,
    body: axum::body::Body,
    arrival: Arrival<'_>,
    resolved: &mut Option<&'static Handler>,
) -> Result<Response, Rejection> {
    let Arrival {
        request_id,
        started,
        replay,
    } = arrival;
    // A `dead-letters replay` comes from the service's own CLI (a request extension, which
    // the network cannot set), not from Hasura.
    if !replay {
        admission::check_secret(&app.config, &app.shared.audit, &headers, request_id)?;
    }
    let body: Bytes = admission::read_body(body, &headers, &app.config).await?;
    let body = &body;
    let mut envelope = W::parse(body)?;
    let (handler, spec) = W::resolve(app, route, &envelope)?;
    *resolved = Some(handler);
    let span = W::span(handler, &headers, &envelope, request_id);
    #[cfg(feature = "otel")]
    if let Some(trace) =
        crate::trace::TraceContext::from_headers(&headers).or_else(|| W::payload_trace(&envelope))
    {
        crate::telemetry::otel::set_parent(&span, &trace);
    }
    async move {
        let session = W::session(&mut envelope);
        let caller = W::caller(app, spec, &headers, session)
            .await
            .inspect_err(|refusal| audit_caller_refusal(app, handler, request_id, refusal))?;
        W::authorize(handler, spec, &caller).inspect_err(|_| {
            app.shared.audit.record(
                AuditEvent::new(AuditKind::AccessDenied)
                    .handler(handler.name)
                    .identity(&caller.identity)
                    .permission("roles")
                    .request_id(request_id.as_str()),
            );
        })?;
        // The payload's trace (events only) when the headers carry none; actions have none,
        // and skip the header lookups.
        let payload_trace = W::payload_trace(&envelope).filter(|_| trace_ids(&headers).0.is_none());
        let mut ctx = Ctx::new(
            app.shared.clone(),
            caller.identity,
            request_id,
            headers,
            caller.claims,
            handler.name,
        );
        ctx.payload_trace = payload_trace.map(Arc::new);
        guard::run_guards(handler, &ctx).await?;
        // Held until the handler's outcome: bounds concurrent runs of this handler.
        let limit = if app.concurrency.is_empty() {
            None
        } else {
            app.concurrency.get(&(W::KIND, handler.name))
        };
        let mut wait_for_slot = None;
        let _permit = match limit {
            // No retry left: the delivery waits for a slot (within its time limit) rather than
            // answer `busy` with a `Retry-After` that would keep it alive forever.
            Some(limit) if W::last_attempt(&envelope) => {
                wait_for_slot = Some(limit.clone());
                None
            }
            Some(limit) => Some(
                limit
                    .clone()
                    .try_acquire_owned()
                    .map_err(|_| busy(handler, W::busy_retry_after(spec)))?,
            ),
            None => None,
        };
        let parts = RequestParts {
            body,
            replay,
            wait_for_slot,
            started,
        };
        W::invoke(app, handler, spec, ctx, envelope, parts).await
    }
    .instrument(span)
    .await
}

/// Step 6 refusals are the caller's token (the only check there that answers 401/403).
fn audit_caller_refusal(
    app: &App,
    handler: &'static Handler,
    request_id: &RequestId,
    refusal: &Rejection,
) {
    let status = refusal.core.status();
    if status == http::StatusCode::UNAUTHORIZED || status == http::StatusCode::FORBIDDEN {
        app.shared.audit.record(
            AuditEvent::new(AuditKind::JwtRejected)
                .handler(handler.name)
                .reason(crate::security::jwt::reason_class(&refusal.core))
                .request_id(request_id.as_str()),
        );
    }
}

/// 503 `busy`: the handler is at its concurrency limit; Hasura delivers it again after
/// `Retry-After`.
fn busy(handler: &'static Handler, retry_after: u64) -> Rejection {
    tracing::info!(
        handler = handler.name,
        "handler at its concurrency limit; answered 503"
    );
    Rejection::new(
        http::StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        format!(
            "`{}` is at its concurrency limit; retry later",
            handler.name
        ),
    )
    .with_retry_after(retry_after)
}

pub(crate) fn input_rejection(e: InputError) -> Rejection {
    match e {
        InputError::Parse(m) => Rejection::parse_failed(m),
        InputError::Validation(m) => Rejection::validation_failed(m),
    }
}

/// The handler timeout: its own or the service default, kept below the limit Hasura waits
/// (`hasura_limit`, seconds) so Rasura answers first.
pub(crate) fn handler_timeout(
    config: &Config,
    own: Option<u64>,
    hasura_limit: Option<u32>,
) -> Duration {
    let mut timeout = own.map_or(config.handler_timeout, Duration::from_secs);
    if let Some(limit) = hasura_limit {
        let ceiling = Duration::from_secs(u64::from(limit.max(2) - 1));
        timeout = timeout.min(ceiling);
    }
    timeout
}

/// Trace ids Hasura propagates, for the log span: W3C `traceparent`, else B3 headers.
pub(crate) fn trace_ids(headers: &HeaderMap) -> (Option<&str>, Option<&str>) {
    crate::trace::header_ids(headers)
}

#[cfg(test)]
mod tests {
    /// The size of the future `f` returns, without calling it.
    fn future_size<A, B, C, F: Future>(_: &impl Fn(A, B, C) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// A request's future is moved whole when axum boxes it, so rare work (a connect, a ping,
    /// the migrations) is boxed where it is awaited rather than held inline: the event path's
    /// was 15 KB when deadpool's `get` held a whole connect.
    #[test]
    fn a_requests_future_stays_small() {
        for (kind, size) in [
            ("action", future_size(&super::handle::<super::Action>)),
            ("event", future_size(&super::handle::<super::Event>)),
            ("cron", future_size(&super::handle::<super::Cron>)),
            ("scheduled", future_size(&super::handle::<super::Scheduled>)),
        ] {
            assert!(size <= 8 * 1024, "{kind}: {size} bytes");
        }
    }
}
