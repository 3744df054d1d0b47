//! Runs the default example on development defaults: missing secrets are generated and printed
//! once to stderr. `example-default routes` lists the handlers.

// Linking the library registers its handlers.
use example_default as _;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    rasura::Service::development_defaults().run().await
}
