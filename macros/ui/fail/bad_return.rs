use rasura::{action, cron, ActionError, Cron, Ctx};

#[action]
async fn no_result(_ctx: Ctx) -> String {
    String::new()
}

#[action]
async fn wrong_error(_ctx: Ctx) -> Result<String, String> {
    Ok(String::new())
}

#[cron(schedule = "0 8 * * *")]
async fn nothing(_ctx: Ctx, _tick: Cron) {}

fn main() {
    let _ = ActionError::validation("unused");
}
