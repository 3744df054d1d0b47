//! `greeting_created`: an event trigger on inserts into `public.greeting`.

use rasura::{Ctx, Event, EventError, Operation, event};

use crate::hasura::events::GreetingRow;

/// Runs once for each new greeting (Hasura retries it until it answers 2xx).
#[event(
    table = "public.greeting",
    insert,
    retry(num_retries = 3, interval_sec = 10)
)]
pub async fn greeting_created(_ctx: Ctx, event: Event<GreetingRow>) -> Result<(), EventError> {
    if let Operation::Insert { new } = event.operation {
        tracing::info!(id = new.id, name = %new.name, "greeting created");
    }
    // Returning Ok acknowledges the event; an Err makes Hasura retry (a 4xx `EventError`
    // stops the retries).
    Ok(())
}

#[cfg(test)]
mod tests {
    use rasura::testing::TestService;
    use rasura::{Service, handler};
    use serde_json::json;

    #[tokio::test]
    async fn acknowledges_an_insert() {
        let hasura = TestService::new(Service::with_handlers([handler!(super::greeting_created)]));
        hasura
            .event("greeting_created")
            .table("public.greeting")
            .insert(json!({"id": 1, "name": "Ada", "created_at": "2026-12-01T10:00:00+00:00"}))
            .send()
            .await
            .assert_status(200);
        // A row that is not a greeting is refused for good: a 4xx without Retry-After.
        let res = hasura
            .event("greeting_created")
            .table("public.greeting")
            .insert(json!({"id": "one"}))
            .send()
            .await;
        res.assert_status(400);
        assert!(res.header("retry-after").is_none());
    }
}
