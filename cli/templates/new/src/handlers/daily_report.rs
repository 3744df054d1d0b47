//! `daily_report`: a cron trigger, every day at 06:00 UTC.

use rasura::{Cron, Ctx, EventError, cron};

/// Writes the daily report, every day at 06:00 UTC.
// Hasura's cron dialect: five fields, UTC, 0 = Sunday.
#[cron(schedule = "0 6 * * *")]
pub async fn daily_report(_ctx: Ctx, tick: Cron) -> Result<(), EventError> {
    tracing::info!(scheduled_time = %tick.scheduled_time, "daily report");
    Ok(())
}

#[cfg(test)]
mod tests {
    use rasura::testing::TestService;
    use rasura::{Service, handler};

    #[tokio::test]
    async fn runs_on_schedule() {
        let hasura = TestService::new(Service::with_handlers([handler!(super::daily_report)]));
        hasura.cron("daily_report").send().await.assert_status(200);
        hasura
            .cron("daily_report")
            .secret("wrong")
            .send()
            .await
            .assert_error(401, "access-denied");
    }
}
