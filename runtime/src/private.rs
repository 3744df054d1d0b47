//! Support for macro-generated code. Not public API: names may change in any release.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

pub use crate::delivery::Backoff;
pub use crate::protocol::{CronRequest, EventRequest, ScheduledRequest};
pub use crate::registry::{
    ActionSchema, ActionSpec, ActionType, BoxFuture, Columns, CronRetry, CronSpec, DeliveryPolicy,
    EventRetry, EventSpec, Handler, HandlerKind, InputError, OperationSpec, Registration,
    ScheduledSpec, SourceLocation, SpanFields,
};
pub use crate::response_fields::ResponseFields;
pub use crate::scheduler::ScheduledHandler;
pub use bytes::Bytes;
pub use inventory;
pub use serde;
pub use serde_json;
pub use tracing;

/// A raw JSON value, owned.
pub type RawBox = Box<RawValue>;

use crate::context::Ctx;
use crate::error::{ActionError, EventError};
use crate::protocol::{Event, RowData};

/// The type of a handler's first parameter.
#[diagnostic::on_unimplemented(
    message = "the first parameter of a Rasura handler must be `rasura::Ctx`, found `{Self}`",
    label = "expected `Ctx`"
)]
pub trait HandlerContext {}
impl HandlerContext for Ctx {}

/// The type of an action's input parameter.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an action's input: it must implement `serde::Deserialize`",
    label = "derive `Deserialize` for it (or use the type generated from the action's SDL)"
)]
pub trait ActionInput: DeserializeOwned + Send + 'static {}
impl<T: DeserializeOwned + Send + 'static> ActionInput for T {}

/// The return type of an action.
#[diagnostic::on_unimplemented(
    message = "an action must return `Result<T, rasura::ActionError>` with `T: Serialize`, found `{Self}`",
    label = "expected `Result<_, ActionError>`"
)]
pub trait ActionResult {
    /// The success type.
    type Output: Serialize;
    /// Splits the result.
    fn into_result(self) -> Result<Self::Output, ActionError>;
}
impl<T: Serialize> ActionResult for Result<T, ActionError> {
    type Output = T;
    fn into_result(self) -> Result<T, ActionError> {
        self
    }
}

/// The return type of an event or cron handler.
#[diagnostic::on_unimplemented(
    message = "an event or cron handler must return `Result<(), rasura::EventError>`, found `{Self}`",
    label = "expected `Result<(), EventError>`"
)]
pub trait DeliveryResult {
    /// Splits the result.
    fn into_result(self) -> Result<(), EventError>;
}
impl DeliveryResult for Result<(), EventError> {
    fn into_result(self) -> Result<(), EventError> {
        self
    }
}

/// The second parameter of an `#[event]` handler.
#[diagnostic::on_unimplemented(
    message = "the second parameter of an `#[event]` handler must be `rasura::Event<Row>`, found `{Self}`",
    label = "expected `Event<Row>` with `Row: Deserialize`"
)]
pub trait EventParam {}
impl<Row: DeserializeOwned> EventParam for Event<Row> {}

/// The second parameter of a `#[cron]` handler.
#[diagnostic::on_unimplemented(
    message = "the second parameter of a `#[cron]` handler must be `rasura::Cron<P>`, found `{Self}`",
    label = "expected `Cron<P>` with `P: Deserialize`"
)]
pub trait CronParam {}
impl<P: DeserializeOwned> CronParam for CronRequest<P> {}

/// The second parameter of a `#[scheduled]` handler.
#[diagnostic::on_unimplemented(
    message = "the second parameter of a `#[scheduled]` handler must be `rasura::Scheduled<P>`, found `{Self}`",
    label = "expected `Scheduled<P>` with `P: Serialize + Deserialize`"
)]
pub trait ScheduledParam {
    /// The payload type.
    type Payload: Serialize + DeserializeOwned + Send + Sync + 'static;
}
impl<P: Serialize + DeserializeOwned + Send + Sync + 'static> ScheduledParam
    for ScheduledRequest<P>
{
    type Payload = P;
}

/// Compile-time check that `T` satisfies a trait: the macros call these with spans on the user's
/// tokens, so a mismatch points at the offending type.
pub fn assert_context<T: HandlerContext>() {}
/// See [`assert_context`].
pub fn assert_action_input<T: ActionInput>() {}
/// See [`assert_context`].
pub fn assert_action_result<T: ActionResult>() {}
/// See [`assert_context`].
pub fn assert_delivery_result<T: DeliveryResult>() {}
/// See [`assert_context`].
pub fn assert_event_param<T: EventParam>() {}
/// See [`assert_context`].
pub fn assert_cron_param<T: CronParam>() {}
/// See [`assert_context`].
pub fn assert_scheduled_param<T: ScheduledParam>() {}

type ActionFuture = BoxFuture<Result<Bytes, ActionError>>;
type DeliveryFuture = BoxFuture<Result<(), EventError>>;

fn serialize_output<R: ActionResult>(result: R) -> Result<Bytes, ActionError> {
    let output = result.into_result()?;
    serde_json::to_vec(&output).map(Bytes::from).map_err(|e| {
        tracing::error!(error = %e, "action output failed to serialise");
        ActionError::bad_request("unexpected", "the action's output could not be serialised")
    })
}

/// Runs an action that takes an input.
pub fn call_action<I, R, F, Fut>(
    ctx: Ctx,
    input: &RawValue,
    f: F,
) -> Result<ActionFuture, InputError>
where
    I: ActionInput,
    R: ActionResult,
    F: FnOnce(Ctx, I) -> Fut,
    Fut: Future<Output = R> + Send + 'static,
{
    let input: I = parse_input(&ctx, input)?;
    let fut = f(ctx, input);
    Ok(Box::pin(async move { serialize_output(fut.await) }))
}

/// The action's input in the handler's type (`validation-failed` otherwise).
fn parse_input<I: ActionInput>(ctx: &Ctx, input: &RawValue) -> Result<I, InputError> {
    serde_json::from_str(input.get()).map_err(|e| {
        InputError::Validation(format!(
            "invalid input for action `{}`: {e}",
            ctx.handler_name()
        ))
    })
}

/// Runs an action whose rate limit is keyed by its input (`rate_key`): the key is read from
/// the parsed input, and the limit checked before the handler starts.
pub fn call_action_keyed<I, R, F, Fut>(
    ctx: Ctx,
    input: &RawValue,
    f: F,
    limit: &'static crate::rate::RateLimit,
    key: fn(&I) -> String,
) -> Result<ActionFuture, InputError>
where
    I: ActionInput,
    R: ActionResult,
    F: FnOnce(Ctx, I) -> Fut + Send + 'static,
    Fut: Future<Output = R> + Send + 'static,
{
    let input: I = parse_input(&ctx, input)?;
    let key = key(&input);
    Ok(Box::pin(async move {
        ctx.rate_limit(limit, Some(&key)).await?;
        serialize_output(f(ctx, input).await)
    }))
}

/// The guard of `#[action(rate = "…")]` (without `rate_key`): checked before the input is
/// parsed.
pub fn rate_guard<'a>(
    ctx: &'a Ctx,
    limit: &'static crate::rate::RateLimit,
) -> crate::pipeline::GuardFuture<'a> {
    Box::pin(ctx.rate_limit(limit, None))
}

/// The guard of `#[action(require = …)]`: every requirement must hold; the first that does not
/// is audited (`access_denied`, with its name as the permission) and answers 403.
pub fn require_guard<'a>(
    ctx: &'a Ctx,
    requirements: &'static [(crate::policy::Requirement, &'static str)],
) -> crate::pipeline::GuardFuture<'a> {
    let caller = ctx.caller();
    let refused = requirements
        .iter()
        .find(|(requirement, _)| !requirement(&caller));
    let result = match refused {
        None => Ok(()),
        Some((_, name)) => {
            ctx.audit(
                crate::audit::AuditEvent::new(crate::audit::AuditKind::AccessDenied)
                    .permission(name),
            );
            Err(crate::policy::AccessDenied::new(name).into())
        }
    };
    Box::pin(std::future::ready(result))
}

/// Coerces a `require` item to a [`crate::policy::Requirement`] (a type error points at it).
pub const fn requirement(f: crate::policy::Requirement) -> crate::policy::Requirement {
    f
}

/// Runs an action without an input parameter (Hasura sends `{}`; anything but an object is
/// rejected).
pub fn call_action_without_input<R, F, Fut>(
    ctx: Ctx,
    input: &RawValue,
    f: F,
) -> Result<ActionFuture, InputError>
where
    R: ActionResult,
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = R> + Send + 'static,
{
    if !input.get().trim_start().starts_with('{') {
        return Err(InputError::Validation(format!(
            "input of action `{}` must be an object",
            ctx.handler_name()
        )));
    }
    let fut = f(ctx);
    Ok(Box::pin(async move { serialize_output(fut.await) }))
}

fn row<Row: DeserializeOwned>(
    raw: Option<Box<RawValue>>,
    which: &str,
) -> Result<Option<Row>, InputError> {
    raw.map(|r| serde_json::from_str(r.get()))
        .transpose()
        .map_err(|e| {
            InputError::Validation(format!(
                "the `{which}` row does not match the handler's row type: {e}"
            ))
        })
}

/// Runs an event handler.
pub fn call_event<Row, R, F, Fut>(
    ctx: Ctx,
    request: EventRequest<Box<RawValue>>,
    f: F,
) -> Result<DeliveryFuture, InputError>
where
    Row: DeserializeOwned,
    R: DeliveryResult,
    F: FnOnce(Ctx, Event<Row>) -> Fut,
    Fut: Future<Output = R> + Send + 'static,
{
    let RowData { old, new } = request.event.data;
    let data = RowData {
        old: row(old, "old")?,
        new: row(new, "new")?,
    };
    let typed = EventRequest {
        id: request.id,
        table: request.table,
        trigger: request.trigger,
        event: crate::protocol::EventData {
            op: request.event.op,
            data,
            session_variables: request.event.session_variables,
            trace_context: request.event.trace_context,
        },
        delivery_info: request.delivery_info,
        created_at: request.created_at,
    };
    let event = Event::try_from(typed).map_err(|e| InputError::Validation(e.to_string()))?;
    let fut = f(ctx, event);
    Ok(Box::pin(async move { fut.await.into_result() }))
}

/// A cron's or scheduled event's payload, typed as the handler's.
fn payload<P: DeserializeOwned>(raw: &RawValue) -> Result<P, InputError> {
    serde_json::from_str(raw.get()).map_err(|e| {
        InputError::Validation(format!(
            "the payload does not match the handler's payload type: {e}"
        ))
    })
}

/// Runs a cron handler.
pub fn call_cron<P, R, F, Fut>(
    ctx: Ctx,
    request: CronRequest<Box<RawValue>>,
    f: F,
) -> Result<DeliveryFuture, InputError>
where
    P: DeserializeOwned,
    R: DeliveryResult,
    F: FnOnce(Ctx, CronRequest<P>) -> Fut,
    Fut: Future<Output = R> + Send + 'static,
{
    let payload: P = payload(&request.payload)?;
    let typed = CronRequest {
        id: request.id,
        name: request.name,
        scheduled_time: request.scheduled_time,
        payload,
        comment: request.comment,
    };
    let fut = f(ctx, typed);
    Ok(Box::pin(async move { fut.await.into_result() }))
}

/// Runs a one-off scheduled-event handler.
pub fn call_scheduled<P, R, F, Fut>(
    ctx: Ctx,
    request: ScheduledRequest<Box<RawValue>>,
    f: F,
) -> Result<DeliveryFuture, InputError>
where
    P: DeserializeOwned,
    R: DeliveryResult,
    F: FnOnce(Ctx, ScheduledRequest<P>) -> Fut,
    Fut: Future<Output = R> + Send + 'static,
{
    let payload: P = payload(&request.payload)?;
    let typed = ScheduledRequest {
        id: request.id,
        scheduled_time: request.scheduled_time,
        payload,
        created_at: request.created_at,
        comment: request.comment,
    };
    let fut = f(ctx, typed);
    Ok(Box::pin(async move { fut.await.into_result() }))
}

/// Makes a handler's span; the name must be a literal, so each handler has its own callsite.
#[macro_export]
#[doc(hidden)]
macro_rules! __handler_span {
    ($name:literal, $kind:literal, $fields:expr) => {{
        let fields: &$crate::__private::SpanFields<'_> = $fields;
        $crate::__private::tracing::info_span!(
            target: "rasura::handler",
            $name,
            kind = $kind,
            // Display, not Debug: no escaping pass over the id on every request.
            request_id = %fields.request_id,
            trace_id = fields.trace_id,
            span_id = fields.span_id,
            event_id = $crate::__private::tracing::field::Empty,
        )
    }};
}
