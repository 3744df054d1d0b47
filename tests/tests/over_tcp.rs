//! Panics and event timeouts over real TCP, against `rasura-test-service` (the example's
//! handlers plus ones that panic and stall).

use rasura::testing::RunningService;
use serde_json::{Value, json};

const SECRET: &str = "tcp-webhook-secret-0123456789abcdef";

fn start() -> RunningService {
    let jwt = json!({"type": "HS256", "key": "tcp-test-jwt-key-0123456789abcdef0123"}).to_string();
    RunningService::start(
        env!("CARGO_BIN_EXE_rasura-test-service"),
        &[
            ("RASURA_WEBHOOK_SECRET", SECRET),
            ("HASURA_GRAPHQL_JWT_SECRET", &jwt),
        ],
    )
}

async fn post(base: &str, path: &str, body: Value) -> (u16, Option<String>, Value) {
    let res = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("x-rasura-webhook-secret", SECRET)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry, res.json().await.unwrap())
}

fn admin_action(name: &str) -> Value {
    json!({"action": {"name": name}, "input": {}, "session_variables": {"x-hasura-role": "admin"}, "request_query": null})
}

#[tokio::test]
async fn after_a_panicking_handler_the_next_request_succeeds() {
    let svc = start();
    let base = svc.base_url();
    let (status, _, body) = post(&base, "/actions/explode", admin_action("explode")).await;
    assert_eq!(
        (status, &body),
        (
            500,
            &json!({"message": "internal error", "extensions": {"code": "unexpected"}})
        )
    );
    for _ in 0..3 {
        let (status, _, body) = post(&base, "/actions/ping", admin_action("ping")).await;
        assert_eq!(status, 200, "{body}");
    }
    // The panic message stays in the server's output, not in the response.
    assert!(!body.to_string().contains("explode was called"));
}

#[tokio::test]
async fn an_event_timeout_is_503_with_retry_after() {
    let svc = start();
    let body = json!({
        "id": "85558393-c75d-4d2f-9c15-e80591b83894",
        "table": {"schema": "public", "name": "user"},
        "trigger": {"name": "stall"},
        "event": {"op": "INSERT", "data": {"old": null, "new": {"id": 1}}, "session_variables": null},
        "delivery_info": {"current_retry": 0, "max_retries": 2},
        "created_at": "2024-05-01T07:14:21.601701"
    });
    let (status, retry, body) = post(&svc.base_url(), "/events/stall", body).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["extensions"]["code"], "timeout");
    assert_eq!(retry.as_deref(), Some("15"));
}

#[test]
fn routes_says_which_actions_are_schema_first_or_code_first() {
    // The test service's own actions come from a crate without codegen (code-first, derived
    // types); the example's, linked in, from one with codegen (schema-first).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rasura-test-service"))
        .arg("routes")
        .output()
        .unwrap();
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    let line = |name: &str| {
        table
            .lines()
            .find(|l| l.contains(&format!("/actions/{name} ")))
            .unwrap_or_else(|| panic!("{name} missing from:\n{table}"))
            .to_owned()
    };
    assert!(
        line("pong").ends_with("schema-first (actions.graphql)"),
        "{table}"
    );
    assert!(table.contains("code-first (derived types)"), "{table}");
}
