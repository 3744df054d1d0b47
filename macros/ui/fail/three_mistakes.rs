use rasura::{cron, Cron, Ctx, EventError};

// Not async, an unknown option, and a six-field schedule: three errors in one report.
#[cron(schedule = "0 0 8 * * *", paylod = "{}")]
fn nightly(_ctx: Ctx, _tick: Cron) -> Result<(), EventError> {
    Ok(())
}

fn main() {}
