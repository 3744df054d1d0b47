use rasura::{action, cron, ActionError, Cron, Ctx, EventError};

#[action(query, asynchronous, timeout = "ten")]
async fn ping(_ctx: Ctx) -> Result<String, ActionError> {
    Ok(String::new())
}

#[cron(schedule = "@hourly", payload = "{not json")]
async fn hourly(_ctx: Ctx, _tick: Cron) -> Result<(), EventError> {
    Ok(())
}

fn main() {}
