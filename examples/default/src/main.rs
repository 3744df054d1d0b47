//! Runs the default example on development defaults: missing secrets are generated and printed
//! once to stderr. `example-default routes` lists the handlers.

// Linking the library registers its handlers.
#[tokio::main]
async fn main() -> std::process::ExitCode {
    example_default::configure(rasura::Service::development_defaults())
        .run()
        .await
}
