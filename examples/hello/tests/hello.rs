use rasura::{Service, handler, testing::TestService};
use serde_json::json;

#[tokio::test]
async fn greets_welcomes_and_reports() {
    let handlers = [handler!(hello::greet), handler!(hello::user_changed), handler!(hello::morning_report)];
    let hasura = TestService::new(Service::with_handlers(handlers));
    let res = hasura.action("greet").role("user").user_id("42").input(json!({"name": "Ada"})).send().await;
    assert_eq!(res.json::<serde_json::Value>(), json!({"greeting": "hello Ada, from user 42"}));
    let empty = hasura.action("greet").role("user").input(json!({"name": ""})).send().await;
    empty.assert_error(400, "empty-name");
    let new = json!({"id": 1, "email": "ada@example.com"});
    hasura.event("user_changed").table("public.users").insert(new).send().await.assert_status(200);
    hasura.cron("morning_report").send().await.assert_status(200);
}
