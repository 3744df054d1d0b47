//! `metadata diff` and `apply` against a Metadata API server run inside the tests, which keeps
//! state and enforces Hasura's rules (docs/protocol.md §5): already-exists on create, not-exists on
//! `replace: true` and on drops, custom types still in use, 409 on a stale `resource_version`,
//! and atomic `bulk` (a failing operation leaves the metadata unchanged).

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use http::{HeaderMap, StatusCode};
use rasura::config::Secret;
use rasura::handler;
use rasura::metadata::sync::{self, MetadataClient, SyncError};
use rasura::metadata::{Declared, ExportOptions};
use rasura::registry::Handler;
use serde_json::{Value, json};

const ADMIN_SECRET: &str = "metadata-admin-secret";

#[derive(Default)]
struct Hasura {
    resource_version: u64,
    metadata: Value,
    /// Every request body received.
    requests: Vec<Value>,
}

type Shared = Arc<Mutex<Hasura>>;

fn error(status: u16, code: &str, message: impl Into<String>) -> (StatusCode, Json<Value>) {
    (
        StatusCode::from_u16(status).unwrap(),
        Json(json!({"path": "$.args", "error": message.into(), "code": code})),
    )
}

type Failure = (StatusCode, Json<Value>);

fn base(ty: &str) -> &str {
    ty.trim_matches(|c| c == '[' || c == ']' || c == '!')
}

const BUILTIN: &[&str] = &[
    "String", "Int", "Float", "Boolean", "ID", "uuid", "json", "jsonb",
];

fn find_index(list: &Value, name: &str) -> Option<usize> {
    list.as_array()?
        .iter()
        .position(|v| v["name"].as_str() == Some(name))
}

fn custom_type_exists(metadata: &Value, name: &str) -> bool {
    BUILTIN.contains(&name)
        || ["objects", "input_objects", "enums", "scalars"]
            .iter()
            .any(|k| find_index(&metadata["custom_types"][k], name).is_some())
}

fn tables_mut<'a>(metadata: &'a mut Value, source: &str) -> Option<&'a mut Vec<Value>> {
    metadata["sources"]
        .as_array_mut()?
        .iter_mut()
        .find(|s| s["name"] == source)?
        .get_mut("tables")?
        .as_array_mut()
}

fn trigger_location(metadata: &Value, name: &str) -> Option<(String, usize, usize)> {
    for source in metadata["sources"].as_array()? {
        for (t, table) in source["tables"].as_array()?.iter().enumerate() {
            if let Some(i) = find_index(&table["event_triggers"], name) {
                return Some((source["name"].as_str()?.to_owned(), t, i));
            }
        }
    }
    None
}

/// One metadata operation, on `m`, with Hasura's rules.
fn run_op(m: &mut Value, op: &Value) -> Result<Value, Failure> {
    let args = &op["args"];
    let name = args["name"].as_str().unwrap_or_default().to_owned();
    let ok = json!({"message": "success"});
    match op["type"].as_str().unwrap_or_default() {
        "set_custom_types" => {
            let mut next = m.clone();
            next["custom_types"] = args.clone();
            for action in m["actions"].as_array().cloned().unwrap_or_default() {
                let def = &action["definition"];
                let mut used =
                    vec![base(def["output_type"].as_str().unwrap_or_default()).to_owned()];
                for a in def["arguments"].as_array().into_iter().flatten() {
                    used.push(base(a["type"].as_str().unwrap_or_default()).to_owned());
                }
                for ty in used {
                    if !custom_type_exists(&next, &ty) {
                        return Err(error(
                            400,
                            "dependency-error",
                            format!(
                                "custom type {ty} is still used by action {}",
                                action["name"]
                            ),
                        ));
                    }
                }
            }
            *m = next;
            Ok(ok)
        }
        "create_action" | "update_action" => {
            let exists = find_index(&m["actions"], &name);
            let creating = op["type"] == "create_action";
            match (creating, exists) {
                (true, Some(_)) => {
                    return Err(error(
                        400,
                        "already-exists",
                        format!("action {name} already exists"),
                    ));
                }
                (false, None) => {
                    return Err(error(
                        400,
                        "not-exists",
                        format!("action {name} does not exist"),
                    ));
                }
                _ => {}
            }
            let def = &args["definition"];
            let mut used = vec![base(def["output_type"].as_str().unwrap_or_default())];
            for a in def["arguments"].as_array().into_iter().flatten() {
                used.push(base(a["type"].as_str().unwrap_or_default()));
            }
            if let Some(missing) = used.iter().find(|t| !custom_type_exists(m, t)) {
                return Err(error(
                    400,
                    "not-exists",
                    format!("type {missing} is not defined"),
                ));
            }
            let mut action = json!({"name": name, "definition": def});
            if !args["comment"].is_null() {
                action["comment"] = args["comment"].clone();
            }
            match exists {
                Some(i) => {
                    action["permissions"] = m["actions"][i]["permissions"].clone();
                    m["actions"][i] = action;
                }
                None => {
                    action["permissions"] = json!([]);
                    if !m["actions"].is_array() {
                        m["actions"] = json!([]);
                    }
                    m["actions"].as_array_mut().unwrap().push(action);
                }
            }
            Ok(ok)
        }
        "drop_action" => {
            let i = find_index(&m["actions"], &name)
                .ok_or_else(|| error(400, "not-exists", format!("action {name} does not exist")))?;
            m["actions"].as_array_mut().unwrap().remove(i);
            Ok(ok)
        }
        "create_action_permission" | "drop_action_permission" => {
            let action = args["action"].as_str().unwrap_or_default();
            let role = args["role"].as_str().unwrap_or_default();
            let i = find_index(&m["actions"], action).ok_or_else(|| {
                error(400, "not-exists", format!("action {action} does not exist"))
            })?;
            let perms = m["actions"][i]["permissions"].as_array_mut().unwrap();
            let at = perms.iter().position(|p| p["role"] == role);
            if op["type"] == "create_action_permission" {
                if at.is_some() {
                    return Err(error(
                        400,
                        "already-exists",
                        format!("permission for role {role} already exists"),
                    ));
                }
                perms.push(json!({"role": role}));
            } else {
                let at = at.ok_or_else(|| {
                    error(
                        400,
                        "not-exists",
                        format!("permission for role {role} does not exist"),
                    )
                })?;
                perms.remove(at);
            }
            Ok(ok)
        }
        "pg_create_event_trigger" => {
            let source = args["source"].as_str().unwrap_or("default").to_owned();
            let replace = args["replace"] == true;
            let existing = trigger_location(m, &name);
            match (replace, &existing) {
                (false, Some(_)) => {
                    return Err(error(
                        400,
                        "already-exists",
                        format!("event trigger {name} already exists"),
                    ));
                }
                (true, None) => {
                    return Err(error(
                        400,
                        "not-exists",
                        format!("event trigger {name} does not exist"),
                    ));
                }
                _ => {}
            }
            let table = args["table"].clone();
            let tables = tables_mut(m, &source).ok_or_else(|| {
                error(400, "not-exists", format!("source {source} does not exist"))
            })?;
            let t = tables
                .iter()
                .position(|t| t["table"] == table)
                .ok_or_else(|| error(400, "not-exists", format!("table {table} is not tracked")))?;
            if existing.as_ref().is_some_and(|(_, et, _)| *et != t) {
                return Err(error(
                    400,
                    "not-supported",
                    "replace cannot move a trigger to another table",
                ));
            }
            let mut definition = serde_json::Map::new();
            for k in ["delete", "enable_manual", "insert", "update"] {
                if !args[k].is_null() {
                    definition.insert(k.into(), args[k].clone());
                }
            }
            let trigger = json!({"name": name, "definition": definition, "retry_conf": args["retry_conf"],
                "webhook": args["webhook"], "headers": args["headers"]});
            let list = tables[t]
                .as_object_mut()
                .unwrap()
                .entry("event_triggers")
                .or_insert(json!([]))
                .as_array_mut()
                .unwrap();
            match list.iter().position(|e| e["name"] == name.as_str()) {
                Some(i) => list[i] = trigger,
                None => list.push(trigger),
            }
            Ok(ok)
        }
        "pg_delete_event_trigger" => {
            let (source, t, i) = trigger_location(m, &name).ok_or_else(|| {
                error(
                    400,
                    "not-exists",
                    format!("event trigger {name} does not exist"),
                )
            })?;
            tables_mut(m, &source).unwrap()[t]["event_triggers"]
                .as_array_mut()
                .unwrap()
                .remove(i);
            Ok(ok)
        }
        "create_cron_trigger" => {
            let replace = args["replace"] == true;
            let i = find_index(&m["cron_triggers"], &name);
            let mut cron = args.clone();
            cron.as_object_mut().unwrap().remove("replace");
            match (replace, i) {
                (false, Some(_)) => Err(error(
                    400,
                    "already-exists",
                    format!("cron trigger with name: {name} already exists"),
                )),
                (true, None) => Err(error(
                    400,
                    "not-exists",
                    format!("cron trigger with name: {name} does not exist"),
                )),
                (true, Some(i)) => {
                    m["cron_triggers"][i] = cron;
                    Ok(ok)
                }
                (false, None) => {
                    if !m["cron_triggers"].is_array() {
                        m["cron_triggers"] = json!([]);
                    }
                    m["cron_triggers"].as_array_mut().unwrap().push(cron);
                    Ok(ok)
                }
            }
        }
        "delete_cron_trigger" => {
            let i = find_index(&m["cron_triggers"], &name).ok_or_else(|| {
                error(
                    400,
                    "not-exists",
                    format!("cron trigger {name} does not exist"),
                )
            })?;
            m["cron_triggers"].as_array_mut().unwrap().remove(i);
            Ok(ok)
        }
        other => Err(error(
            400,
            "not-supported",
            format!("unknown operation {other}"),
        )),
    }
}

async fn metadata_api(
    State(state): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Json<Value>, Failure> {
    let mut hasura = state.lock().unwrap();
    hasura.requests.push(body.clone());
    if headers
        .get("x-hasura-admin-secret")
        .and_then(|v| v.to_str().ok())
        != Some(ADMIN_SECRET)
    {
        return Err((
            StatusCode::UNAUTHORIZED,
            Json(
                json!({"error": "invalid x-hasura-admin-secret/x-hasura-access-key", "code": "access-denied", "path": "$"}),
            ),
        ));
    }
    if body["type"] == "export_metadata" {
        return Ok(Json(
            json!({"resource_version": hasura.resource_version, "metadata": hasura.metadata}),
        ));
    }
    if body["resource_version"]
        .as_u64()
        .is_some_and(|v| v != hasura.resource_version)
    {
        return Err(error(
            409,
            "conflict",
            "resource version mismatch; the metadata changed",
        ));
    }
    // Atomic: every operation runs on a copy, kept only when all succeed.
    let mut next = hasura.metadata.clone();
    let result = if body["type"] == "bulk" {
        let mut results = Vec::new();
        for op in body["args"].as_array().cloned().unwrap_or_default() {
            results.push(run_op(&mut next, &op)?);
        }
        Value::Array(results)
    } else {
        run_op(&mut next, &body)?
    };
    hasura.metadata = next;
    hasura.resource_version += 1;
    Ok(Json(result))
}

fn other_headers(service: &str) -> Value {
    json!([{"name": "X-Rasura-Webhook-Secret", "value_from_env": "RASURA_WEBHOOK_SECRET"},
           {"name": "X-Rasura-Service", "value": service}])
}

/// Live metadata before the service's first apply: another service's action, type and cron,
/// a hand-made cron without any mark, and stale objects this service once owned.
fn initial_metadata() -> Value {
    json!({
        "version": 3,
        "sources": [{
            "name": "default", "kind": "postgres",
            "configuration": {"connection_info": {"database_url": {"from_env": "HASURA_GRAPHQL_DATABASE_URL"}}},
            "tables": [
                {"table": {"schema": "public", "name": "user"}},
                {"table": {"schema": "public", "name": "app"},
                 "event_triggers": [{"name": "app_changed", "definition": {"enable_manual": false, "update": {"columns": "*"}},
                                     "retry_conf": {"num_retries": 0, "interval_sec": 10, "timeout_sec": 60},
                                     "webhook": "{{RASURA_BASE_URL}}/events/app_changed",
                                     "headers": other_headers("example_default")}]}
            ]
        }],
        "actions": [
            {"name": "other_action", "definition": {"handler": "{{OTHER_BASE_URL}}/x", "output_type": "OtherOutput",
              "arguments": [], "type": "query", "headers": other_headers("other")}, "permissions": [{"role": "user"}]},
            {"name": "old_action", "definition": {"handler": "{{RASURA_BASE_URL}}/actions/old_action", "output_type": "OldOutput!",
              "arguments": [{"name": "x", "type": "OldInput!"}], "type": "mutation", "kind": "synchronous",
              "headers": other_headers("example_default")}, "permissions": []}
        ],
        "custom_types": {
            "objects": [
                {"name": "OtherOutput", "fields": [{"name": "ok", "type": "Boolean!"}],
                 "relationships": [{"name": "user", "type": "object", "remote_table": {"schema": "public", "name": "user"},
                                    "field_mapping": {"ok": "user_id"}}]},
                {"name": "OldOutput", "fields": [{"name": "id", "type": "Int!"}]}
            ],
            "input_objects": [{"name": "OldInput", "fields": [{"name": "a", "type": "Int"}]}]
        },
        "cron_triggers": [
            {"name": "other_cron", "webhook": "{{OTHER_BASE_URL}}/c", "schedule": "0 * * * *", "include_in_metadata": true,
             "headers": other_headers("other")},
            {"name": "hand_made", "webhook": "https://example.test/h", "schedule": "0 0 * * *", "include_in_metadata": true},
            {"name": "stale_cron", "webhook": "{{RASURA_BASE_URL}}/crons/stale_cron", "schedule": "0 0 * * *",
             "include_in_metadata": true, "headers": other_headers("example_default")}
        ]
    })
}

async fn start_hasura(metadata: Value) -> (Shared, MetadataClient) {
    let state: Shared = Arc::new(Mutex::new(Hasura {
        resource_version: 7,
        metadata,
        requests: Vec::new(),
    }));
    let app = axum::Router::new()
        .route("/v1/metadata", axum::routing::post(metadata_api))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let endpoint = url::Url::parse(&format!("http://{addr}")).unwrap();
    let client = MetadataClient::new(
        reqwest::Client::new(),
        &endpoint,
        Some(Secret::new(ADMIN_SECRET)),
    );
    (state, client)
}

fn handlers() -> Vec<&'static Handler> {
    vec![
        handler!(example_default::ping),
        handler!(example_default::pong),
        handler!(example_default::delay),
        handler!(example_default::upload_file),
        handler!(example_default::user_role_changed),
        handler!(example_default::user_deleted),
        handler!(example_default::update_app_message),
    ]
}

fn options() -> ExportOptions {
    ExportOptions::new("example_default")
}

fn declared() -> Declared {
    Declared::from_handlers(&handlers(), &options()).unwrap()
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["name"].as_str())
        .collect()
}

#[tokio::test]
async fn apply_creates_everything_and_a_second_apply_is_a_no_op() {
    let (state, client) = start_hasura(initial_metadata()).await;
    let live = client.export().await.unwrap();
    assert_eq!(live.resource_version, 7);
    let plan = sync::plan(&declared(), &live.metadata, &options(), false);
    let ops: Vec<&str> = plan
        .operations
        .iter()
        .map(|o| o["type"].as_str().unwrap())
        .collect();
    // Hasura's order: custom types, actions, permissions, event triggers, cron triggers.
    assert_eq!(ops[0], "set_custom_types");
    let last = |kind: &str| ops.iter().rposition(|o| *o == kind).unwrap();
    let first = |kind: &str| ops.iter().position(|o| *o == kind).unwrap();
    assert!(last("create_action") < first("create_action_permission"));
    assert!(last("create_action_permission") < first("pg_create_event_trigger"));
    assert!(last("pg_create_event_trigger") < first("create_cron_trigger"));
    // Stale objects of this service are listed, not dropped, without --prune.
    let kept: Vec<String> = plan.kept.iter().map(ToString::to_string).collect();
    assert_eq!(
        kept,
        [
            "- action old_action",
            "- event trigger app_changed (default.public.app)",
            "- cron trigger stale_cron"
        ]
    );
    client.apply(&plan, live.resource_version).await.unwrap();

    let after = state.lock().unwrap().metadata.clone();
    assert_eq!(
        names(&after["actions"]),
        [
            "other_action",
            "old_action",
            "delay",
            "ping",
            "pong",
            "upload_file"
        ]
    );
    let pong = &after["actions"][4];
    assert_eq!(
        pong["definition"]["handler"],
        "{{RASURA_BASE_URL}}/actions/pong"
    );
    assert_eq!(pong["definition"]["forward_client_headers"], true);
    assert_eq!(
        pong["definition"]["arguments"],
        json!([{"name": "message", "type": "String!"}, {"name": "number", "type": "Int!"}])
    );
    assert_eq!(pong["definition"]["output_type"], "PongOutput!");
    assert_eq!(pong["permissions"], json!([{"role": "user"}]));
    assert_eq!(
        after["actions"][2]["permissions"],
        json!([]),
        "admin-only delay has no permission"
    );
    assert_eq!(after["actions"][3]["definition"]["type"], "query");
    // The other service's custom type is kept, with its relationship.
    assert_eq!(
        names(&after["custom_types"]["objects"]),
        [
            "OldOutput",
            "OtherOutput",
            "DelayOutput",
            "PingOutput",
            "PongOutput",
            "UploadFileOutput"
        ]
    );
    assert!(after["custom_types"]["objects"][1]["relationships"].is_array());
    let user_table = &after["sources"][0]["tables"][0];
    assert_eq!(
        names(&user_table["event_triggers"]),
        ["user_deleted", "user_role_changed"]
    );
    assert_eq!(
        user_table["event_triggers"][1]["definition"],
        json!({"enable_manual": false, "update": {"columns": ["role"]}})
    );
    assert_eq!(
        names(&after["cron_triggers"]),
        [
            "other_cron",
            "hand_made",
            "stale_cron",
            "update_app_message"
        ]
    );

    // In sync now: the next plan is empty, and `apply` sends nothing.
    let live = client.export().await.unwrap();
    assert_eq!(live.resource_version, 8, "one bulk, one version");
    let plan = sync::plan(&declared(), &live.metadata, &options(), false);
    assert!(plan.is_empty(), "{:#?}", plan.operations);
    let before = state.lock().unwrap().requests.len();
    client.apply(&plan, live.resource_version).await.unwrap();
    assert_eq!(state.lock().unwrap().requests.len(), before);
}

#[tokio::test]
async fn prune_drops_only_this_services_stale_objects() {
    let (state, client) = start_hasura(initial_metadata()).await;
    let live = client.export().await.unwrap();
    let plan = sync::plan(&declared(), &live.metadata, &options(), true);
    let removed: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| c.kind == sync::ChangeKind::Remove)
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        removed,
        [
            "- action old_action",
            "- custom type OldInput",
            "- custom type OldOutput",
            "- event trigger app_changed (default.public.app)",
            "- cron trigger stale_cron"
        ]
    );
    // The stale action is dropped before the custom types it used are removed.
    assert_eq!(plan.operations[0]["type"], "drop_action");
    client.apply(&plan, live.resource_version).await.unwrap();
    let after = state.lock().unwrap().metadata.clone();
    assert_eq!(
        names(&after["actions"]),
        ["other_action", "delay", "ping", "pong", "upload_file"]
    );
    assert_eq!(
        names(&after["custom_types"]["input_objects"]),
        Vec::<&str>::new()
    );
    assert_eq!(
        names(&after["cron_triggers"]),
        ["other_cron", "hand_made", "update_app_message"]
    );
    assert_eq!(
        names(&after["sources"][0]["tables"][1]["event_triggers"]),
        Vec::<&str>::new()
    );
    let live = client.export().await.unwrap();
    assert!(sync::plan(&declared(), &live.metadata, &options(), true).is_empty());
}

#[tokio::test]
async fn changed_objects_are_replaced_and_permissions_reconciled() {
    let (state, client) = start_hasura(initial_metadata()).await;
    let live = client.export().await.unwrap();
    client
        .apply(
            &sync::plan(&declared(), &live.metadata, &options(), false),
            live.resource_version,
        )
        .await
        .unwrap();
    // Someone edits Hasura: a trigger's retries, a cron's schedule, an action's timeout and
    // permissions.
    {
        let mut h = state.lock().unwrap();
        let m = &mut h.metadata;
        m["sources"][0]["tables"][0]["event_triggers"][0]["retry_conf"]["num_retries"] = json!(9);
        let cron = m["cron_triggers"]
            .as_array_mut()
            .unwrap()
            .last_mut()
            .unwrap();
        cron["schedule"] = json!("0 0 * * *");
        m["actions"][4]["definition"]["timeout"] = json!(5);
        m["actions"][4]["permissions"] = json!([{"role": "user"}, {"role": "intern"}]);
        h.resource_version += 1;
    }
    let live = client.export().await.unwrap();
    let plan = sync::plan(&declared(), &live.metadata, &options(), false);
    let summary: Vec<String> = plan.changes.iter().map(ToString::to_string).collect();
    assert_eq!(
        summary,
        [
            "~ action pong",
            "- action permission pong/intern",
            "~ event trigger user_deleted (default.public.user)",
            "~ cron trigger update_app_message"
        ]
    );
    let replace: Vec<&Value> = plan
        .operations
        .iter()
        .filter_map(|o| o["args"].get("replace"))
        .collect();
    assert_eq!(replace, [&json!(true), &json!(true)]);
    // The server refuses `replace: true` on a missing object and `false` on an existing one, so
    // this succeeding proves the flags.
    client.apply(&plan, live.resource_version).await.unwrap();
    let live = client.export().await.unwrap();
    assert!(sync::plan(&declared(), &live.metadata, &options(), false).is_empty());
}

#[tokio::test]
async fn a_concurrent_change_fails_with_409_and_changes_nothing() {
    let (state, client) = start_hasura(initial_metadata()).await;
    let live = client.export().await.unwrap();
    let plan = sync::plan(&declared(), &live.metadata, &options(), false);
    // Someone else applies in between.
    state.lock().unwrap().resource_version += 1;
    let before = state.lock().unwrap().metadata.clone();
    let err = client
        .apply(&plan, live.resource_version)
        .await
        .unwrap_err();
    assert!(matches!(err, SyncError::Conflict(7)), "{err:?}");
    assert!(err.to_string().contains("run the command again"), "{err}");
    assert_eq!(state.lock().unwrap().metadata, before);
}

#[tokio::test]
async fn a_failing_operation_leaves_the_metadata_unchanged() {
    // `public.user` is not tracked here: the event triggers fail, after the actions.
    let mut metadata = initial_metadata();
    metadata["sources"][0]["tables"]
        .as_array_mut()
        .unwrap()
        .remove(0);
    let (state, client) = start_hasura(metadata).await;
    let live = client.export().await.unwrap();
    let before = live.metadata.clone();
    let err = client
        .apply(
            &sync::plan(&declared(), &live.metadata, &options(), false),
            live.resource_version,
        )
        .await
        .unwrap_err();
    let SyncError::Refused {
        status,
        code,
        message,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!((*status, code.as_str()), (400, "not-exists"));
    assert!(message.contains("not tracked"), "{message}");
    let h = state.lock().unwrap();
    assert_eq!(h.metadata, before, "the bulk is atomic");
    assert_eq!(h.resource_version, 7);
}

#[tokio::test]
async fn a_wrong_admin_secret_and_an_unreachable_hasura_are_clear_errors() {
    let (_state, client) = start_hasura(initial_metadata()).await;
    let wrong = MetadataClient::new(
        reqwest::Client::new(),
        &client_endpoint(&client),
        Some(Secret::new("wrong")),
    );
    let err = wrong.export().await.unwrap_err();
    let SyncError::Refused { status, code, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!((*status, code.as_str()), (401, "access-denied"));
    assert!(!err.to_string().contains("wrong"), "{err}");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let down = MetadataClient::new(
        reqwest::Client::new(),
        &url::Url::parse(&format!("http://{addr}")).unwrap(),
        None,
    );
    assert!(matches!(down.export().await, Err(SyncError::Transport(_))));
    assert!(!format!("{client:?}").contains(ADMIN_SECRET));
}

fn client_endpoint(client: &MetadataClient) -> url::Url {
    let mut url = client.url().clone();
    url.set_path("/");
    url
}

#[derive(serde::Deserialize, rasura::CustomType)]
struct Nothing {}

#[derive(serde::Serialize, rasura::CustomType)]
struct Done {
    ok: bool,
}

/// A code-first action (no codegen): its definition comes from the derived types.
#[rasura::action(mutation)]
async fn code_first(_ctx: rasura::Ctx, _input: Nothing) -> Result<Done, rasura::ActionError> {
    Ok(Done { ok: true })
}

#[test]
fn code_first_and_generated_actions_export_together() {
    let declared = Declared::from_handlers(
        &[handler!(code_first), handler!(example_default::ping)],
        &options(),
    )
    .unwrap();
    assert!(declared.skipped.is_empty(), "{:?}", declared.skipped);
    let first = declared
        .actions
        .iter()
        .find(|a| a.name == "code_first")
        .unwrap();
    assert_eq!(first.field_sdl, "code_first: Done");
    assert_eq!(first.metadata["definition"]["output_type"], "Done");
    assert_eq!(
        first.metadata["definition"]["arguments"],
        serde_json::json!([])
    );
    assert!(
        declared
            .custom_types()
            .iter()
            .any(|t| t.name == "Done" && t.kind == "objects")
    );
    assert!(declared.actions.iter().any(|a| a.name == "ping"));
}

#[test]
fn duplicate_names_are_refused_with_the_message_serve_gives() {
    mod other {
        #[rasura::action(name = "ping", query)]
        pub async fn ping_twice(_ctx: rasura::Ctx) -> Result<super::Done, rasura::ActionError> {
            Ok(super::Done { ok: true })
        }
    }
    let handlers = [handler!(example_default::ping), handler!(other::ping_twice)];
    let export = Declared::from_handlers(&handlers, &options())
        .unwrap_err()
        .to_string();
    let serve = rasura::Service::with_handlers(handlers)
        .with_config(rasura::testing::TestService::config())
        .router()
        .unwrap_err()
        .to_string();
    assert_eq!(export, serve);
    assert!(
        export.starts_with("two action handlers are named `ping`"),
        "{export}"
    );
}
