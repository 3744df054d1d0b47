//! Actions: the envelope is [`ActionRequest`]; the caller is the session (and the verified JWT
//! of a `jwt` action); roles are checked; a failure is the handler's 4xx, a timeout 504.

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::value::RawValue;

use super::{
    App, Caller, Outcome, RequestParts, Route, Webhook, handler_timeout, input_rejection, invoke,
    trace_ids,
};
use crate::context::{Ctx, Identity, RequestId};
use crate::error::{ActionError, Rejection};
use crate::protocol::{ActionRequest, SessionVariables};
use crate::registry::{ActionSpec, BoxFuture, Handler, HandlerKind, InputError, SpanFields};
use crate::security;

/// The `#[action]` kind.
pub(crate) struct Action;

impl Webhook for Action {
    const KIND: &'static str = "action";
    type Spec = ActionSpec;
    type Envelope<'b> = ActionRequest<'b>;

    fn parse(body: &[u8]) -> Result<ActionRequest<'_>, Rejection> {
        serde_json::from_slice(body)
            .map_err(|e| Rejection::parse_failed(format!("invalid action request: {e}")))
    }

    fn resolve(
        app: &App,
        route: Route,
        envelope: &ActionRequest<'_>,
    ) -> Result<(&'static Handler, &'static ActionSpec), Rejection> {
        let name = &*envelope.action.name;
        let handler = match route {
            Route::Handler(h) if h.name == name => h,
            Route::Handler(h) => {
                return Err(Rejection::validation_failed(format!(
                    "action.name `{name}` does not match the route /actions/{}",
                    h.name
                )));
            }
            Route::ByName => *app
                .actions
                .get(name)
                .ok_or_else(|| Rejection::not_exists(format!("action `{name}` not found")))?,
        };
        match &handler.kind {
            HandlerKind::Action(spec) => Ok((handler, spec)),
            _ => Err(Rejection::not_exists("not an action")),
        }
    }

    fn span(
        handler: &'static Handler,
        headers: &HeaderMap,
        _envelope: &ActionRequest<'_>,
        request_id: &RequestId,
    ) -> tracing::Span {
        let (trace_id, span_id) = trace_ids(headers);
        (handler.span)(&SpanFields {
            request_id: request_id.as_str(),
            trace_id,
            span_id,
        })
    }

    fn session(envelope: &mut ActionRequest<'_>) -> SessionVariables {
        std::mem::take(&mut envelope.session_variables)
    }

    async fn caller(
        app: &App,
        spec: &'static ActionSpec,
        headers: &HeaderMap,
        session: SessionVariables,
    ) -> Result<Caller, Rejection> {
        let claims = if spec.jwt {
            let jwt = app.config.jwt.as_ref().ok_or_else(|| {
                Rejection::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "unexpected",
                    "JWT verification is not configured",
                )
            })?;
            let claims = jwt.verify(headers).await.map_err(jwt_rejection)?;
            claims.agrees_with(&session).map_err(jwt_rejection)?;
            // Logged-out tokens (identity on, a database configured): the deny list, cached.
            if let Some(jti) = &claims.token_id {
                let shared = &app.shared;
                let revoked = shared
                    .auth
                    .is_revoked(shared.connections().ok(), jti)
                    .await
                    .map_err(|e| {
                        tracing::error!(error = %e, "reading the token deny list failed");
                        Rejection::new(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "unavailable",
                            "the token deny list cannot be read right now",
                        )
                    })?;
                if revoked {
                    return Err(jwt_rejection(crate::security::jwt::JwtError::invalid(
                        "Could not verify JWT: the token was revoked (logged out)",
                    )));
                }
            }
            Some(Arc::new(claims))
        } else {
            None
        };
        Ok(Caller {
            identity: Identity::new(session),
            claims,
        })
    }

    fn authorize(
        handler: &'static Handler,
        spec: &'static ActionSpec,
        caller: &Caller,
    ) -> Result<(), Rejection> {
        let role = caller.identity.role().ok_or_else(|| {
            Rejection::access_denied(
                StatusCode::FORBIDDEN,
                "no x-hasura-role in session_variables",
            )
        })?;
        if security::role_allowed(role, spec.roles) {
            Ok(())
        } else {
            Err(Rejection::access_denied(
                StatusCode::FORBIDDEN,
                format!("role `{role}` may not call action `{}`", handler.name),
            ))
        }
    }

    async fn invoke<'a>(
        app: &'a App,
        handler: &'static Handler,
        spec: &'static ActionSpec,
        ctx: Ctx,
        envelope: ActionRequest<'a>,
        request: RequestParts<'a>,
    ) -> Result<Response, Rejection> {
        let timeout = handler_timeout(&app.config, spec.timeout_secs, None);
        // Counted from the request's arrival: Hasura's own clock started before that.
        let deadline = invoke::deadline_after(request.started, timeout);
        // Time spent before the handler (a slow body, a JWKS fetch) counts too; when none is
        // left, the handler is not started: nothing it began could be answered.
        if tokio::time::Instant::now() >= deadline {
            return Ok(respond(handler, Outcome::TimedOut(timeout)));
        }
        let handler_future = call(spec, ctx, envelope).map_err(input_rejection)?;
        let outcome = invoke::guarded(deadline, timeout, handler_future).await;
        Ok(respond(handler, outcome))
    }
}

fn call(
    spec: &'static ActionSpec,
    ctx: Ctx,
    envelope: ActionRequest<'_>,
) -> Result<BoxFuture<Result<Bytes, ActionError>>, InputError> {
    // Hasura always sends `input`; a missing one reads as `{}`.
    let missing;
    let input = match envelope.input {
        Some(input) => input,
        None => {
            missing = empty_input();
            &*missing
        }
    };
    (spec.call)(ctx, input)
}

fn respond(handler: &'static Handler, outcome: Outcome<Result<Bytes, ActionError>>) -> Response {
    match outcome {
        Outcome::Done(Ok(output)) => answer(output),
        failed => respond_failed(handler, failed),
    }
}

/// 200 with the handler's JSON.
fn answer(output: Bytes) -> Response {
    let mut response = (StatusCode::OK, output).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The handler's error, a panic or a timeout, in Hasura's format (out of the success path's
/// way, like the pipeline's refusals).
#[cold]
#[inline(never)]
fn respond_failed(
    handler: &'static Handler,
    outcome: Outcome<Result<Bytes, ActionError>>,
) -> Response {
    match outcome {
        // `respond` answers this one; kept whole rather than unreachable.
        Outcome::Done(Ok(output)) => answer(output),
        Outcome::Done(Err(error)) => {
            tracing::info!(
                status = error.status().as_u16(),
                code = error.code(),
                "action returned an error"
            );
            error.into_response()
        }
        Outcome::Panicked => {
            tracing::error!(
                handler = handler.name,
                "handler panicked; answered 500 and kept serving"
            );
            Rejection::internal().into_response()
        }
        Outcome::TimedOut(after) => {
            tracing::warn!(
                timeout_secs = after.as_secs_f32(),
                "action timed out; answered 504"
            );
            Rejection::new(
                StatusCode::GATEWAY_TIMEOUT,
                "timeout",
                format!(
                    "action `{}` timed out after {}s",
                    handler.name,
                    after.as_secs_f32()
                ),
            )
            .into_response()
        }
    }
}

fn empty_input() -> Box<RawValue> {
    RawValue::from_string("{}".to_owned()).unwrap_or_else(|_| unreachable!("`{{}}` is valid JSON"))
}

fn jwt_rejection(e: crate::security::jwt::JwtError) -> Rejection {
    Rejection::from(crate::error::ErrorCore::from(e))
}
