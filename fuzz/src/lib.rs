//! What the fuzz targets share: a service with one handler of each kind, driven through the real
//! router (`oneshot`, no network), the invariants every answer must keep, and the metadata
//! directory harness. Each `fuzz_targets/*.rs` is a thin `fuzz_target!` over one function here,
//! so a crash found by a target is replayed by calling that function (the regression tests in
//! `tests/tests/fuzz_regressions.rs` do).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use http_body_util::BodyExt;
use rasura::prelude::*;
use serde::{Deserialize, Serialize};

/// The webhook secret of the fuzzed service.
pub const SECRET: &str = "fuzz-webhook-secret-0123456789abcdef0123";
/// The HS256 key of its JWT configuration.
pub const JWT_KEY: &str = "fuzz-jwt-key-0123456789abcdef0123456789";

/// A code-first action's input.
#[derive(Debug, Deserialize, CustomType)]
pub struct FuzzInput {
    /// Some text.
    pub text: String,
    /// A number.
    pub number: Option<i32>,
    /// A list.
    pub tags: Vec<String>,
}

/// Its output.
#[derive(Debug, Serialize, CustomType)]
pub struct FuzzOutput {
    /// The text's length.
    pub length: i32,
}

/// An action.
#[action(mutation, roles = ["user"])]
pub async fn fuzz_echo(_ctx: Ctx, input: FuzzInput) -> Result<FuzzOutput, ActionError> {
    Ok(FuzzOutput {
        length: i32::try_from(input.text.len()).unwrap_or(i32::MAX),
    })
}

/// A row of `public.item`.
#[derive(Debug, Deserialize)]
pub struct Item {
    /// Its id.
    pub id: i64,
}

/// An event trigger.
#[event(table = "public.item", insert, update, delete)]
pub async fn fuzz_item_changed(_ctx: Ctx, _event: Event<Item>) -> Result<(), EventError> {
    Ok(())
}

/// A cron trigger.
#[cron(schedule = "*/5 * * * *")]
pub async fn fuzz_tick(_ctx: Ctx, _tick: Cron) -> Result<(), EventError> {
    Ok(())
}

/// A scheduled event's payload.
#[derive(Debug, Serialize, Deserialize)]
pub struct Reminder {
    /// A message.
    pub message: String,
}

/// A one-off scheduled event.
#[scheduled(name = "fuzz_reminder")]
pub async fn fuzz_reminder(_ctx: Ctx, _event: Scheduled<Reminder>) -> Result<(), EventError> {
    Ok(())
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

fn service() -> rasura::Service {
    rasura::Service::with_handlers([
        rasura::handler!(fuzz_echo),
        rasura::handler!(fuzz_item_changed),
        rasura::handler!(fuzz_tick),
        rasura::handler!(fuzz_reminder),
    ])
}

fn router() -> &'static axum::Router {
    static ROUTER: OnceLock<axum::Router> = OnceLock::new();
    ROUTER.get_or_init(|| {
        let config = rasura::config::Config::new(SECRET)
            .with_jwt(rasura::security::jwt::JwtConfig::hs256(JWT_KEY).expect("a valid key"))
            .with_storage(rasura::storage::StorageLocation::Memory);
        service()
            .with_config(config)
            .router()
            .expect("the fuzz service starts")
    })
}

/// An answer, as the invariants see it.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: u16,
    /// `Retry-After`, when sent.
    pub retry_after: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// POSTs `body` to `path` with the webhook secret, through the router.
pub fn post(path: &str, body: &[u8]) -> Answer {
    use tower::ServiceExt as _;
    let request = rasura::http::Request::post(path)
        .header("content-type", "application/json")
        .header("x-rasura-webhook-secret", SECRET)
        .body(axum::body::Body::from(body.to_vec()))
        .expect("a request");
    runtime().block_on(async {
        let response = router()
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes().to_vec())
            .unwrap_or_default();
        Answer {
            status,
            retry_after,
            body,
        }
    })
}

/// The invariants of every answer to hostile input: never a 5xx (the handlers cannot fail), a
/// refusal in Hasura's format (`message` and `extensions.code`), and for deliveries no
/// `Retry-After` on a permanent (4xx) refusal.
pub fn check(answer: &Answer, delivery: bool) {
    assert!(
        answer.status < 500,
        "a 5xx for hostile input: {} {}",
        answer.status,
        String::from_utf8_lossy(&answer.body)
    );
    if answer.status >= 400 {
        let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_else(|_| {
            panic!(
                "a refusal that is not JSON: {}",
                String::from_utf8_lossy(&answer.body)
            )
        });
        assert!(body["message"].is_string(), "no message: {body}");
        assert!(body["extensions"]["code"].is_string(), "no code: {body}");
        if delivery {
            assert!(
                answer.retry_after.is_none(),
                "a permanent refusal with Retry-After: {body}"
            );
        }
    }
}

/// `action_envelope`: the body of `POST /actions/fuzz_echo` or `POST /actions` (first byte).
pub fn action_envelope(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let path = if selector & 1 == 0 {
        "/actions/fuzz_echo"
    } else {
        "/actions"
    };
    check(&post(path, body), false);
}

/// `event_envelope`: the body of `POST /events/fuzz_item_changed`.
pub fn event_envelope(data: &[u8]) {
    check(&post("/events/fuzz_item_changed", data), true);
}

/// `cron_envelope`: the body of a cron or a scheduled event's delivery (first byte).
pub fn cron_envelope(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let path = if selector & 1 == 0 {
        "/crons/fuzz_tick"
    } else {
        "/scheduled/fuzz_reminder"
    };
    check(&post(path, body), true);
}

/// The JWT configurations `jwt_decode` verifies against: Hasura's claims shapes.
fn jwt_configs() -> &'static [rasura::security::jwt::JwtConfig] {
    static CONFIGS: OnceLock<Vec<rasura::security::jwt::JwtConfig>> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        let key = JWT_KEY;
        [
            serde_json::json!({"type": "HS256", "key": key}),
            serde_json::json!({"type": "HS256", "key": key, "claims_namespace": "custom"}),
            serde_json::json!({"type": "HS256", "key": key, "claims_namespace_path": "$.hasura.claims"}),
            serde_json::json!({"type": "HS256", "key": key, "claims_format": "stringified_json"}),
            serde_json::json!({"type": "HS256", "key": key, "audience": ["a", "b"], "issuer": "iss"}),
            serde_json::json!({"type": "HS256", "key": key, "claims_map": {
                "x-hasura-allowed-roles": {"path": "$.roles"},
                "x-hasura-default-role": {"path": "$.role[0]", "default": "user"},
                "x-hasura-user-id": {"path": "$.user.id"},
            }}),
            serde_json::json!({"type": "HS256", "key": key, "claims_map": {
                "x-hasura-allowed-roles": ["user", "editor"],
                "x-hasura-default-role": "user",
                "x-hasura-user-id": {"path": "$['weird key'].id", "default": "0"},
            }}),
            serde_json::json!({"type": "HS256", "key": key, "header": {"type": "Cookie", "name": "jwt"}}),
            // Raw tokens (selector bit 0x80) reach the `ring` RSA and ECDSA checks with any
            // header, length and signature bytes.
            serde_json::json!({"type": "RS256", "key": include_str!("../../tests/keys/rsa_public.pem")}),
            serde_json::json!({"type": "ES256", "key": include_str!("../../tests/keys/ec_public.pem")}),
        ]
        .iter()
        .map(|c| {
            rasura::security::jwt::JwtConfig::from_json(&c.to_string())
                .unwrap_or_else(|e| panic!("{c}: {e}"))
        })
        .collect()
    })
}

/// `jwt_decode`: the first byte picks a configuration; with its high bit set the rest is a raw
/// token, otherwise it is a payload, signed with the key (so claims extraction is reached).
pub fn jwt_decode(data: &[u8]) {
    use base64::Engine as _;
    use hmac::Mac as _;
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let configs = jwt_configs();
    let config = &configs[usize::from(selector & 0x7f) % configs.len()];
    let token = if selector & 0x80 != 0 {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let signing_input = format!(
            "{}.{}",
            b64.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
            b64.encode(rest)
        );
        let mut mac =
            hmac::Hmac::<sha2::Sha256>::new_from_slice(JWT_KEY.as_bytes()).expect("any key length");
        mac.update(signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            b64.encode(mac.finalize().into_bytes())
        )
    };
    let mut headers = rasura::http::HeaderMap::new();
    for (name, value) in [
        ("authorization", format!("Bearer {token}")),
        ("cookie", format!("jwt={token}")),
    ] {
        if let Ok(value) = rasura::http::HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    // Only that it answers, without panicking: any verdict is allowed.
    let _ = runtime().block_on(config.verify(&headers));
}

/// `jwt_config`: `HASURA_GRAPHQL_JWT_SECRET`'s parser.
pub fn jwt_config(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = rasura::security::jwt::JwtConfig::from_json(text);
    }
}

/// `schema_sdl`: the schema snapshot's SDL reader.
pub fn schema_sdl(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = rasura_codegen::schema::Schema::from_sdl(text, "fuzz.graphql");
    }
}

/// `schema_introspection`: the schema snapshot's introspection reader.
pub fn schema_introspection(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = rasura_codegen::schema::Schema::from_introspection(text, "fuzz.json");
    }
}

/// `operations`: operation documents checked against the default example's schema.
pub fn operations(data: &[u8]) {
    static SCHEMA: OnceLock<rasura_codegen::schema::Schema> = OnceLock::new();
    let schema = SCHEMA.get_or_init(|| {
        rasura_codegen::schema::Schema::from_sdl(
            include_str!("../../examples/default/hasura/schema.graphql"),
            "schema.graphql",
        )
        .expect("the example's schema")
    });
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = rasura_codegen::operations::Operations::parse(
            schema,
            &[("fuzz.graphql".to_owned(), text.to_owned())],
        );
    }
}

/// A metadata directory per process, rewritten for each input.
fn metadata_dir() -> PathBuf {
    std::env::temp_dir().join(format!("rasura-fuzz-metadata-{}", std::process::id()))
}

const TABLE_FILE: &str = "databases/default/tables/public_item.yaml";

/// A Hasura CLI metadata directory with `file` holding `text`.
fn write_directory(dir: &Path, file: &str, text: &str) {
    let _ = std::fs::remove_dir_all(dir);
    let files = [
        ("version.yaml", "version: 3\n"),
        ("actions.graphql", ""),
        ("actions.yaml", "actions: []\ncustom_types: {}\n"),
        ("cron_triggers.yaml", "[]\n"),
        (
            "databases/databases.yaml",
            "- name: default\n  kind: postgres\n  configuration:\n    connection_info:\n      database_url:\n        from_env: HASURA_GRAPHQL_DATABASE_URL\n  tables: \"!include default/tables/tables.yaml\"\n",
        ),
        (
            "databases/default/tables/tables.yaml",
            "- \"!include public_item.yaml\"\n",
        ),
        (TABLE_FILE, "table:\n  name: item\n  schema: public\n"),
    ];
    for (path, default) in files {
        let target = dir.join(path);
        std::fs::create_dir_all(target.parent().expect("a parent")).expect("a directory");
        std::fs::write(&target, if path == file { text } else { default }).expect("a file");
    }
}

fn read_all(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap_or_default();
                out.push((path, bytes));
            }
        }
    }
    out.sort();
    out
}

/// Exports the fuzz service's objects into a directory whose `file` holds `text`. Properties:
/// a refused export changes no byte; an accepted one is complete (a second export writes
/// nothing) and leaves every file it did not report untouched. Returns the directory's files
/// before and after, and the export's result, for the SDL property.
fn export_into(file: &str, text: &str) -> Option<(String, String)> {
    use rasura::metadata::{Declared, ExportOptions};
    let dir = metadata_dir();
    write_directory(&dir, file, text);
    let handlers = service().handlers();
    let options = ExportOptions::new("fuzz");
    let declared = Declared::from_handlers(&handlers, &options).expect("no duplicate");
    let before = read_all(&dir);
    let result = rasura::metadata::dir::export(&declared, &options, &dir);
    let after = read_all(&dir);
    let outcome = match result {
        Err(_) => {
            assert!(before == after, "a refused export changed the directory");
            None
        }
        Ok(report) => {
            for ((path, old), (_, new)) in before.iter().zip(&after) {
                let reported = report.written.iter().any(|w| dir.join(w) == *path);
                assert!(
                    reported || old == new,
                    "{} changed without being reported",
                    path.display()
                );
            }
            let again = rasura::metadata::dir::export(&declared, &options, &dir)
                .expect("a second export of an exported directory");
            assert!(
                again.written.is_empty(),
                "a second export wrote {:?}",
                again.written
            );
            let graphql = |files: &[(PathBuf, Vec<u8>)]| {
                files
                    .iter()
                    .find(|(p, _)| p.ends_with("actions.graphql"))
                    .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default()
            };
            Some((graphql(&before), graphql(&after)))
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

/// `metadata_yaml`: the first byte picks the YAML file the rest replaces (actions.yaml,
/// cron_triggers.yaml, the table's file).
pub fn metadata_yaml(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let file = ["actions.yaml", "cron_triggers.yaml", TABLE_FILE][usize::from(selector) % 3];
    export_into(file, text);
}

/// `metadata_sdl`: `actions.graphql` is the input. Beyond `metadata_yaml`'s properties, every
/// definition and root field the service does not declare keeps its bytes.
pub fn metadata_sdl(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some((before, after)) = export_into("actions.graphql", text) else {
        return;
    };
    let Ok(definitions) = rasura::metadata::sdl::parse(&before) else {
        return;
    };
    let declared = ["fuzz_echo", "FuzzInput", "FuzzOutput"];
    for definition in &definitions {
        if matches!(definition.name.as_str(), "Query" | "Mutation") {
            for field in &definition.fields {
                if !declared.contains(&field.name.as_str()) {
                    let bytes = &before[field.span.clone()];
                    assert!(
                        after.contains(bytes),
                        "field `{}` lost its bytes",
                        field.name
                    );
                }
            }
        } else if !declared.contains(&definition.name.as_str()) {
            let bytes = &before[definition.span.clone()];
            assert!(
                after.contains(bytes),
                "definition `{}` lost its bytes",
                definition.name
            );
        }
    }
}
