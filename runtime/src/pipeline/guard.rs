//! The two extension points of the pipeline: per-handler [`Guard`]s, carried by the handler's
//! registry entry, and per-service [`Observer`]s, given to [`crate::Service::with_observer`].

use std::pin::Pin;
use std::time::Duration;

use http::StatusCode;

use crate::context::Ctx;
use crate::error::{ErrorCore, Rejection};
use crate::registry::Handler;

/// A guard's future: `Ok(())` lets the request through; an [`ErrorCore`] refuses it with that
/// status, code and message (in Hasura's format, without `Retry-After`; a status that is not an
/// error becomes 403 `access-denied`).
pub type GuardFuture<'a> = Pin<Box<dyn Future<Output = Result<(), ErrorCore>> + Send + 'a>>;

/// A per-handler check (authorization, rate limit), run in the order listed on the handler's
/// [`Handler::guards`] after the caller is known (roles checked) and before the input is
/// parsed, so a refused caller costs little. It sees the handler's [`Ctx`]: identity, headers
/// and the shared resources.
///
/// ```
/// use rasura::pipeline::GuardFuture;
/// use rasura::{Ctx, error::ErrorCore};
///
/// fn needs_user_id(ctx: &Ctx) -> GuardFuture<'_> {
///     Box::pin(async move {
///         match ctx.identity().user_id() {
///             Some(_) => Ok(()),
///             None => Err(ErrorCore::new(http::StatusCode::FORBIDDEN, "access-denied", "no user id")),
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
        guard(ctx).await.map_err(|refusal| {
            // A refusal is never a success (it would acknowledge an event unrun) nor a redirect.
            let status = refusal.status();
            if status.is_client_error() || status.is_server_error() {
                Rejection::from(refusal)
            } else {
                Rejection::new(
                    http::StatusCode::FORBIDDEN,
                    "access-denied",
                    refusal.message().to_owned(),
                )
            }
        })?;
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
    /// Time from the request's arrival to its answer.
    pub elapsed: Duration,
    /// The request id sent back in `x-request-id`.
    pub request_id: &'a str,
}

/// Sees every webhook request once it is answered (metrics, audit). Called on the request's
/// task: keep it quick, hand slow work to a channel. With no observer, the pipeline does not
/// even read the clock.
pub trait Observer: Send + Sync + 'static {
    /// One answered request.
    fn observe(&self, record: &RequestRecord<'_>);
}
