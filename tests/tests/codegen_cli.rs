//! The `rasura` command (`rasura-cli`): `schema pull` against a real HTTP
//! GraphQL server on loopback that answers like Hasura (always HTTP 200, `errors` on failure)
//! and records the headers it receives; `--check` for CI; `codegen --check`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/hasura-schemas")
        .join(path)
}

type Seen = Arc<Mutex<Vec<HeaderMap>>>;

/// A Hasura-like `/v1/graphql`: admins (and role `user`) may introspect; role `anonymous` gets
/// Hasura's "field not found" error, with HTTP 200.
fn start_server() -> (SocketAddr, Seen) {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("current-bench/graphql_schema.json")).unwrap(),
    )
    .unwrap();
    let seen: Seen = Arc::default();
    let state = (Arc::new(schema), seen.clone());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let app = Router::new()
                .route(
                    "/v1/graphql",
                    post(
                        |State((schema, seen)): State<(Arc<Value>, Seen)>,
                         headers: HeaderMap,
                         Json(body): Json<Value>| async move {
                            seen.lock().unwrap().push(headers.clone());
                            assert!(body["query"].as_str().unwrap().contains("__schema"));
                            let admin = headers.get("x-hasura-admin-secret").is_some_and(|v| v == "s3cret");
                            let role = headers.get("x-hasura-role").and_then(|v| v.to_str().ok());
                            if !admin || role == Some("anonymous") {
                                return Json(json!({"errors": [{
                                    "message": "field '__schema' not found in type: 'query_root'",
                                    "extensions": {"path": "$.selectionSet.__schema", "code": "validation-failed"}
                                }]}));
                            }
                            Json(json!({"data": *schema}))
                        },
                    ),
                )
                .with_state(state);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (rx.recv().unwrap(), seen)
}

fn run(args: &[&str]) -> String {
    let mut argv = vec!["rasura"];
    argv.extend_from_slice(args);
    format!("{:?}", rasura_cli::run(argv))
}

fn success() -> String {
    format!("{:?}", std::process::ExitCode::SUCCESS)
}

fn exit(code: u8) -> String {
    format!("{:?}", std::process::ExitCode::from(code))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rasura-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn schema_pull_writes_json_or_sdl_and_check_detects_drift() {
    let (addr, seen) = start_server();
    let endpoint = format!("http://{addr}");
    let dir = temp_dir("pull");
    let json_out = dir.join("schema.json");
    let sdl_out = dir.join("schema.graphql");
    let json_path = json_out.to_str().unwrap();
    let sdl_path = sdl_out.to_str().unwrap();

    assert_eq!(
        run(&[
            "schema",
            "pull",
            "--endpoint",
            &endpoint,
            "--admin-secret",
            "s3cret",
            "--out",
            json_path
        ]),
        success()
    );
    assert_eq!(
        run(&[
            "schema",
            "pull",
            "--endpoint",
            &endpoint,
            "--admin-secret",
            "s3cret",
            "--role",
            "user",
            "--out",
            sdl_path
        ]),
        success()
    );
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0]["x-hasura-admin-secret"], "s3cret");
        assert!(seen[0].get("x-hasura-role").is_none());
        assert_eq!(seen[1]["x-hasura-role"], "user");
    }

    // Both snapshots are the fixture's schema.
    let original = rasura_codegen::schema::Schema::parse(
        &std::fs::read_to_string(fixture("current-bench/graphql_schema.json")).unwrap(),
        "fixture",
    )
    .unwrap();
    for file in [&json_out, &sdl_out] {
        let pulled = rasura_codegen::schema::Schema::parse(
            &std::fs::read_to_string(file).unwrap(),
            "pulled",
        )
        .unwrap();
        for (name, def) in &pulled.types {
            assert_eq!(
                original.types.get(name),
                Some(def),
                "{name} in {}",
                file.display()
            );
        }
        assert_eq!(pulled.query, original.query);
    }

    // --check: up to date, then drift.
    assert_eq!(
        run(&[
            "schema",
            "pull",
            "--endpoint",
            &endpoint,
            "--admin-secret",
            "s3cret",
            "--out",
            json_path,
            "--check"
        ]),
        success()
    );
    std::fs::write(&json_out, "{}").unwrap();
    assert_eq!(
        run(&[
            "schema",
            "pull",
            "--endpoint",
            &endpoint,
            "--admin-secret",
            "s3cret",
            "--out",
            json_path,
            "--check"
        ]),
        exit(1)
    );
    assert_eq!(
        std::fs::read_to_string(&json_out).unwrap(),
        "{}",
        "--check never writes"
    );

    // GraphQL errors (HTTP 200) are errors; nothing is written.
    let denied = dir.join("denied.json");
    assert_eq!(
        run(&[
            "schema",
            "pull",
            "--endpoint",
            &endpoint,
            "--admin-secret",
            "s3cret",
            "--role",
            "anonymous",
            "--out",
            denied.to_str().unwrap()
        ]),
        exit(2)
    );
    assert_eq!(
        run(&[
            "schema",
            "pull",
            "--endpoint",
            &endpoint,
            "--admin-secret",
            "wrong",
            "--out",
            denied.to_str().unwrap()
        ]),
        exit(2)
    );
    assert!(!denied.exists());
    // Nothing listening.
    assert_eq!(
        run(&[
            "schema",
            "pull",
            "--endpoint",
            "http://127.0.0.1:9",
            "--out",
            denied.to_str().unwrap(),
            "--timeout",
            "5"
        ]),
        exit(2)
    );
}

#[test]
fn codegen_writes_and_checks_a_file() {
    let dir = temp_dir("codegen");
    let out = dir.join("generated.rs");
    let out_path = out.to_str().unwrap();
    let schema = fixture("pysura/schema.graphql");
    let ops = fixture("pysura/actions.graphql");
    let args = |check: bool| {
        let mut v = vec![
            "codegen".to_owned(),
            "--schema".to_owned(),
            schema.display().to_string(),
            "--operations".to_owned(),
            ops.display().to_string(),
            "--event-table".to_owned(),
            "public.user".to_owned(),
            "--scalar".to_owned(),
            "timestamptz=String".to_owned(),
            "--out".to_owned(),
            out_path.to_owned(),
        ];
        if check {
            v.push("--check".to_owned());
        }
        v
    };
    let call = |check: bool| {
        let a = args(check);
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        run(&refs)
    };
    assert_eq!(call(true), exit(1), "missing file is out of date");
    assert_eq!(call(false), success());
    let code = std::fs::read_to_string(&out).unwrap();
    assert!(code.contains("pub struct ActionPing;"));
    assert!(code.contains("pub struct UserRow"));
    assert!(
        code.contains("pub created_at: ::core::option::Option<String>,"),
        "{code}"
    );
    assert_eq!(call(true), success());
    assert_eq!(
        run(&[
            "codegen",
            "--schema",
            "/nonexistent.graphql",
            "--out",
            out_path
        ]),
        exit(2)
    );
    assert_eq!(run(&["codegen", "--bogus"]), exit(2));
}

/// A server answering every request with `status` and `body` (Hasura's 401 when the admin
/// secret is wrong, or an HTML page from something that is not Hasura).
fn answering(status: u16, body: &'static str) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let app = Router::new().fallback(move || async move {
                (axum::http::StatusCode::from_u16(status).unwrap(), body)
            });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

#[test]
fn schema_pull_errors_say_why() {
    // Nothing listens: connection refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let err = rasura_cli::pull_to_string(&format!("http://{closed}"), None, 5)
        .unwrap_err()
        .to_string();
    assert!(err.contains("connection refused"), "{err}");

    // Hasura's 401, with its message and a hint; the secret itself is not shown.
    let denied = answering(
        401,
        r#"{"error":"invalid x-hasura-admin-secret/x-hasura-access-key","path":"$","code":"access-denied"}"#,
    );
    let err = rasura_cli::pull_to_string(&format!("http://{denied}"), Some("wrong-secret"), 5)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("HTTP 401") && err.contains("invalid x-hasura-admin-secret"),
        "{err}"
    );
    assert!(
        err.contains("check --admin-secret") && !err.contains("wrong-secret"),
        "{err}"
    );

    // The same, as Hasura answers it on /v1/graphql: HTTP 200 with an `access-denied` error.
    let denied = answering(
        200,
        r#"{"errors":[{"extensions":{"path":"$","code":"access-denied"},"message":"invalid x-hasura-admin-secret/x-hasura-access-key"}]}"#,
    );
    let err = rasura_cli::pull_to_string(&format!("http://{denied}"), None, 5)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("invalid x-hasura-admin-secret") && err.contains("pass --admin-secret"),
        "{err}"
    );

    // TLS to a plain-HTTP server.
    let plain = answering(200, "{}");
    let err = rasura_cli::pull_to_string(&format!("https://{plain}"), None, 5)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("TLS failed") && err.contains("http://"),
        "{err}"
    );

    // Something that is not Hasura.
    let html = answering(200, "<html>welcome</html>");
    let err = rasura_cli::pull_to_string(&format!("http://{html}"), None, 5)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not a JSON response") && err.contains("<html>"),
        "{err}"
    );
}
