//! The example binary over real TCP: every status Rasura emits (with its Hasura-format body),
//! the public contract (routes, header, variables), and graceful shutdown on SIGTERM.

use std::time::Duration;

use rasura::testing::{JwtClaims, RunningService};
use serde_json::{Value, json};

const SECRET: &str = "tcp-test-webhook-secret-0123456789";
const JWT_KEY: &str = "tcp-test-jwt-key-0123456789abcdef0123";

fn start(extra: &[(&str, &str)]) -> RunningService {
    let jwt = json!({"type": "HS256", "key": JWT_KEY}).to_string();
    let mut env = vec![
        ("RASURA_WEBHOOK_SECRET", SECRET),
        ("HASURA_GRAPHQL_JWT_SECRET", jwt.as_str()),
        ("RASURA_LOG", "info"),
    ];
    env.extend_from_slice(extra);
    RunningService::start(env!("CARGO_BIN_EXE_example-default"), &env)
}

struct Reply {
    status: u16,
    retry_after: Option<String>,
    request_id: Option<String>,
    body: Value,
}

async fn post(
    base: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<reqwest::Body>,
) -> Reply {
    let mut req = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.body(body).send().await.expect("the service answers");
    let status = res.status().as_u16();
    let header = |n: &str| {
        res.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (retry_after, request_id) = (header("retry-after"), header("x-request-id"));
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    Reply {
        status,
        retry_after,
        request_id,
        body,
    }
}

fn action(name: &str, input: Value, role: &str, user_id: Option<&str>) -> String {
    let mut session = json!({"x-hasura-role": role});
    if let Some(id) = user_id {
        session["x-hasura-user-id"] = json!(id);
    }
    json!({"action": {"name": name}, "input": input, "session_variables": session, "request_query": null}).to_string()
}

#[track_caller]
fn assert_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert!(reply.body["message"].is_string(), "{}", reply.body);
    assert_eq!(reply.body["extensions"]["code"], code, "{}", reply.body);
}

fn token(role: &str, user: &str) -> String {
    let t = JwtClaims::new()
        .allowed_roles([role])
        .default_role(role)
        .user_id(user)
        .sign_hs256(JWT_KEY)
        .unwrap();
    format!("Bearer {t}")
}

#[tokio::test]
async fn actions_answer_as_hasura_expects() {
    let svc = start(&[
        ("RASURA_BODY_LIMIT", "2048"),
        ("RASURA_HANDLER_TIMEOUT", "1"),
    ]);
    let base = svc.base_url();
    let secret = ("x-rasura-webhook-secret", SECRET);

    let r = post(
        &base,
        "/actions/ping",
        &[secret],
        action("ping", json!({}), "user", Some("42")),
    )
    .await;
    assert_eq!(
        (r.status, &r.body),
        (
            200,
            &json!({"message": "pong", "role": "user", "user_id": "42"})
        )
    );
    assert!(r.request_id.is_some());
    let r = post(
        &base,
        "/actions",
        &[secret],
        action("ping", json!({}), "admin", None),
    )
    .await;
    assert_eq!(
        (r.status, &r.body),
        (
            200,
            &json!({"message": "pong", "role": "admin", "user_id": null})
        )
    );

    let bearer = token("user", "42");
    let pong_headers = [secret, ("authorization", bearer.as_str())];
    let r = post(
        &base,
        "/actions/pong",
        &pong_headers,
        action(
            "pong",
            json!({"message": "hi", "number": 5}),
            "user",
            Some("42"),
        ),
    )
    .await;
    assert_eq!(
        (r.status, &r.body),
        (200, &json!({"message": "hi", "number": 5}))
    );

    // 400 parse-failed / validation-failed, name mismatch.
    assert_error(
        &post(&base, "/actions/ping", &[secret], "{").await,
        400,
        "parse-failed",
    );
    let r = post(
        &base,
        "/actions/pong",
        &pong_headers,
        action("pong", json!({"message": "hi"}), "user", Some("42")),
    )
    .await;
    assert_error(&r, 400, "validation-failed");
    assert_error(
        &post(
            &base,
            "/actions/ping",
            &[secret],
            action("pong", json!({}), "user", None),
        )
        .await,
        400,
        "validation-failed",
    );
    // 401 webhook secret.
    assert_error(
        &post(
            &base,
            "/actions/ping",
            &[],
            action("ping", json!({}), "user", None),
        )
        .await,
        401,
        "access-denied",
    );
    assert_error(
        &post(
            &base,
            "/actions/ping",
            &[("x-rasura-webhook-secret", "nope")],
            action("ping", json!({}), "user", None),
        )
        .await,
        401,
        "access-denied",
    );
    // 401 JWT failures.
    let body = || {
        action(
            "pong",
            json!({"message": "hi", "number": 5}),
            "user",
            Some("42"),
        )
    };
    assert_error(
        &post(&base, "/actions/pong", &[secret], body()).await,
        401,
        "invalid-headers",
    );
    assert_error(
        &post(
            &base,
            "/actions/pong",
            &[secret, ("authorization", "Bearer x.y.z")],
            body(),
        )
        .await,
        401,
        "invalid-jwt",
    );
    let no_roles = JwtClaims::new()
        .default_role("user")
        .user_id("42")
        .sign_hs256(JWT_KEY)
        .unwrap();
    let r = post(
        &base,
        "/actions/pong",
        &[secret, ("authorization", &format!("Bearer {no_roles}"))],
        body(),
    )
    .await;
    assert_error(&r, 401, "jwt-missing-role-claims");
    let bad = JwtClaims::new()
        .hasura_claim("x-hasura-allowed-roles", "user")
        .default_role("user")
        .user_id("42")
        .sign_hs256(JWT_KEY)
        .unwrap();
    let r = post(
        &base,
        "/actions/pong",
        &[secret, ("authorization", &format!("Bearer {bad}"))],
        body(),
    )
    .await;
    assert_error(&r, 401, "jwt-invalid-claims");
    // 403: role not allowed; claims disagree with the session.
    assert_error(
        &post(
            &base,
            "/actions/delay",
            &[secret],
            action("delay", json!({"milliseconds": 0}), "user", None),
        )
        .await,
        403,
        "access-denied",
    );
    let r = post(
        &base,
        "/actions/pong",
        &pong_headers,
        action(
            "pong",
            json!({"message": "hi", "number": 5}),
            "user",
            Some("43"),
        ),
    )
    .await;
    assert_error(&r, 403, "access-denied");
    // 405 for anything but POST.
    let res = reqwest::Client::new()
        .get(format!("{base}/actions/ping"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 405);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["extensions"]["code"], "method-not-allowed");
    // 404 on POST /actions.
    assert_error(
        &post(
            &base,
            "/actions",
            &[secret],
            action("nope", json!({}), "admin", None),
        )
        .await,
        404,
        "not-exists",
    );
    // 413.
    let big = action("ping", json!({"pad": "x".repeat(4096)}), "admin", None);
    let r = post(&base, "/actions/ping", &[secret], big).await;
    assert_error(&r, 413, "payload-too-large");
    // The handler's own error and a timeout (504; Hasura hides 5xx bodies from clients).
    assert_error(
        &post(
            &base,
            "/actions/delay",
            &[secret],
            action("delay", json!({"milliseconds": -1}), "admin", None),
        )
        .await,
        400,
        "invalid-delay",
    );
    assert_error(
        &post(
            &base,
            "/actions/delay",
            &[secret],
            action("delay", json!({"milliseconds": 3000}), "admin", None),
        )
        .await,
        504,
        "timeout",
    );
}

fn event_body(trigger: &str, op: &str, old: Value, new: Value) -> String {
    json!({
        "id": "85558393-c75d-4d2f-9c15-e80591b83894",
        "table": {"schema": "public", "name": "user"},
        "trigger": {"name": trigger},
        "event": {"op": op, "data": {"old": old, "new": new}, "session_variables": {"x-hasura-role": "admin"}, "trace_context": null},
        "delivery_info": {"current_retry": 0, "max_retries": 3},
        "created_at": "2024-05-01T07:14:21.601701"
    })
    .to_string()
}

#[tokio::test]
async fn events_and_crons_answer_as_hasura_expects() {
    // `user_role_changed` records changes in Postgres: a database with the example's migrations.
    let db = rasura::testing::TestDatabase::with_migrations(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/hasura/migrations/default"
    ))
    .await;
    let svc = start(&[("RASURA_BODY_LIMIT", "2048"), ("DATABASE_URL", db.url())]);
    let base = svc.base_url();
    let secret = ("x-rasura-webhook-secret", SECRET);
    // A `public.user` row as Postgres's `row_to_json` writes it in event payloads.
    let user = |role: &str| {
        json!({"user_id": "u1", "role": role, "user_phone": "+331234", "token": 7,
            "created_at": "2024-05-01T22:00:00.123456+00:00", "updated_at": null})
    };

    let r = post(
        &base,
        "/events/user_role_changed",
        &[secret],
        event_body("user_role_changed", "UPDATE", user("user"), user("admin")),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = post(
        &base,
        "/events/user_deleted",
        &[secret],
        event_body("user_deleted", "DELETE", user("user"), Value::Null),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Permanent failures: 4xx without Retry-After.
    let r = post(&base, "/events/user_deleted", &[secret], "[]").await;
    assert_error(&r, 400, "parse-failed");
    assert_eq!(r.retry_after, None);
    let r = post(
        &base,
        "/events/user_deleted",
        &[secret],
        event_body("user_deleted", "DELETE", json!({"user_id": 5}), Value::Null),
    )
    .await;
    assert_error(&r, 400, "validation-failed");
    assert_eq!(r.retry_after, None);
    let r = post(
        &base,
        "/events/user_deleted",
        &[],
        event_body("user_deleted", "DELETE", user("user"), Value::Null),
    )
    .await;
    assert_error(&r, 401, "access-denied");
    assert_eq!(r.retry_after, None);
    let r = post(&base, "/events/user_deleted", &[secret], "x".repeat(4096)).await;
    assert_error(&r, 413, "payload-too-large");
    assert_error(
        &post(&base, "/events/nope", &[secret], "{}").await,
        404,
        "not-exists",
    );

    let tick = json!({"id": "b918cd10-8853-4e66-91b8-81b5cd16e44b", "name": "update_app_message",
        "scheduled_time": "2024-05-01T22:00:00Z", "payload": {"trigger": "cron"}});
    let r = post(
        &base,
        "/crons/update_app_message",
        &[secret],
        tick.to_string(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut wrong = tick.clone();
    wrong["payload"] = json!({"unexpected": true});
    let r = post(
        &base,
        "/crons/update_app_message",
        &[secret],
        wrong.to_string(),
    )
    .await;
    assert_error(&r, 400, "validation-failed");
    assert_eq!(r.retry_after, None);
    assert_error(
        &post(&base, "/crons/update_app_message", &[secret], "nope").await,
        400,
        "parse-failed",
    );
}

#[tokio::test]
async fn sigterm_lets_the_in_flight_request_finish_and_exits_zero() {
    let mut svc = start(&[]);
    let base = svc.base_url();
    let slow = tokio::spawn(async move {
        post(
            &base,
            "/actions/delay",
            &[("x-rasura-webhook-secret", SECRET)],
            action("delay", json!({"milliseconds": 1500}), "admin", None),
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    let status = tokio::task::spawn_blocking(move || {
        let status = svc.terminate(Duration::from_secs(10));
        (status, svc)
    });
    let reply = slow.await.unwrap();
    assert_eq!(
        (reply.status, &reply.body),
        (200, &json!({"slept_ms": 1500}))
    );
    let (status, svc) = status.await.unwrap();
    let status = status.expect("the process exits after SIGTERM");
    assert!(
        status.success(),
        "exit status {status:?}; output:\n{}",
        svc.output()
    );
    // It stopped accepting: a new connection is refused.
    assert!(std::net::TcpStream::connect(svc.address()).is_err());
}

#[test]
fn a_missing_setting_is_one_clear_message_without_a_panic() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_example-default"))
        .env_remove("RASURA_WEBHOOK_SECRET")
        .env("RASURA_LISTEN", "not-an-address")
        .env(
            "HASURA_GRAPHQL_JWT_SECRET",
            "{\"type\": \"ES512\", \"key\": \"x\"}",
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("RASURA_LISTEN") && stderr.contains("ES512"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn routes_lists_every_handler() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_example-default"))
        .arg("routes")
        .output()
        .unwrap();
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    for line in [
        "/actions/ping",
        "/actions/pong",
        "/actions/delay",
        "/actions/upload_file",
        "/actions/signup",
        "/actions/login",
        "/actions/refresh",
        "/actions/logout",
        "/actions/exchange_token",
        "/actions/update_video",
        "/actions/delete_video",
        "/actions/update_school",
        "rate 20/1s burst 40",
        "rate 5/60s burst 5",
        "concurrency 2",
        "/events/user_role_changed",
        "/events/user_deleted",
        "/events/welcome_user",
        "once; dead letters; backoff 10s..600s",
        "/crons/update_app_message",
        "/actions/remind_me",
        "/scheduled/send_reminder",
        "webhook secret, JWT",
    ] {
        assert!(table.contains(line), "{line} missing from:\n{table}");
    }
    // The example uses codegen: every action is schema-first, checked against actions.graphql.
    let actions: Vec<&str> = table.lines().filter(|l| l.starts_with("action")).collect();
    assert_eq!(actions.len(), 13, "{table}");
    assert!(
        actions
            .iter()
            .all(|l| l.contains("; schema-first (actions.graphql)")),
        "{table}"
    );
}

#[test]
fn development_defaults_print_ready_to_paste_secrets_to_stderr() {
    let mut svc = RunningService::start(env!("CARGO_BIN_EXE_example-default"), &[]);
    // stderr is read on its own thread: give it a moment.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !svc.output().contains("RASURA_DEV_JWT") && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = svc.output();
    assert!(output.contains("RASURA_WEBHOOK_SECRET="), "{output}");
    assert!(output.contains("HASURA_GRAPHQL_JWT_SECRET='{"), "{output}");
    assert!(output.contains("RASURA_DEV_JWT=ey"), "{output}");
    assert!(
        svc.terminate(Duration::from_secs(10))
            .is_some_and(|s| s.success())
    );
}

#[tokio::test]
async fn development_defaults_verify_jwts_by_the_services_own_key_set() {
    // A known port: the generated JWT configuration names the service's own JWKS URL.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let svc = RunningService::start(
        env!("CARGO_BIN_EXE_example-default"),
        &[("RASURA_LISTEN", listen.as_str())],
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !svc.output().contains("RASURA_DEV_JWT") && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let output = svc.output();
    let value = |name: &str| {
        output
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} in {output}"))
            .trim_matches('\'')
            .to_owned()
    };
    let jwt_config: Value = serde_json::from_str(&value("HASURA_GRAPHQL_JWT_SECRET")).unwrap();
    assert_eq!(
        jwt_config,
        json!({"jwk_url": format!("http://{listen}/.well-known/jwks.json")})
    );
    assert!(value("RASURA_TOKEN_KEYS").contains("\"crv\":\"Ed25519\""));
    let response = reqwest::Client::new()
        .post(format!("{}/actions/pong", svc.base_url()))
        .header("x-rasura-webhook-secret", value("RASURA_WEBHOOK_SECRET"))
        .bearer_auth(value("RASURA_DEV_JWT"))
        .json(
            &json!({"action": {"name": "pong"}, "input": {"message": "m", "number": 2},
                      "session_variables": {"x-hasura-role": "user", "x-hasura-user-id": "1"},
                      "request_query": ""}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn upload_file_answers_a_signed_url_the_service_serves() {
    let dir = std::env::temp_dir().join(format!("rasura-upload-{}", std::process::id()));
    let storage = format!("file://{}", dir.display());
    let svc = start(&[("RASURA_STORAGE_URL", storage.as_str())]);
    let base = svc.base_url();
    let secret = ("x-rasura-webhook-secret", SECRET);
    let content = b"\x89PNG not really an image".to_vec();
    let body = json!({
        "action": {"name": "upload_file"},
        "input": {"file_name": "../avatar me.png", "file_type": "image/png",
                  "file_data": base64_encode(&content)},
        "session_variables": {"x-hasura-role": "user", "x-hasura-user-id": "u7"},
        "request_query": null
    })
    .to_string();
    let r = post(&base, "/actions/upload_file", &[secret], body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The name is made a safe key segment: no `..`, no spaces.
    assert_eq!(r.body["file_name"], "_avatar_me.png");
    assert_eq!(r.body["file_type"], "image/png");
    assert_eq!(r.body["size"], content.len());
    let url = r.body["file_url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{base}/files/uploads/u7/")),
        "{url}"
    );
    // The file is on disk under the storage directory.
    let file_id = r.body["file_id"].as_str().unwrap();
    let on_disk = dir.join("uploads/u7").join(file_id).join("_avatar_me.png");
    assert_eq!(std::fs::read(&on_disk).unwrap(), content);

    // Anyone with the URL can download it, over real HTTP, until it expires.
    let download = reqwest::get(url).await.unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers()["content-type"], "image/png");
    assert_eq!(download.headers()["x-content-type-options"], "nosniff");
    assert_eq!(download.bytes().await.unwrap().to_vec(), content);
    // Without the signature it is refused, in Hasura's error format.
    let unsigned = reqwest::get(url.split('?').next().unwrap()).await.unwrap();
    assert_eq!(unsigned.status(), 403);
    let error: Value = unsigned.json().await.unwrap();
    assert_eq!(error["extensions"]["code"], "access-denied");
    let _ = std::fs::remove_dir_all(&dir);
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
