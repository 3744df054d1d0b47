//! Cron triggers: the envelope is [`CronRequest`] with the payload left raw; there is no
//! caller session; acknowledgement and failures as for events.

use axum::response::Response;
use http::HeaderMap;
use serde_json::value::RawValue;

use super::deliveries::{self, Counter, Delivery};
use super::{App, Caller, RequestParts, Route, Webhook, handler_timeout, trace_ids};
use crate::context::{Ctx, Identity, RequestId};
use crate::error::Rejection;
use crate::protocol::{CronRequest, SessionVariables};
use crate::registry::{CronRetry, CronSpec, DeliveryPolicy, Handler, HandlerKind, SpanFields};

/// The `#[cron]` kind.
pub(crate) struct Cron;

impl Webhook for Cron {
    const KIND: &'static str = "cron";
    type Spec = CronSpec;
    type Envelope<'b> = CronRequest<Box<RawValue>>;

    fn parse(body: &[u8]) -> Result<CronRequest<Box<RawValue>>, Rejection> {
        serde_json::from_slice(body)
            .map_err(|e| Rejection::parse_failed(format!("invalid cron request: {e}")))
    }

    fn resolve(
        _app: &App,
        route: Route,
        request: &CronRequest<Box<RawValue>>,
    ) -> Result<(&'static Handler, &'static CronSpec), Rejection> {
        let Route::Handler(handler) = route else {
            return Err(Rejection::not_exists("no cron trigger at this route"));
        };
        let HandlerKind::Cron(spec) = &handler.kind else {
            return Err(Rejection::not_exists("not a cron trigger"));
        };
        if request.name != handler.name {
            return Err(Rejection::validation_failed(format!(
                "name `{}` does not match the route /crons/{}",
                request.name, handler.name
            )));
        }
        Ok((handler, spec))
    }

    fn span(
        handler: &'static Handler,
        headers: &HeaderMap,
        request: &CronRequest<Box<RawValue>>,
        request_id: &RequestId,
    ) -> tracing::Span {
        span_of(handler, headers, &request.id, request_id)
    }

    fn session(_request: &mut CronRequest<Box<RawValue>>) -> SessionVariables {
        SessionVariables::default()
    }

    async fn caller(
        _app: &App,
        _spec: &'static CronSpec,
        _headers: &HeaderMap,
        _session: SessionVariables,
    ) -> Result<Caller, Rejection> {
        Ok(no_caller())
    }

    fn authorize(
        _handler: &'static Handler,
        _spec: &'static CronSpec,
        _caller: &Caller,
    ) -> Result<(), Rejection> {
        Ok(())
    }

    async fn invoke<'a>(
        app: &'a App,
        handler: &'static Handler,
        spec: &'static CronSpec,
        ctx: Ctx,
        request: CronRequest<Box<RawValue>>,
        parts: RequestParts<'a>,
    ) -> Result<Response, Rejection> {
        let delivery = scheduled_delivery(
            app,
            handler,
            (&spec.policy, &spec.retry, spec.timeout_secs),
            request.id.clone(),
            parts,
        );
        deliveries::deliver(app, delivery, ctx, move |ctx| (spec.call)(ctx, request)).await
    }
}

/// The span of a scheduled delivery (cron or one-off): trace ids from the headers, the event id.
pub(super) fn span_of(
    handler: &'static Handler,
    headers: &HeaderMap,
    id: &str,
    request_id: &RequestId,
) -> tracing::Span {
    let (trace_id, span_id) = trace_ids(headers);
    let span = (handler.span)(&SpanFields {
        request_id: request_id.as_str(),
        trace_id,
        span_id,
    });
    span.record("event_id", id);
    span
}

/// Scheduled deliveries have no caller session: Hasura calls on a schedule.
pub(super) fn no_caller() -> Caller {
    Caller {
        identity: Identity::default(),
        claims: None,
    }
}

/// A scheduled delivery (cron or one-off): no retry counter in the body, so attempts are
/// counted against the handler's `num_retries`; the time limit stays below `timeout_seconds`.
pub(super) fn scheduled_delivery<'a>(
    app: &App,
    handler: &'static Handler,
    (policy, retry, timeout_secs): (&'static DeliveryPolicy, &'static CronRetry, Option<u64>),
    id: String,
    parts: RequestParts<'a>,
) -> Delivery<'a> {
    Delivery {
        handler,
        policy,
        id,
        counter: Counter::Unknown {
            max_retries: retry.num_retries,
        },
        timeout: handler_timeout(&app.config, timeout_secs, Some(retry.timeout_seconds)),
        body: parts.body,
        replay: parts.replay,
        wait_for_slot: parts.wait_for_slot,
    }
}
