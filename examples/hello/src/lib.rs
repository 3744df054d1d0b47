use rasura::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, CustomType)] // CustomType: the action's GraphQL types come from these
pub struct GreetInput {
    name: String,
}
#[derive(Serialize, CustomType)]
pub struct GreetOutput {
    greeting: String,
}

/// Greets the caller (this doc comment becomes the action's comment in Hasura).
#[action(query, roles = ["user"])]
pub async fn greet(ctx: Ctx, input: GreetInput) -> Result<GreetOutput, ActionError> {
    let who = ctx.identity().user_id().unwrap_or("stranger");
    if input.name.is_empty() {
        return Err(ActionError::bad_request("empty-name", "name must not be empty"));
    }
    Ok(GreetOutput { greeting: format!("hello {}, from user {who}", input.name) })
}

#[derive(Deserialize)]
pub struct User {
    email: String,
}

#[event(table = "public.users", insert, update(columns = ["email"]), retry(num_retries = 3))]
pub async fn user_changed(_ctx: Ctx, event: Event<User>) -> Result<(), EventError> {
    if let Operation::Insert { new } | Operation::Update { new, .. } = event.operation {
        println!("welcome {}", new.email);
    }
    Ok(()) // acknowledged only now; an Err makes Hasura retry
}

#[cron(schedule = "0 8 * * 1-5")] // Hasura's dialect: five fields, UTC, 0 = Sunday
pub async fn morning_report(_ctx: Ctx, tick: Cron) -> Result<(), EventError> {
    println!("report for {}", tick.scheduled_time);
    Ok(())
}
