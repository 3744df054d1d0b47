//! The example's `pong` without JWT verification (the peers' `/pong_nojwt`), served with the
//! default configuration, for `bench/pong.sh`. The JWT variant is the example binary itself.

use example_default::{PongArgs, PongOutput};
use rasura::{ActionError, Ctx, Service, action, handler};

/// `pong` minus the JWT check: same input, output and roles.
#[action(name = "pong", mutation, roles = ["user", "admin"])]
async fn pong_nojwt(_ctx: Ctx, input: PongArgs) -> Result<PongOutput, ActionError> {
    Ok(PongOutput {
        message: input.message,
        number: input.number,
    })
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    Service::with_handlers([handler!(pong_nojwt)]).run().await
}
