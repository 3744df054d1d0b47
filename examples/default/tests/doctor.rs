//! `example-default doctor` against a real Postgres and a Hasura played on loopback: every check
//! ok, then each error (and warning) with its fix, and never a secret in the output. And
//! `healthcheck`, the container's HEALTHCHECK command.

use std::process::Command;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rasura::testing::TestDatabase;
use serde_json::{Value, json};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_example-default");
const WEBHOOK_SECRET: &str = "doctor-webhook-secret-0123456789abcdef";
const ADMIN_SECRET: &str = "doctor-admin-secret-xyz";
const HMAC_KEY: &str = "doctor-hmac-key-0123456789abcdef0123456789";

/// A fake Hasura: `/healthz`, and the metadata API behind the admin secret.
struct Hasura {
    metadata: Value,
    healthy: bool,
}

async fn metadata_api(
    State(hasura): State<Arc<Hasura>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if headers
        .get("x-hasura-admin-secret")
        .is_none_or(|s| s != ADMIN_SECRET)
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(
                json!({"code": "access-denied", "error": "invalid x-hasura-admin-secret/x-hasura-access-key", "path": "$"}),
            ),
        );
    }
    assert_eq!(body["type"], "export_metadata");
    (
        StatusCode::OK,
        Json(json!({"resource_version": 4, "metadata": hasura.metadata})),
    )
}

async fn healthz(State(hasura): State<Arc<Hasura>>) -> StatusCode {
    if hasura.healthy {
        StatusCode::OK
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

async fn start_hasura(metadata: Value, healthy: bool) -> String {
    let state = Arc::new(Hasura { metadata, healthy });
    let app = axum::Router::new()
        .route("/healthz", axum::routing::get(healthz))
        .route("/v1/metadata", axum::routing::post(metadata_api))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The live metadata of a Hasura that applied what the example declares.
fn synced() -> Value {
    let out = Command::new(BIN)
        .args(["metadata", "export"])
        .env_remove("RASURA_SERVICE_NAME")
        .output()
        .unwrap();
    assert!(out.status.success());
    common::synced(&serde_json::from_slice(&out.stdout).unwrap())
}

/// The environment of a deployment where every check passes, minus `remove`, plus `set`.
fn doctor(base: &[(&str, String)], set: &[(&str, &str)], remove: &[&str]) -> (i32, String) {
    let mut c = Command::new(BIN);
    for (name, _) in std::env::vars() {
        if name.starts_with("RASURA_") || name.starts_with("HASURA_") || name == "DATABASE_URL" {
            c.env_remove(name);
        }
    }
    for (name, value) in base {
        if !remove.contains(name) {
            c.env(name, value);
        }
    }
    for (name, value) in set {
        c.env(name, value);
    }
    // The binary reads `.env` from its working directory: give it an empty one.
    let dir = std::env::temp_dir().join(format!("rasura-doctor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = c.arg("doctor").current_dir(&dir).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for secret in [WEBHOOK_SECRET, ADMIN_SECRET, HMAC_KEY, "hunter2hunter2"] {
        assert!(!text.contains(secret), "a secret was printed:\n{text}");
    }
    (out.status.code().unwrap_or(-1), text)
}

fn line<'a>(text: &'a str, check: &str) -> &'a str {
    text.lines()
        .find(|l| l[8.min(l.len())..].starts_with(&format!("{check}:")))
        .unwrap_or_else(|| panic!("no `{check}` line in:\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_reports_each_check_with_its_fix() {
    let db = TestDatabase::create().await;
    let hasura = start_hasura(synced(), true).await;
    let base: Vec<(&str, String)> = vec![
        ("RASURA_WEBHOOK_SECRET", WEBHOOK_SECRET.to_owned()),
        ("DATABASE_URL", db.url().to_owned()),
        ("HASURA_GRAPHQL_ENDPOINT", hasura.clone()),
        ("HASURA_GRAPHQL_ADMIN_SECRET", ADMIN_SECRET.to_owned()),
        (
            "HASURA_GRAPHQL_JWT_SECRET",
            json!({"type": "HS256", "key": HMAC_KEY}).to_string(),
        ),
        ("RASURA_BASE_URL", "http://service:3300".to_owned()),
        ("RASURA_LOG", "off".to_owned()),
    ];

    // The example's `once` and `dead_letter` handlers need the deliveries migration: until a
    // start applies it, a warning (exit 0).
    let (code, text) = doctor(&base, &[], &[]);
    assert_eq!(code, 0, "{text}");
    assert!(line(&text, "database").starts_with("warning"), "{text}");
    assert!(
        line(&text, "database").contains("3 (rasura_deliveries)"),
        "{text}"
    );
    rasura::migrations::apply(db.pool(), rasura::migrations::MIGRATIONS)
        .await
        .unwrap();

    // Everything in order: one `ok` line per check.
    let (code, text) = doctor(&base, &[], &[]);
    assert_eq!(code, 0, "{text}");
    for check in [
        "configuration",
        "webhook secret",
        "jwt",
        "database",
        "hasura",
        "metadata",
        "base url",
    ] {
        assert!(line(&text, check).starts_with("ok "), "{check}:\n{text}");
    }
    assert!(
        text.contains("Hasura's own environment cannot be read from here"),
        "{text}"
    );
    assert!(text.contains("0 error(s), 0 warning(s)"), "{text}");

    // Each error, alone, fails the run and says how to fix it.
    let closed = format!("http://127.0.0.1:{}", closed_port());
    let unhealthy = start_hasura(synced(), false).await;
    let drifted = start_hasura(json!({"version": 3, "sources": []}), true).await;
    let short_secret = "hunter2hunter2";
    let dead_db = format!(
        "postgres://postgres:hunter2hunter2@127.0.0.1:{}/postgres",
        closed_port()
    );
    let dead_jwks = json!({"jwk_url": format!("{closed}/jwks.json")}).to_string();
    // (check, variables set, variables removed, what the line says, its fix)
    type Case<'a> = (
        &'a str,
        Vec<(&'a str, &'a str)>,
        Vec<&'a str>,
        &'a str,
        &'a str,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            "configuration",
            vec![("RASURA_WEBHOOK_SECRET", short_secret)],
            vec![],
            "shorter than 32 bytes",
            "correct RASURA_WEBHOOK_SECRET",
        ),
        (
            "database",
            vec![("DATABASE_URL", &dead_db)],
            vec![],
            "cannot connect",
            "start Postgres or correct DATABASE_URL",
        ),
        (
            "hasura",
            vec![("HASURA_GRAPHQL_ENDPOINT", &closed)],
            vec![],
            "unreachable",
            "start Hasura or correct HASURA_GRAPHQL_ENDPOINT",
        ),
        (
            "hasura",
            vec![("HASURA_GRAPHQL_ENDPOINT", &unhealthy)],
            vec![],
            "HTTP 500",
            "check Hasura's logs",
        ),
        (
            "hasura",
            vec![("HASURA_GRAPHQL_ADMIN_SECRET", "wrong-admin-secret")],
            vec![],
            "refuses the admin secret (HTTP 401)",
            "set HASURA_GRAPHQL_ADMIN_SECRET",
        ),
        (
            "hasura",
            vec![],
            vec!["HASURA_GRAPHQL_ADMIN_SECRET"],
            "without an admin secret",
            "set HASURA_GRAPHQL_ADMIN_SECRET",
        ),
        (
            "jwt",
            vec![("HASURA_GRAPHQL_JWT_SECRET", &dead_jwks)],
            vec![],
            "did not answer",
            "correct jwk_url",
        ),
        (
            "configuration",
            vec![("HASURA_GRAPHQL_JWT_SECRET", "{\"type\": \"HS256\"")],
            vec![],
            "HASURA_GRAPHQL_JWT_SECRET",
            "fix:",
        ),
        (
            "base url",
            vec![("RASURA_BASE_URL", "service:3300")],
            vec![],
            "not an http(s) URL",
            "http://service:3300",
        ),
        (
            "redis",
            vec![("RASURA_RATE_LIMIT_REDIS_URL", "redis://127.0.0.1:1")],
            vec![],
            "Redis",
            "start Redis",
        ),
    ];
    for (check, set, remove, says, fix) in &cases {
        let (code, text) = doctor(&base, set, remove);
        assert_eq!(code, 1, "{check} {set:?} {remove:?}:\n{text}");
        let found = text
            .lines()
            .find(|l| l.starts_with("error") && l[8..].starts_with(&format!("{check}:")))
            .unwrap_or_else(|| panic!("no error line for {check} {set:?}:\n{text}"));
        assert!(found.contains(says), "{found}");
        assert!(found.contains(fix), "{found}");
    }

    // Warnings do not fail the run: drift, Hasura not configured, base URL unset.
    let (code, text) = doctor(&base, &[("HASURA_GRAPHQL_ENDPOINT", &drifted)], &[]);
    assert_eq!(code, 0, "{text}");
    let drift = line(&text, "metadata");
    assert!(drift.starts_with("warning"), "{text}");
    assert!(
        drift.contains("Hasura differs from the handlers"),
        "{drift}"
    );
    assert!(drift.contains("+ custom type"), "{drift}");
    assert!(drift.contains("metadata apply"), "{drift}");
    let (code, text) = doctor(&base, &[], &["HASURA_GRAPHQL_ENDPOINT", "RASURA_BASE_URL"]);
    assert_eq!(code, 0, "{text}");
    assert!(line(&text, "hasura").starts_with("warning"), "{text}");
    assert!(line(&text, "base url").starts_with("warning"), "{text}");
    assert!(
        line(&text, "base url").contains("cannot be read from here"),
        "{text}"
    );

    // The example runs on development defaults: an unset webhook secret is generated at each
    // start, which Hasura cannot know: a warning, not an error.
    let (code, text) = doctor(&base, &[], &["RASURA_WEBHOOK_SECRET"]);
    assert_eq!(code, 0, "{text}");
    let secret = text
        .lines()
        .find(|l| l.starts_with("warning webhook secret:"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(secret.contains("openssl rand -hex 32"), "{secret}");
    let _ = std::fs::remove_dir_all(
        std::env::temp_dir().join(format!("rasura-doctor-{}", std::process::id())),
    );
}

fn healthcheck(args: &[&str], listen: Option<&str>) -> (i32, String) {
    let mut c = Command::new(BIN);
    c.env_remove("RASURA_LISTEN");
    if let Some(listen) = listen {
        c.env("RASURA_LISTEN", listen);
    }
    let out = c.arg("healthcheck").args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_exits_0_only_for_a_200() {
    let app = axum::Router::new()
        .route("/healthz", axum::routing::get(|| async { "alive" }))
        .route(
            "/sick",
            axum::routing::get(|| async { StatusCode::SERVICE_UNAVAILABLE }),
        );
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    // The listen address (a wildcard one is asked on loopback), or an explicit URL.
    let (code, text) = healthcheck(&[], Some(&format!("0.0.0.0:{port}")));
    assert_eq!(code, 0, "{text}");
    let (code, text) = healthcheck(
        &["--url", &format!("http://127.0.0.1:{port}/healthz")],
        None,
    );
    assert_eq!(code, 0, "{text}");
    let (code, text) = healthcheck(&["--url", &format!("http://127.0.0.1:{port}/sick")], None);
    assert_eq!(code, 1);
    assert!(text.contains("HTTP 503"), "{text}");
    let (code, text) = healthcheck(&[], Some(&format!("127.0.0.1:{}", closed_port())));
    assert_eq!(code, 1);
    assert!(text.contains("unhealthy"), "{text}");
    let (code, text) = healthcheck(&[], Some("not an address"));
    assert_eq!(code, 1);
    assert!(text.contains("RASURA_LISTEN"), "{text}");

    // A service that accepts but never answers: bounded by --timeout.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let started = std::time::Instant::now();
    let (code, _) = healthcheck(
        &[
            "--timeout",
            "1",
            "--url",
            &format!("http://{silent_addr}/healthz"),
        ],
        None,
    );
    assert_eq!(code, 1);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    drop(silent);
}
