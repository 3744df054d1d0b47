use hello as _; // links the library, so its handlers register

#[tokio::main]
async fn main() -> std::process::ExitCode {
    rasura::Service::new().run().await // `serve` (default), `routes`, `metadata …`
}
