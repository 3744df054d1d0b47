//! Actions through the real routes (the test kit dispatches as the server does): routing,
//! secrets, roles, parsing, handler errors, timeouts and panics, each asserted for status and
//! Hasura-format body.

use std::time::Duration;

use rasura::config::Config;
use rasura::testing::{TEST_WEBHOOK_SECRET, TestService};
use rasura::{ActionError, Ctx, Service, action, handler};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Serialize, rasura::CustomType)]
struct Empty {}

/// Sleeps past its one-second timeout.
#[action(roles = ["user"], timeout = 1)]
async fn slow(_ctx: Ctx) -> Result<Empty, ActionError> {
    tokio::time::sleep(Duration::from_secs(5)).await;
    Ok(Empty {})
}

/// Panics.
#[action]
async fn boom(_ctx: Ctx) -> Result<Empty, ActionError> {
    panic!("boom")
}

#[derive(Deserialize, rasura::CustomType)]
struct FailInput {
    field: String,
}

/// Returns its own error.
#[action(name = "fail", roles = ["user"])]
async fn failing(_ctx: Ctx, input: FailInput) -> Result<Empty, ActionError> {
    Err(ActionError::conflict("already taken").with_extension("field", input.field))
}

/// Reports its identity and request id.
#[action(query, roles = ["user", "editor"])]
async fn whoami(ctx: Ctx) -> Result<Value, ActionError> {
    let id = ctx.identity();
    Ok(json!({
        "role": id.role(), "user_id": id.user_id(), "org": id.get("X-Hasura-Org-Id"),
        "request_id": ctx.request_id(),
    }))
}

fn service() -> TestService {
    TestService::new(Service::with_handlers([
        handler!(example_default::ping),
        handler!(example_default::pong),
        handler!(slow),
        handler!(boom),
        handler!(failing),
        handler!(whoami),
    ]))
}

#[tokio::test]
async fn ping_answers_with_the_callers_role_and_user_id() {
    let res = service()
        .action("ping")
        .role("user")
        .user_id("42")
        .send()
        .await;
    res.assert_status(200);
    assert_eq!(
        res.json::<Value>(),
        json!({"message": "pong", "role": "user", "user_id": "42"})
    );
    assert_eq!(res.header("content-type"), Some("application/json"));
    let res = service().action("ping").send().await;
    assert_eq!(
        res.json::<Value>(),
        json!({"message": "pong", "role": "admin", "user_id": null})
    );
}

#[tokio::test]
async fn pong_echoes_its_input_for_a_verified_caller() {
    let res = service()
        .action("pong")
        .role("user")
        .user_id("42")
        .bearer_for("user", Some("42"))
        .input(json!({"message": "hi", "number": 5}))
        .send()
        .await;
    res.assert_status(200);
    assert_eq!(res.json::<Value>(), json!({"message": "hi", "number": 5}));
}

#[tokio::test]
async fn post_actions_dispatches_on_the_action_name() {
    let s = service();
    let res = s.action("ping").path("/actions").role("user").send().await;
    res.assert_status(200);
    assert_eq!(res.json::<Value>()["message"], "pong");
    let res = s.action("nope").path("/actions").send().await;
    res.assert_error(404, "not-exists");
    assert!(res.message().contains("nope"));
}

#[tokio::test]
async fn unknown_routes_are_not_exists() {
    let s = service();
    s.action("nope")
        .send()
        .await
        .assert_error(404, "not-exists");
    s.post("/events/nope")
        .body("{}")
        .send()
        .await
        .assert_error(404, "not-exists");
    s.post("/crons/nope")
        .body("{}")
        .send()
        .await
        .assert_error(404, "not-exists");
    s.post("/elsewhere")
        .body("{}")
        .send()
        .await
        .assert_error(404, "not-exists");
}

#[tokio::test]
async fn other_methods_get_a_hasura_format_405() {
    use tower::ServiceExt;
    for path in ["/actions/ping", "/actions", "/events/x", "/crons/x"] {
        let request = http::Request::get(path)
            .body(axum::body::Body::empty())
            .unwrap();
        let res = service().router().oneshot(request).await.unwrap();
        assert_eq!(res.status(), 405, "{path}");
        assert_eq!(res.headers()["allow"], "POST");
        let body = http_body_util::BodyExt::collect(res.into_body())
            .await
            .unwrap()
            .to_bytes();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["extensions"]["code"], "method-not-allowed", "{path}");
    }
}

/// The server answers a handler's own route (`POST /actions/ping`) without axum's router, and
/// the test kit dispatches as the server does; through the router alone
/// (`TestService::from_router`) every answer is the same: status, headers and body.
#[tokio::test]
async fn handler_routes_answer_the_same_directly_and_through_the_router() {
    let direct = service();
    let routed = TestService::from_router(direct.router(), TEST_WEBHOOK_SECRET);
    for case in 0..11 {
        let mut answers = Vec::new();
        for s in [&direct, &routed] {
            // The same request id, so the echoed header is the same too.
            let res = match case {
                0 => s.action("ping").role("user").user_id("7"),
                1 => s
                    .action("whoami")
                    .role("editor")
                    .header("x-hasura-org-id", "o"),
                2 => s
                    .action("fail")
                    .role("user")
                    .input(json!({"field": "email"})),
                3 => s.action("ping").without_secret(),
                4 => s.action("ping").secret("wrong"),
                5 => s.action("ping").role("anonymous"),
                6 => s.action("boom"),
                7 => s.action("ping").path("/actions/ping?x=1"),
                8 => s.action("ping").path("/actions/ping/"),
                9 => s.action("ping").path("/actions/pong"),
                _ => s.action("nope"),
            }
            .header("x-request-id", "same-request")
            .send()
            .await;
            answers.push(res);
        }
        let (a, b) = (&answers[0], &answers[1]);
        assert_eq!(a.status, b.status, "case {case}");
        assert_eq!(a.headers, b.headers, "case {case}");
        assert_eq!(a.body, b.body, "case {case}");
    }
    // A raw body that is not the envelope, and a GET of a handler's route.
    for s in [&direct, &routed] {
        s.post("/actions/ping")
            .body("not json")
            .send()
            .await
            .assert_error(400, "parse-failed");
        assert_eq!(s.get("/actions/ping").await.status, 405);
    }
}

#[tokio::test]
async fn a_name_that_differs_from_the_route_is_refused() {
    let res = service().action("ping").action_name("pong").send().await;
    res.assert_error(400, "validation-failed");
    assert!(res.message().contains("does not match the route"));
}

#[tokio::test]
async fn webhook_secret_is_required_and_checked_before_anything_else() {
    let s = service();
    let res = s.action("ping").without_secret().send().await;
    res.assert_error(401, "access-denied");
    assert!(res.message().contains("missing"));
    s.action("ping")
        .secret("wrong")
        .send()
        .await
        .assert_error(401, "access-denied");
    // Even unknown routes and garbage bodies are 401 first.
    s.action("nope")
        .secret("wrong")
        .send()
        .await
        .assert_error(401, "access-denied");
    s.post("/actions/ping")
        .secret("")
        .body("not json")
        .send()
        .await
        .assert_error(401, "access-denied");
}

#[tokio::test]
async fn every_listed_secret_is_accepted_for_rotation() {
    let config = TestService::config();
    let config = Config {
        webhook_secrets: rasura::security::WebhookSecrets::from_list(&format!(
            "previous,{TEST_WEBHOOK_SECRET}"
        )),
        ..config
    };
    let s = TestService::new(
        Service::with_handlers([handler!(example_default::ping)]).with_config(config),
    );
    s.action("ping").send().await.assert_status(200);
    s.action("ping")
        .secret("previous")
        .send()
        .await
        .assert_status(200);
    s.action("ping")
        .secret("previou")
        .send()
        .await
        .assert_error(401, "access-denied");
}

#[tokio::test]
async fn roles_default_to_admin_only_and_admin_is_always_allowed() {
    let s = service();
    // `boom` has no roles: admin only.
    s.action("boom")
        .role("user")
        .send()
        .await
        .assert_error(403, "access-denied");
    // `whoami` allows user and editor; admin always.
    s.action("whoami")
        .role("editor")
        .send()
        .await
        .assert_status(200);
    s.action("whoami").send().await.assert_status(200);
    let res = s.action("whoami").role("guest").send().await;
    res.assert_error(403, "access-denied");
    assert!(res.message().contains("guest"));
}

#[tokio::test]
async fn identity_has_every_session_variable_case_insensitively() {
    let res = service()
        .action("whoami")
        .role("editor")
        .user_id("7")
        .session_variable("x-hasura-org-id", "3")
        .header("x-request-id", "req-abc")
        .send()
        .await;
    res.assert_status(200);
    assert_eq!(
        res.json::<Value>(),
        json!({"role": "editor", "user_id": "7", "org": "3", "request_id": "req-abc"})
    );
    assert_eq!(res.header("x-request-id"), Some("req-abc"));
}

#[tokio::test]
async fn request_ids_are_generated_when_absent() {
    let res = service().action("ping").send().await;
    let id = res.header("x-request-id").expect("a request id");
    assert_eq!(id.len(), 32);
}

#[tokio::test]
async fn bodies_that_are_not_the_envelope_are_parse_failed() {
    let s = service();
    let res = s.post("/actions/ping").body("not json").send().await;
    res.assert_error(400, "parse-failed");
    s.post("/actions/ping")
        .body(r#"{"input": {}}"#)
        .send()
        .await
        .assert_error(400, "parse-failed");
    // Session values must be strings.
    s.post("/actions/ping")
        .body(r#"{"action":{"name":"ping"},"input":{},"session_variables":{"x-hasura-role":1}}"#)
        .send()
        .await
        .assert_error(400, "parse-failed");
}

#[tokio::test]
async fn input_that_does_not_match_its_type_is_validation_failed() {
    let s = service();
    let res = s
        .action("pong")
        .role("user")
        .user_id("1")
        .bearer_for("user", Some("1"))
        .input(json!({"message": "hi", "number": "five"}))
        .send()
        .await;
    res.assert_error(400, "validation-failed");
    assert!(res.message().contains("pong"));
    // An action without input still wants an object.
    s.action("ping")
        .input(json!([1]))
        .send()
        .await
        .assert_error(400, "validation-failed");
}

#[tokio::test]
async fn unknown_keys_and_null_request_query_are_accepted() {
    let body = json!({
        "action": {"name": "ping"}, "input": {}, "session_variables": {"x-hasura-role": "admin"},
        "request_query": null, "new_field_from_a_newer_hasura": true
    });
    service()
        .post("/actions/ping")
        .body(body.to_string())
        .send()
        .await
        .assert_status(200);
}

#[tokio::test]
async fn handler_errors_keep_their_status_code_and_extensions() {
    let res = service()
        .action("fail")
        .role("user")
        .input(json!({"field": "email"}))
        .send()
        .await;
    res.assert_error(409, "conflict");
    assert_eq!(
        res.json::<Value>(),
        json!({"message": "already taken", "extensions": {"code": "conflict", "field": "email"}})
    );
}

#[tokio::test]
async fn a_slow_handler_times_out_with_504() {
    let res = service().action("slow").role("user").send().await;
    res.assert_error(504, "timeout");
    assert!(res.message().contains("slow"));
}

#[tokio::test]
async fn a_panicking_handler_answers_500_and_the_service_keeps_serving() {
    let s = service();
    let res = s.action("boom").send().await;
    res.assert_error(500, "unexpected");
    assert_eq!(res.message(), "internal error");
    s.action("ping").send().await.assert_status(200);
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let config = TestService::config().with_body_limit(64);
    let s = TestService::new(
        Service::with_handlers([handler!(example_default::ping)]).with_config(config),
    );
    let res = s
        .action("ping")
        .input(json!({"padding": "x".repeat(200)}))
        .send()
        .await;
    res.assert_error(413, "payload-too-large");
}

#[tokio::test]
async fn duplicate_names_are_a_clear_startup_error() {
    mod other {
        use super::*;
        /// A second `ping`.
        #[rasura::action(name = "ping")]
        pub async fn ping_again(_ctx: Ctx) -> Result<Empty, ActionError> {
            Ok(Empty {})
        }
    }
    let err =
        Service::with_handlers([handler!(example_default::ping), handler!(other::ping_again)])
            .with_config(TestService::config())
            .router()
            .unwrap_err()
            .to_string();
    assert!(
        err.contains("two action handlers are named `ping`"),
        "{err}"
    );
    assert!(err.contains("ping_again"), "{err}");
}

#[tokio::test]
async fn jwt_actions_need_a_jwt_configuration_at_startup() {
    let err = Service::with_handlers([handler!(example_default::pong)])
        .with_config(Config::new("s"))
        .router()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("HASURA_GRAPHQL_JWT_SECRET") && err.contains("`pong`"),
        "{err}"
    );
}

#[tokio::test]
async fn a_service_without_a_webhook_secret_does_not_start() {
    let err = Service::with_handlers([handler!(example_default::ping)])
        .with_config(Config::new(""))
        .router()
        .unwrap_err();
    assert!(err.to_string().contains("RASURA_WEBHOOK_SECRET"), "{err}");
}

#[test]
fn the_registry_collects_every_linked_handler() {
    // Referencing the example links it; its handlers register themselves.
    let _ = handler!(example_default::ping);
    let names: Vec<(&str, &str)> = rasura::registry::registered()
        .iter()
        .map(|h| (h.kind_name(), h.name))
        .collect();
    for expected in [
        ("action", "ping"),
        ("action", "pong"),
        ("action", "delay"),
        ("action", "upload_file"),
        ("event", "user_role_changed"),
        ("event", "user_deleted"),
        ("cron", "update_app_message"),
        ("action", "fail"),
        ("action", "whoami"),
    ] {
        assert!(
            names.contains(&expected),
            "{expected:?} missing from {names:?}"
        );
    }
}

#[test]
fn handler_descriptions_record_the_macro_options() {
    use rasura::registry::{ActionType, HandlerKind};
    let h = handler!(example_default::pong);
    let HandlerKind::Action(spec) = &h.kind else {
        panic!("pong is an action")
    };
    assert_eq!(spec.action_type, ActionType::Mutation);
    assert!(spec.jwt && !spec.asynchronous);
    assert_eq!(spec.roles, &["user", "admin"]);
    assert_eq!(
        (spec.input_type, spec.output_type),
        ("PongArgs", "PongOutput")
    );
    assert!(h.doc.unwrap().starts_with("Echoes"));
    let h = handler!(slow);
    let HandlerKind::Action(spec) = &h.kind else {
        panic!()
    };
    assert_eq!(spec.timeout_secs, Some(1));
    assert_eq!(h.route(), "/actions/slow");
}

#[tokio::test]
async fn a_flood_of_session_variables_is_a_clear_400() {
    // 150,000 keys in a 3.9 MB body: refused at the bound, not parsed quadratically.
    let hasura = TestService::new(Service::with_handlers([handler!(example_default::ping)]));
    let mut session = serde_json::Map::new();
    session.insert("x-hasura-role".into(), json!("admin"));
    for i in 0..150_000 {
        session.insert(format!("x-hasura-{i}"), json!("v"));
    }
    let body = json!({"action": {"name": "ping"}, "input": {}, "session_variables": session, "request_query": null});
    let res = hasura
        .post("/actions/ping")
        .body(body.to_string())
        .send()
        .await;
    res.assert_error(400, "parse-failed");
    assert!(
        res.message().contains("too many session variables"),
        "{}",
        res.message()
    );
    // At the bound it is served.
    let mut session = serde_json::Map::new();
    session.insert("x-hasura-role".into(), json!("admin"));
    for i in 1..rasura::protocol::MAX_SESSION_VARIABLES {
        session.insert(format!("x-hasura-{i}"), json!("v"));
    }
    let body = json!({"action": {"name": "ping"}, "input": {}, "session_variables": session, "request_query": null});
    hasura
        .post("/actions/ping")
        .body(body.to_string())
        .send()
        .await
        .assert_status(200);
}
