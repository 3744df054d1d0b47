//! Event triggers: the envelope is [`EventRequest`] with the rows left raw; the caller is the
//! session recorded with the change; success is the only acknowledgement, a timeout a 503 with
//! `Retry-After`.

use axum::response::Response;
use http::HeaderMap;
use serde_json::value::RawValue;

use super::deliveries::{self, Counter, Delivery};
use super::{App, Caller, RequestParts, Route, Webhook, handler_timeout, trace_ids};
use crate::context::{Ctx, Identity, RequestId};
use crate::error::Rejection;
use crate::protocol::{EventRequest, SessionVariables};
use crate::registry::{EventSpec, Handler, HandlerKind, SpanFields};

/// The `#[event]` kind.
pub(crate) struct Event;

impl Webhook for Event {
    const KIND: &'static str = "event";
    type Spec = EventSpec;
    type Envelope<'b> = EventRequest<Box<RawValue>>;

    fn parse(body: &[u8]) -> Result<EventRequest<Box<RawValue>>, Rejection> {
        serde_json::from_slice(body)
            .map_err(|e| Rejection::parse_failed(format!("invalid event request: {e}")))
    }

    fn resolve(
        _app: &App,
        route: Route,
        request: &EventRequest<Box<RawValue>>,
    ) -> Result<(&'static Handler, &'static EventSpec), Rejection> {
        let Route::Handler(handler) = route else {
            return Err(Rejection::not_exists("no event trigger at this route"));
        };
        let HandlerKind::Event(spec) = &handler.kind else {
            return Err(Rejection::not_exists("not an event trigger"));
        };
        if request.trigger.name != handler.name {
            return Err(Rejection::validation_failed(format!(
                "trigger.name `{}` does not match the route /events/{}",
                request.trigger.name, handler.name
            )));
        }
        if request.table.schema != spec.schema || request.table.name != spec.table {
            return Err(Rejection::validation_failed(format!(
                "event for table {} but trigger `{}` is on {}.{}",
                request.table, handler.name, spec.schema, spec.table
            )));
        }
        Ok((handler, spec))
    }

    fn span(
        handler: &'static Handler,
        headers: &HeaderMap,
        request: &EventRequest<Box<RawValue>>,
        request_id: &RequestId,
    ) -> tracing::Span {
        // Trace headers first, else the trace context Hasura recorded with the change.
        let (header_trace, header_span) = trace_ids(headers);
        let body_trace = request.event.trace_context.as_ref();
        let span = (handler.span)(&SpanFields {
            request_id: request_id.as_str(),
            trace_id: header_trace.or(body_trace.and_then(|t| t.trace_id.as_deref())),
            span_id: header_span.or(body_trace.and_then(|t| t.span_id.as_deref())),
        });
        span.record("event_id", request.id.as_str());
        span
    }

    fn busy_retry_after(spec: &'static EventSpec) -> u64 {
        // Hasura delivers it again after the trigger's own interval.
        u64::from(spec.retry.interval_sec)
    }

    fn session(request: &mut EventRequest<Box<RawValue>>) -> SessionVariables {
        // The handler sees the session both as its identity and in the event itself.
        request.event.session_variables.clone().unwrap_or_default()
    }

    async fn caller(
        _app: &App,
        _spec: &'static EventSpec,
        _headers: &HeaderMap,
        session: SessionVariables,
    ) -> Result<Caller, Rejection> {
        Ok(Caller {
            identity: Identity::new(session),
            claims: None,
        })
    }

    fn authorize(
        _handler: &'static Handler,
        _spec: &'static EventSpec,
        _caller: &Caller,
    ) -> Result<(), Rejection> {
        // Hasura itself is the caller (the webhook secret proved it); no role applies.
        Ok(())
    }

    fn payload_trace(request: &EventRequest<Box<RawValue>>) -> Option<crate::trace::TraceContext> {
        let recorded = request.event.trace_context.as_ref()?;
        crate::trace::TraceContext::from_payload(
            recorded.trace_id.as_deref()?,
            recorded.span_id.as_deref()?,
        )
    }

    fn last_attempt(request: &EventRequest<Box<RawValue>>) -> bool {
        !crate::delivery::retries_left(&request.delivery_info)
    }

    async fn invoke<'a>(
        app: &'a App,
        handler: &'static Handler,
        spec: &'static EventSpec,
        ctx: Ctx,
        request: EventRequest<Box<RawValue>>,
        parts: RequestParts<'a>,
    ) -> Result<Response, Rejection> {
        let delivery = Delivery {
            handler,
            policy: &spec.policy,
            id: request.id.clone(),
            counter: Counter::Known(request.delivery_info),
            timeout: handler_timeout(&app.config, spec.timeout_secs, Some(spec.retry.timeout_sec)),
            body: parts.body,
            replay: parts.replay,
            wait_for_slot: parts.wait_for_slot,
        };
        deliveries::deliver(app, delivery, ctx, move |ctx| (spec.call)(ctx, request)).await
    }
}
