//! One-off scheduled events: the envelope is [`ScheduledRequest`] with the payload left raw;
//! there is no caller session and no name in the body (the route names the handler);
//! acknowledgement and failures as for crons.

use axum::response::Response;
use http::HeaderMap;
use serde_json::value::RawValue;

use super::cron::{no_caller, scheduled_delivery, span_of};
use super::deliveries;
use super::{App, Caller, RequestParts, Route, Webhook};
use crate::context::{Ctx, RequestId};
use crate::error::Rejection;
use crate::protocol::{ScheduledRequest, SessionVariables};
use crate::registry::{Handler, HandlerKind, ScheduledSpec};

/// The `#[scheduled]` kind.
pub(crate) struct Scheduled;

impl Webhook for Scheduled {
    const KIND: &'static str = "scheduled";
    type Spec = ScheduledSpec;
    type Envelope<'b> = ScheduledRequest<Box<RawValue>>;

    fn parse(body: &[u8]) -> Result<ScheduledRequest<Box<RawValue>>, Rejection> {
        serde_json::from_slice(body)
            .map_err(|e| Rejection::parse_failed(format!("invalid scheduled event request: {e}")))
    }

    fn resolve(
        _app: &App,
        route: Route,
        _request: &ScheduledRequest<Box<RawValue>>,
    ) -> Result<(&'static Handler, &'static ScheduledSpec), Rejection> {
        let Route::Handler(handler) = route else {
            return Err(Rejection::not_exists(
                "no scheduled-event handler at this route",
            ));
        };
        let HandlerKind::Scheduled(spec) = &handler.kind else {
            return Err(Rejection::not_exists("not a scheduled-event handler"));
        };
        Ok((handler, spec))
    }

    fn span(
        handler: &'static Handler,
        headers: &HeaderMap,
        request: &ScheduledRequest<Box<RawValue>>,
        request_id: &RequestId,
    ) -> tracing::Span {
        span_of(handler, headers, &request.id, request_id)
    }

    fn session(_request: &mut ScheduledRequest<Box<RawValue>>) -> SessionVariables {
        SessionVariables::default()
    }

    async fn caller(
        _app: &App,
        _spec: &'static ScheduledSpec,
        _headers: &HeaderMap,
        _session: SessionVariables,
    ) -> Result<Caller, Rejection> {
        Ok(no_caller())
    }

    fn authorize(
        _handler: &'static Handler,
        _spec: &'static ScheduledSpec,
        _caller: &Caller,
    ) -> Result<(), Rejection> {
        Ok(())
    }

    async fn invoke<'a>(
        app: &'a App,
        handler: &'static Handler,
        spec: &'static ScheduledSpec,
        ctx: Ctx,
        request: ScheduledRequest<Box<RawValue>>,
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
