//! The service binary: `serve` (the default), `routes`, `doctor`, `healthcheck`,
//! `metadata export|diff|apply`, `jwt mint`, … (`__NAME__ --help`). Settings come from the
//! environment and `.env` (see `.env.example`).

#[tokio::main]
async fn main() -> std::process::ExitCode {
    __CRATE__::service().run().await
}
