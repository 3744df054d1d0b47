//! The two extension points of the pipeline: per-handler [`Guard`]s, carried by the handler's
//! registry entry, and per-service [`Observer`]s, given to [`crate::Service::with_observer`].

use std::pin::Pin;
use std::time::Duration;

use http::StatusCode;

use crate::context::Ctx;
use crate::error::{ActionError, Rejection};
use crate::registry::Handler;

/// A guard's future: `Ok(())` lets the request through; an [`ActionError`] refuses it with its
/// status, code, message, `extensions` and `Retry-After` (in Hasura's format; for events and
/// crons the same answer, so a refusal without `Retry-After` is permanent).
pub type GuardFuture<'a> = Pin<Box<dyn Future<Output = Result<(), ActionError>> + Send + 'a>>;

/// A per-handler check (authorization, rate limit), run in the order listed on the handler's
/// [`Handler::guards`] after the caller is known (roles checked) and before the input is
/// parsed, so a refused caller costs little. It sees the handler's [`Ctx`]: identity, headers
/// and the shared resources.
///
/// ```
/// use rasura::pipeline::GuardFuture;
/// use rasura::{ActionError, Ctx};
///
/// fn needs_user_id(ctx: &Ctx) -> GuardFuture<'_> {
///     Box::pin(async move {
///         match ctx.identity().user_id() {
///             Some(_) => Ok(()),
///             None => Err(ActionError::forbidden("no user id")),
///         }
///     })
/// }
/// let guard: rasura::pipeline::Guard = needs_user_id;
/// # let _ = guard;
/// ```
pub type Guard = for<'a> fn(&'a Ctx) -> GuardFuture<'a>;

/// Step 7, after roles: every guard of the handler, in order; the first refusal answers.
pub(crate) async fn run_guards(handler: &'static Handler, ctx: &Ctx) -> Result<(), Rejection> {
    for guard in handler.guards {
        // An `ActionError` is always 4xx: never a success (which would acknowledge an event
        // unrun) nor a redirect.
        guard(ctx).await.map_err(Rejection::from)?;
    }
    Ok(())
}

/// What an [`Observer`] learns of each webhook request, once it is answered.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RequestRecord<'a> {
    /// `action`, `event` or `cron`.
    pub kind: &'static str,
    /// The handler, once the route or payload named one (`None` when refused before).
    pub handler: Option<&'static Handler>,
    /// The status sent.
    pub status: StatusCode,
    /// Time from the request's arrival to its answer (on tokio's clock: the real one, or a
    /// paused test clock).
    pub elapsed: Duration,
    /// The request id sent back in `x-request-id`.
    pub request_id: &'a str,
}

/// Sees every webhook request once it is answered (metrics, audit). Called on the request's
/// task: keep it quick, hand slow work to a channel.
pub trait Observer: Send + Sync + 'static {
    /// One answered request.
    fn observe(&self, record: &RequestRecord<'_>);
}
