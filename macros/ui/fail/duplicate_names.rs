// Two handlers of one kind and name in one crate: a build error at both.
use rasura::{action, cron, ActionError, Cron, Ctx, EventError};

mod a {
    use super::*;
    #[action(name = "ping")]
    pub async fn ping(_ctx: Ctx) -> Result<String, ActionError> {
        Ok(String::new())
    }
}

#[action(name = "ping")]
async fn ping_again(_ctx: Ctx) -> Result<String, ActionError> {
    Ok(String::new())
}

// Another kind may reuse the name: its route differs.
#[cron(name = "ping", schedule = "0 8 * * *")]
async fn ping_cron(_ctx: Ctx, _tick: Cron) -> Result<(), EventError> {
    Ok(())
}

fn main() {}
