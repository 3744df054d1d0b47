use rasura::{cron, Cron, Ctx, EventError};

#[cron(schedule = "0 0 8 * * *")]
async fn six_fields(_ctx: Ctx, _tick: Cron) -> Result<(), EventError> {
    Ok(())
}

#[cron(schedule = "0 8 * * MON")]
async fn named_day(_ctx: Ctx, _tick: Cron) -> Result<(), EventError> {
    Ok(())
}

#[cron(schedule = "0 25 * * *")]
async fn bad_hour(_ctx: Ctx, _tick: Cron) -> Result<(), EventError> {
    Ok(())
}

fn main() {}
