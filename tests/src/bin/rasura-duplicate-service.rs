//! A service whose handler set has two actions named `ping` (the example's and this one: across
//! crates, so it builds), for the tests that `routes` and `metadata export` refuse it as `serve`
//! does.

mod other {
    /// A second `ping`.
    #[rasura::action(name = "ping", query)]
    pub async fn ping_twice(_ctx: rasura::Ctx) -> Result<String, rasura::ActionError> {
        Ok(String::new())
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    rasura::Service::with_handlers([
        rasura::handler!(example_default::ping),
        rasura::handler!(other::ping_twice),
    ])
    .run()
    .await
}
