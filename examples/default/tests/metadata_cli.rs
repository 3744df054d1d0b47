//! The example binary's `metadata` commands: its `hasura/metadata` directory is exactly what
//! `metadata export --dir` writes (so a Hasura CLI user can apply it as is), and `diff --check`,
//! `export --json` and `apply` against a metadata API on loopback.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

mod common;
use common::synced;

const BIN: &str = env!("CARGO_BIN_EXE_example-default");

fn command() -> Command {
    let mut c = Command::new(BIN);
    for (name, _) in std::env::vars() {
        if name.starts_with("RASURA_") || name.starts_with("HASURA_") {
            c.env_remove(name);
        }
    }
    c
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn read_all(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                out.push((
                    entry.path().strip_prefix(root).unwrap().to_owned(),
                    std::fs::read(entry.path()).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_example_hasura_directory_is_what_export_writes() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("hasura/metadata");
    let dir = std::env::temp_dir().join(format!("rasura-example-metadata-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&source, &dir);
    let out = command()
        .args(["metadata", "export", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        read_all(&dir),
        read_all(&source),
        "examples/default/hasura/metadata is not what `metadata export` writes: run \
         `cargo run -p example-default -- metadata export --dir examples/default/hasura/metadata`\n{stdout}"
    );
    assert!(stdout.contains("is up to date"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[derive(Default)]
struct Fake {
    metadata: Value,
    bulks: Vec<Value>,
}

async fn metadata_api(
    State(state): State<Arc<Mutex<Fake>>>,
    Json(body): Json<Value>,
) -> Json<Value> {
    let mut fake = state.lock().unwrap();
    if body["type"] == "export_metadata" {
        return Json(json!({"resource_version": 3, "metadata": fake.metadata}));
    }
    fake.bulks.push(body.clone());
    Json(json!([]))
}

async fn start(metadata: Value) -> (Arc<Mutex<Fake>>, String) {
    let state = Arc::new(Mutex::new(Fake {
        metadata,
        bulks: Vec::new(),
    }));
    let app = axum::Router::new()
        .route("/v1/metadata", axum::routing::post(metadata_api))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (state, format!("http://{addr}"))
}

async fn run(args: &[&str], endpoint: &str) -> (i32, String) {
    let mut c = command();
    c.args(args)
        .env("HASURA_GRAPHQL_ENDPOINT", endpoint)
        .env("HASURA_GRAPHQL_ADMIN_SECRET", "s");
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test]
async fn diff_check_export_json_and_apply() {
    let out = command().args(["metadata", "export"]).output().unwrap();
    assert!(out.status.success());
    let declared: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(declared["actions"].as_array().unwrap().len(), 13);

    // An empty Hasura differs: `diff --check` fails and says what it would add.
    let (state, endpoint) = start(json!({"version": 3, "sources": [{"name": "default", "tables": [{"table": {"schema": "public", "name": "user"}}]}]})).await;
    let (code, text) = run(&["metadata", "diff", "--check"], &endpoint).await;
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("+ action pong"), "{text}");
    assert!(text.contains("+ cron trigger update_app_message"), "{text}");

    // `export --json` prints exactly the bulk `apply` sends.
    let (code, text) = run(&["metadata", "export", "--json"], &endpoint).await;
    assert_eq!(code, 0, "{text}");
    let printed: Value = serde_json::from_str(&text).unwrap();
    let (code, text) = run(&["metadata", "apply"], &endpoint).await;
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("applied"), "{text}");
    let bulks = state.lock().unwrap().bulks.clone();
    assert_eq!(bulks.len(), 1);
    assert_eq!(bulks[0], printed);
    assert_eq!(printed["type"], "bulk");
    assert_eq!(printed["resource_version"], 3);

    // A Hasura in step with the code: `diff --check` passes and `apply` sends nothing.
    let (state, endpoint) = start(synced(&declared)).await;
    let (code, text) = run(&["metadata", "diff", "--check"], &endpoint).await;
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("Hasura matches the code"), "{text}");
    let (code, _) = run(&["metadata", "apply"], &endpoint).await;
    assert_eq!(code, 0);
    assert!(state.lock().unwrap().bulks.is_empty());

    // Without an endpoint, diff is a clear error.
    let out = command().args(["metadata", "diff"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HASURA_GRAPHQL_ENDPOINT is not set"));
}
