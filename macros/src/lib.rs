//! Rasura's attribute macros. This crate is a thin shim: the expansion logic lives in
//! `rasura-macros-core`, a normal library with unit tests. Use the macros through `rasura`.

use proc_macro::TokenStream;

/// Turns an `async fn(ctx: Ctx, input: In) -> Result<Out, ActionError>` into a Hasura action
/// handler served at `POST /actions/{name}`.
///
/// Options: `name = "…"` (default: the function's name), `query` or `mutation` (default),
/// `asynchronous` (mutations only), `roles = ["user", …]` (admin is always allowed; without
/// `roles` only admin may call), `jwt` (verify the caller's token), `timeout = <seconds>`,
/// `require = f` or `require = [f, g]` (functions `fn(&rasura::policy::Caller<'_>) -> bool`,
/// all of which must hold; checked before the input is parsed, 403 `access-denied`),
/// `rate = "10/s, burst 20"` (a GCRA limit per user; units `s`, `m`/`min`, `h`, `d`; 429
/// `rate-limited` with `Retry-After` above it), `rate_key = "username"` (a field of the input
/// keying the limit when the caller has no user id; checked once the input is parsed).
///
/// The action's GraphQL definition is checked at compile time: an action `actions.graphql`
/// defines (through rasura-codegen) must use the generated types; any other action is
/// code-first and its input struct and output type must derive `CustomType`.
#[proc_macro_attribute]
pub fn action(args: TokenStream, item: TokenStream) -> TokenStream {
    rasura_macros_core::action(args.into(), item.into()).into()
}

/// Turns an `async fn(ctx: Ctx, event: Event<Row>) -> Result<(), EventError>` into an event
/// trigger webhook served at `POST /events/{trigger}`.
///
/// Options: `trigger = "…"` (default: the function's name), `table = "schema.table"`
/// (required), `source = "…"` (default `default`), `insert`, `update(columns = [..],
/// payload = [..])`, `delete`, `manual`, `retry(num_retries = N, interval_sec = N,
/// timeout_sec = N, backoff = "exponential", base_sec = N, max_sec = N)`, `timeout = <seconds>`,
/// `concurrency = N` (most deliveries run at once on one replica; above it 503 with
/// `Retry-After` = `interval_sec`), `once` (the handler runs once per delivery id, in one
/// transaction with its record: `ctx.delivery_transaction()`), `dead_letter` (the last failed
/// attempt is stored in `rasura.dead_letter` and acknowledged). Events are never rate-limited:
/// Hasura would only retry.
#[proc_macro_attribute]
pub fn event(args: TokenStream, item: TokenStream) -> TokenStream {
    rasura_macros_core::event(args.into(), item.into()).into()
}

/// Turns an `async fn(ctx: Ctx, tick: Cron<P>) -> Result<(), EventError>` into a cron trigger
/// webhook served at `POST /crons/{name}`.
///
/// Options: `name = "…"` (default: the function's name), `schedule = "0 8 * * *"` (required;
/// Hasura's five-field dialect, UTC, 0 = Sunday), `payload = r#"{…}"#` (JSON), `comment = "…"`,
/// `retry(num_retries = N, retry_interval_seconds = N, timeout_seconds = N,
/// tolerance_seconds = N, backoff = "exponential", base_sec = N, max_sec = N)` (the backoff
/// must end within `tolerance_seconds`), `timeout = <seconds>`, `once`, `dead_letter`.
#[proc_macro_attribute]
pub fn cron(args: TokenStream, item: TokenStream) -> TokenStream {
    rasura_macros_core::cron(args.into(), item.into()).into()
}

/// Turns an `async fn(ctx: Ctx, event: Scheduled<P>) -> Result<(), EventError>` into a
/// one-off scheduled-event webhook served at `POST /scheduled/{name}`, and generates a marker
/// type named after the function (`send_reminder` → `SendReminder`) for
/// `ctx.scheduler().schedule::<SendReminder>(at, &payload)`.
///
/// Options: `name = "…"` (default: the function's name), `retry(num_retries = N,
/// retry_interval_seconds = N, timeout_seconds = N, tolerance_seconds = N, backoff =
/// "exponential", base_sec = N, max_sec = N)` (sent with each event), `timeout = <seconds>`,
/// `once`, `dead_letter`.
#[proc_macro_attribute]
pub fn scheduled(args: TokenStream, item: TokenStream) -> TokenStream {
    rasura_macros_core::scheduled(args.into(), item.into()).into()
}

/// The registered [`Handler`] of an annotated function, for services built from an explicit
/// list: `Service::with_handlers([handler!(ping), handler!(crate::jobs::nightly)])`.
#[proc_macro]
pub fn handler(input: TokenStream) -> TokenStream {
    rasura_macros_core::handler_ref(input.into()).into()
}

/// Derives a Hasura custom type ([`CustomType`]): on a struct with named fields, an object type
/// (an input object where it is an action's argument), on an enum of unit variants a GraphQL
/// enum. Put it beside serde's derives: `#[serde(rename = "…")]`, `#[serde(rename_all = "…")]`
/// and `#[serde(skip)]` are read, so the GraphQL names are the JSON names; doc comments become
/// descriptions. An `#[action]` whose input and output types derive it needs no
/// `actions.graphql`.
///
/// [`CustomType`]: https://docs.rs/rasura/latest/rasura/custom_types/trait.CustomType.html
#[proc_macro_derive(CustomType, attributes(serde))]
pub fn derive_custom_type(input: TokenStream) -> TokenStream {
    rasura_macros_core::custom_type::derive(input.into()).into()
}
