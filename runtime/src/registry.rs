//! The handler registry: every `#[action]`, `#[event]` and `#[cron]` function submits one
//! [`Handler`] (plain data and fn pointers) to `inventory`, and [`crate::Service`] collects them.
//!
//! The same descriptions feed the request pipeline, `routes` and the metadata export, so
//! everything Hasura's metadata needs (roles, operations, columns, retry configuration,
//! schedules) is recorded here, beside the fn pointers that run the handler and its guards.

use std::fmt;
use std::pin::Pin;

use bytes::Bytes;
use serde_json::value::RawValue;

use crate::context::Ctx;
use crate::error::{ActionError, EventError};
use crate::protocol::{CronRequest, EventRequest, ScheduledRequest};

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Why a request body does not reach the handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputError {
    /// Not JSON, or not the envelope Hasura sends: `parse-failed`.
    Parse(String),
    /// Well-formed, but the input or rows do not match the handler's types: `validation-failed`.
    Validation(String),
}

/// Runs an action: deserialises its input (synchronously, before anything is spawned) and
/// returns the handler's future, which yields the serialised output.
pub type ActionCall =
    fn(Ctx, &RawValue) -> Result<BoxFuture<Result<Bytes, ActionError>>, InputError>;

/// Runs an event handler: deserialises the rows (the envelope is already checked) and returns
/// the handler's future.
pub type EventCall =
    fn(Ctx, EventRequest<Box<RawValue>>) -> Result<BoxFuture<Result<(), EventError>>, InputError>;

/// Runs a cron handler: deserialises the payload and returns the handler's future.
pub type CronCall =
    fn(Ctx, CronRequest<Box<RawValue>>) -> Result<BoxFuture<Result<(), EventError>>, InputError>;

/// Runs a one-off scheduled-event handler: deserialises the payload and returns the handler's
/// future.
pub type ScheduledCall = fn(
    Ctx,
    ScheduledRequest<Box<RawValue>>,
) -> Result<BoxFuture<Result<(), EventError>>, InputError>;

/// Makes the handler's `tracing` span (a callsite per handler, so the span is named after it).
pub type SpanFn = fn(&SpanFields<'_>) -> tracing::Span;

/// Values recorded on every handler span.
#[derive(Debug, Clone, Copy)]
pub struct SpanFields<'a> {
    /// The request id (`x-request-id`, generated when absent).
    pub request_id: &'a str,
    /// B3 `X-B3-TraceId` or the trace id of `traceparent`.
    pub trace_id: Option<&'a str>,
    /// B3 `X-B3-SpanId` or the parent id of `traceparent`.
    pub span_id: Option<&'a str>,
}

/// Where a handler is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceLocation {
    /// `module_path!()` of the handler.
    pub module_path: &'static str,
    /// `file!()`.
    pub file: &'static str,
    /// `line!()`.
    pub line: u32,
}

/// One registered handler.
pub struct Handler {
    /// The action, trigger or cron trigger name (the route's last segment).
    pub name: &'static str,
    /// The Rust function's name.
    pub function: &'static str,
    /// The doc comment of the function, if any (exported as the Hasura comment).
    pub doc: Option<&'static str>,
    /// Where it is defined.
    pub location: SourceLocation,
    /// What kind of handler it is, with its options.
    pub kind: HandlerKind,
    /// Makes its span.
    pub span: SpanFn,
    /// Per-handler guards (authorization, rate limits), run in order by the pipeline after the
    /// caller's roles are checked and before the input is parsed; see
    /// [`crate::pipeline::Guard`]. Empty for a handler without any.
    pub guards: &'static [crate::pipeline::Guard],
}

impl fmt::Debug for Handler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handler")
            .field("name", &self.name)
            .field("function", &self.function)
            .field("kind", &self.kind)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl Handler {
    /// `action`, `event` or `cron`.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            HandlerKind::Action(_) => "action",
            HandlerKind::Event(_) => "event",
            HandlerKind::Cron(_) => "cron",
            HandlerKind::Scheduled(_) => "scheduled",
        }
    }

    /// The route Hasura calls.
    pub fn route(&self) -> String {
        match self.kind {
            HandlerKind::Action(_) => format!("/actions/{}", self.name),
            HandlerKind::Event(_) => format!("/events/{}", self.name),
            HandlerKind::Cron(_) => format!("/crons/{}", self.name),
            HandlerKind::Scheduled(_) => format!("/scheduled/{}", self.name),
        }
    }

    /// How deliveries of this handler are retried, deduplicated and dead-lettered (`None` for
    /// actions).
    pub fn delivery_policy(&self) -> Option<&DeliveryPolicy> {
        match &self.kind {
            HandlerKind::Action(_) => None,
            HandlerKind::Event(spec) => Some(&spec.policy),
            HandlerKind::Cron(spec) => Some(&spec.policy),
            HandlerKind::Scheduled(spec) => Some(&spec.policy),
        }
    }
}

/// The four kinds of Hasura webhooks.
#[derive(Debug)]
pub enum HandlerKind {
    /// `#[action]`.
    Action(ActionSpec),
    /// `#[event]`.
    Event(EventSpec),
    /// `#[cron]`.
    Cron(CronSpec),
    /// `#[scheduled]`: one-off scheduled events.
    Scheduled(ScheduledSpec),
}

/// What Rasura does around each delivery of an event, cron or scheduled event: how long Hasura
/// waits before retrying a failure, whether the effects happen once per delivery id, and
/// whether the last failure is kept in `rasura.dead_letter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryPolicy {
    /// The delay before the next attempt (`Retry-After`): Hasura's fixed interval unless the
    /// handler asks for `retry(backoff = "exponential", …)`.
    pub backoff: crate::delivery::Backoff,
    /// `once`: the whole handler runs in one transaction with the delivery's record, so a
    /// redelivery is acknowledged without running it.
    pub once: bool,
    /// `dead_letter`: the last failed attempt is stored and acknowledged.
    pub dead_letter: bool,
}

impl DeliveryPolicy {
    /// Hasura's own behaviour: a fixed interval, no deduplication, no dead letters.
    pub const fn fixed(interval_sec: u32) -> Self {
        Self {
            backoff: crate::delivery::Backoff::Fixed { interval_sec },
            once: false,
            dead_letter: false,
        }
    }

    /// Whether attempts are counted in Postgres (crons and scheduled events carry no retry
    /// counter; one is kept when `once` or `dead_letter` needs it).
    pub fn counts_attempts(&self) -> bool {
        self.once || self.dead_letter
    }
}

/// Query or mutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionType {
    /// `type Query`.
    Query,
    /// `type Mutation` (Hasura's default).
    Mutation,
}

/// Options of an `#[action]`.
pub struct ActionSpec {
    /// Query or mutation.
    pub action_type: ActionType,
    /// Asynchronous mutation.
    pub asynchronous: bool,
    /// Roles allowed besides `admin` (empty: admin only).
    pub roles: &'static [&'static str],
    /// Verify the caller's JWT (the action then forwards client headers).
    pub jwt: bool,
    /// Handler timeout in seconds (`None`: the service default).
    pub timeout_secs: Option<u64>,
    /// Its rate limit (`#[action(rate = "…")]`), enforced by its guard or, with `rate_key`,
    /// once the input is parsed.
    pub rate: Option<crate::rate::RateLimit>,
    /// Rust type of the input (`()` when the handler takes none).
    pub input_type: &'static str,
    /// Rust type of the output.
    pub output_type: &'static str,
    /// Its GraphQL definition, checked at compile time: from `actions.graphql` (schema-first)
    /// or from its types' `#[derive(CustomType)]` (code-first).
    pub definition: ActionSchema,
    /// Runs it.
    pub call: ActionCall,
}

impl fmt::Debug for ActionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActionSpec")
            .field("action_type", &self.action_type)
            .field("asynchronous", &self.asynchronous)
            .field("roles", &self.roles)
            .field("jwt", &self.jwt)
            .field("timeout_secs", &self.timeout_secs)
            .field("rate", &self.rate)
            .field("input_type", &self.input_type)
            .field("output_type", &self.output_type)
            .field("definition", &self.definition)
            .finish_non_exhaustive()
    }
}

/// Where an action's GraphQL definition comes from.
#[derive(Clone, Copy)]
pub enum ActionSchema {
    /// `actions.graphql`, through rasura-codegen: the handler's types are the generated ones.
    Generated(crate::generated::ActionDefinition),
    /// The handler's input and output types, through `#[derive(CustomType)]` (built when
    /// asked: `metadata export`, `routes`).
    Derived(fn() -> crate::custom_types::DerivedDefinition),
}

impl ActionSchema {
    /// The definition: the field's SDL inside its root type, the custom types' SDL, and what
    /// could not be expressed (derived only).
    pub fn resolve(&self) -> crate::custom_types::DerivedDefinition {
        match self {
            ActionSchema::Generated(d) => crate::custom_types::DerivedDefinition {
                sdl: d.sdl.to_owned(),
                types_sdl: d.types_sdl.to_owned(),
                problems: Vec::new(),
            },
            ActionSchema::Derived(build) => build(),
        }
    }

    /// `schema-first` or `code-first`.
    pub fn source(&self) -> &'static str {
        match self {
            ActionSchema::Generated(_) => "schema-first (actions.graphql)",
            ActionSchema::Derived(_) => "code-first (derived types)",
        }
    }
}

impl fmt::Debug for ActionSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActionSchema::Generated(d) => f.debug_tuple("Generated").field(d).finish(),
            ActionSchema::Derived(_) => f.write_str("Derived"),
        }
    }
}

/// Columns of an event operation: all (`"*"`) or a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Columns {
    /// `"*"`.
    All,
    /// Named columns.
    Only(&'static [&'static str]),
}

/// One enabled operation of an event trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationSpec {
    /// Columns whose change fires the trigger (UPDATE) or `*`.
    pub columns: Columns,
    /// Columns sent in the payload (`None`: all).
    pub payload: Option<Columns>,
}

/// Event-trigger retry configuration (Hasura's `retry_conf` for events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRetry {
    /// `num_retries` (default 0).
    pub num_retries: u32,
    /// `interval_sec` (default 10).
    pub interval_sec: u32,
    /// `timeout_sec` (default 60).
    pub timeout_sec: u32,
}

impl Default for EventRetry {
    fn default() -> Self {
        Self {
            num_retries: 0,
            interval_sec: 10,
            timeout_sec: 60,
        }
    }
}

/// Options of an `#[event]`.
pub struct EventSpec {
    /// Data source (default `default`).
    pub source: &'static str,
    /// Table schema.
    pub schema: &'static str,
    /// Table name.
    pub table: &'static str,
    /// INSERT, if enabled.
    pub insert: Option<OperationSpec>,
    /// UPDATE, if enabled.
    pub update: Option<OperationSpec>,
    /// DELETE, if enabled.
    pub delete: Option<OperationSpec>,
    /// Manual invocation enabled.
    pub manual: bool,
    /// Retry configuration.
    pub retry: EventRetry,
    /// Handler timeout in seconds (`None`: the service default; always kept below
    /// `retry.timeout_sec` so Rasura answers before Hasura gives up).
    pub timeout_secs: Option<u64>,
    /// Rust type of the row.
    pub row_type: &'static str,
    /// Most deliveries run at once on one replica (`None`: no limit); above it Rasura answers
    /// 503 with `Retry-After` (the trigger's `interval_sec`), so Hasura delivers it again.
    pub concurrency: Option<u32>,
    /// Backoff, `once` and dead letters.
    pub policy: DeliveryPolicy,
    /// Runs it.
    pub call: EventCall,
}

impl fmt::Debug for EventSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSpec")
            .field("source", &self.source)
            .field("table", &format_args!("{}.{}", self.schema, self.table))
            .field("insert", &self.insert)
            .field("update", &self.update)
            .field("delete", &self.delete)
            .field("manual", &self.manual)
            .field("retry", &self.retry)
            .field("row_type", &self.row_type)
            .field("concurrency", &self.concurrency)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// Scheduled-trigger retry configuration (its key names differ from events').
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CronRetry {
    /// `num_retries` (default 0).
    pub num_retries: u32,
    /// `retry_interval_seconds` (default 10).
    pub retry_interval_seconds: u32,
    /// `timeout_seconds` (default 60).
    pub timeout_seconds: u32,
    /// `tolerance_seconds` (default 21600).
    pub tolerance_seconds: u32,
}

impl Default for CronRetry {
    fn default() -> Self {
        Self {
            num_retries: 0,
            retry_interval_seconds: 10,
            timeout_seconds: 60,
            tolerance_seconds: 21600,
        }
    }
}

/// Options of a `#[cron]`.
pub struct CronSpec {
    /// Five-field schedule in Hasura's dialect (UTC).
    pub schedule: &'static str,
    /// The configured payload as JSON text, if any.
    pub payload: Option<&'static str>,
    /// Retry configuration.
    pub retry: CronRetry,
    /// Comment, if any.
    pub comment: Option<&'static str>,
    /// Handler timeout in seconds (`None`: the service default; kept below
    /// `retry.timeout_seconds`).
    pub timeout_secs: Option<u64>,
    /// Rust type of the payload.
    pub payload_type: &'static str,
    /// Backoff, `once` and dead letters.
    pub policy: DeliveryPolicy,
    /// Runs it.
    pub call: CronCall,
}

impl fmt::Debug for CronSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CronSpec")
            .field("schedule", &self.schedule)
            .field("payload", &self.payload)
            .field("retry", &self.retry)
            .field("comment", &self.comment)
            .field("payload_type", &self.payload_type)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// Options of a `#[scheduled]` handler (one-off scheduled events, created from code with
/// [`crate::Ctx::scheduler`]).
pub struct ScheduledSpec {
    /// The retry configuration `ctx.scheduler().schedule` sends with each event (Hasura keeps
    /// it per event; the key names are the cron triggers').
    pub retry: CronRetry,
    /// Handler timeout in seconds (`None`: the service default; kept below
    /// `retry.timeout_seconds`).
    pub timeout_secs: Option<u64>,
    /// Rust type of the payload.
    pub payload_type: &'static str,
    /// Backoff, `once` and dead letters.
    pub policy: DeliveryPolicy,
    /// Runs it.
    pub call: ScheduledCall,
}

impl fmt::Debug for ScheduledSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScheduledSpec")
            .field("retry", &self.retry)
            .field("payload_type", &self.payload_type)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// What the macros submit to `inventory`.
pub struct Registration(pub &'static Handler);

inventory::collect!(Registration);

/// Every handler linked into the binary.
pub fn registered() -> Vec<&'static Handler> {
    let mut handlers: Vec<_> = inventory::iter::<Registration>
        .into_iter()
        .map(|r| r.0)
        .collect();
    // Link order is unspecified: sort so routes and exports are stable.
    handlers.sort_by(|a, b| (a.kind_name(), a.name).cmp(&(b.kind_name(), b.name)));
    handlers
}
