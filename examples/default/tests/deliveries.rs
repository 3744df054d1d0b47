//! The example's delivery handlers with a real PostgreSQL and loopback servers:
//! - `welcome_user` posts to a third-party API with the event id as `Idempotency-Key`, backs
//!   off exponentially while the API fails, dead-letters the last failure, and the binary's
//!   `dead-letters list|show|replay|drop` commands replay it once the API is back;
//! - `user_role_changed` (`once`) records a change once however often Hasura delivers it;
//! - `remind_me` schedules `send_reminder` through a recording Metadata API server, which
//!   checks the exact `create_scheduled_event`, `delete_scheduled_event` and
//!   `get_scheduled_events` bodies and answers with Hasura's error shapes.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use http::{HeaderMap, StatusCode};
use rasura::config::Secret;
use rasura::db::sqlx;
use rasura::metadata::sync::MetadataClient;
use rasura::scheduler::{ListScheduled, ScheduledEventId, Scheduler, SchedulerError};
use rasura::testing::{TestDatabase, TestService};
use rasura::{Service, handler};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_example-default");

fn migrations() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("hasura/migrations/default")
}

/// A third-party API on loopback: records each call's `Idempotency-Key` and body; fails with
/// 500 while `failing`.
#[derive(Default)]
struct WelcomeApi {
    failing: AtomicBool,
    calls: Mutex<Vec<(String, Value)>>,
}

async fn welcome_api() -> (Arc<WelcomeApi>, String) {
    let api = Arc::new(WelcomeApi::default());
    let app = axum::Router::new()
        .route(
            "/welcome",
            axum::routing::post(
                |State(api): State<Arc<WelcomeApi>>,
                 headers: HeaderMap,
                 Json(body): Json<Value>| async move {
                    let key = headers
                        .get("idempotency-key")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    api.calls.lock().unwrap().push((key, body));
                    if api.failing.load(Ordering::SeqCst) {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::OK
                    }
                },
            ),
        )
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/welcome", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (api, url)
}

fn user(user_id: &str, role: &str) -> Value {
    json!({"user_id": user_id, "role": role, "user_phone": "+33", "token": 3,
           "created_at": "2024-05-01T22:00:00.5+00:00", "updated_at": null,
           "last_message": null})
}

fn cli(db: &TestDatabase, welcome_url: &str) -> Command {
    let mut c = Command::new(BIN);
    c.env("DATABASE_URL", db.url())
        .env("WELCOME_WEBHOOK_URL", welcome_url)
        .env("RASURA_LOG", "off")
        .env_remove("HASURA_GRAPHQL_ENDPOINT");
    c
}

fn run(mut c: Command, args: &[&str]) -> (Option<i32>, String, String) {
    let out = c.args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn welcome_user_backs_off_dead_letters_and_replays_from_the_cli() {
    let db = TestDatabase::with_migrations(migrations()).await;
    let (api, url) = welcome_api().await;
    api.failing.store(true, Ordering::SeqCst);
    let s = TestService::new(
        Service::with_handlers([handler!(example_default::welcome_user)])
            .with_config(TestService::config().with_database_url(db.url()))
            .with_state(example_default::WelcomeApi {
                url: Some(url.clone()),
            }),
    );
    let delivery = |retry| {
        s.event("welcome_user")
            .table("public.user")
            .id("4f8a3c3e-7f55-4cc0-9d44-1d1f5a3b2c10")
            .insert(user("u-1", "user"))
            .delivery(retry, 5)
    };
    for retry in 0..5u32 {
        let r = delivery(retry).send().await;
        r.assert_error(503, "welcome-api-failed");
        let secs: u64 = r.header("retry-after").unwrap().parse().unwrap();
        let expected = (10u64 << retry).min(600);
        assert!(
            secs * 5 >= expected * 4 && secs * 5 <= expected * 6,
            "retry {retry}: {secs}s vs {expected}s"
        );
    }
    let last = delivery(5).send().await;
    last.assert_status(200);
    assert_eq!(last.json::<Value>()["message"], "dead-lettered");
    {
        let calls = api.calls.lock().unwrap();
        assert_eq!(calls.len(), 6);
        assert!(
            calls
                .iter()
                .all(|(key, body)| key == "4f8a3c3e-7f55-4cc0-9d44-1d1f5a3b2c10"
                    && body == &json!({"user_id": "u-1"}))
        );
    }

    // The binary's commands, on the same database.
    let (code, out, err) = run(cli(&db, &url), &["dead-letters", "list"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.starts_with("4f8a3c3e-7f55-4cc0-9d44-1d1f5a3b2c10  welcome_user  attempts=6"),
        "{out}"
    );
    let (code, out, _) = run(
        cli(&db, &url),
        &["dead-letters", "list", "--handler", "someone_else"],
    );
    assert_eq!((code, out.as_str()), (Some(0), ""));
    let (code, out, err) = run(
        cli(&db, &url),
        &[
            "dead-letters",
            "show",
            "4f8a3c3e-7f55-4cc0-9d44-1d1f5a3b2c10",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["payload"]["event"]["data"]["new"]["user_id"], "u-1");
    assert!(
        shown["error"]
            .as_str()
            .unwrap()
            .contains("the welcome API answered HTTP 500")
    );
    // Still failing: the replay fails, the letter stays.
    let (code, out, _) = run(
        cli(&db, &url),
        &[
            "dead-letters",
            "replay",
            "4f8a3c3e-7f55-4cc0-9d44-1d1f5a3b2c10",
        ],
    );
    assert_eq!(code, Some(1));
    assert!(out.contains("failed 4f8a3c3e"), "{out}");
    // The API is back: the replay succeeds and records the delivery as processed.
    api.failing.store(false, Ordering::SeqCst);
    let (code, out, err) = run(cli(&db, &url), &["dead-letters", "replay", "--all"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("replayed 4f8a3c3e-7f55-4cc0-9d44-1d1f5a3b2c10"),
        "{out}"
    );
    assert_eq!(api.calls.lock().unwrap().len(), 8);
    let (_, out, _) = run(cli(&db, &url), &["dead-letters", "list"]);
    assert_eq!(out, "");
    // Hasura redelivering it now is acknowledged without calling the API again.
    delivery(0).send().await.assert_status(200);
    assert_eq!(api.calls.lock().unwrap().len(), 8);
    // Unknown ids are errors.
    for args in [
        &["dead-letters", "show", "nope"][..],
        &["dead-letters", "drop", "nope"],
        &["dead-letters", "replay", "nope"],
    ] {
        let (code, _, err) = run(cli(&db, &url), args);
        assert_eq!(code, Some(1), "{args:?}");
        assert!(err.contains("no dead letter with id `nope`"), "{err}");
    }
    let (code, _, err) = run(cli(&db, &url), &["dead-letters", "replay"]);
    assert_eq!(code, Some(2), "{err}");
}

#[tokio::test]
async fn dead_letters_can_be_dropped_from_the_cli() {
    let db = TestDatabase::with_migrations(migrations()).await;
    let (api, url) = welcome_api().await;
    api.failing.store(true, Ordering::SeqCst);
    let s = TestService::new(
        Service::with_handlers([handler!(example_default::welcome_user)])
            .with_config(TestService::config().with_database_url(db.url()))
            .with_state(example_default::WelcomeApi {
                url: Some(url.clone()),
            }),
    );
    s.event("welcome_user")
        .table("public.user")
        .id("e-drop")
        .insert(user("u-2", "user"))
        .delivery(5, 5)
        .send()
        .await
        .assert_status(200);
    let (code, out, err) = run(cli(&db, &url), &["dead-letters", "drop", "e-drop"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.trim(), "dropped e-drop");
    assert!(
        rasura::dead_letters::get(db.pool(), "e-drop")
            .await
            .unwrap()
            .is_none()
    );
    // Without a database the commands say what they need.
    let out = Command::new(BIN)
        .args(["dead-letters", "list"])
        .env_remove("DATABASE_URL")
        .env_remove("HASURA_GRAPHQL_DATABASE_URL")
        .env("RASURA_LOG", "off")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("DATABASE_URL is not set"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_role_changed_records_each_change_once() {
    let db = TestDatabase::with_migrations(migrations()).await;
    let s = TestService::new(
        Service::with_handlers([handler!(example_default::user_role_changed)])
            .with_config(TestService::config().with_database_url(db.url())),
    );
    let send = || {
        s.event("user_role_changed")
            .table("public.user")
            .id("0b6a8f52-3b8e-4e59-9d6f-5c1b2a3d4e5f")
            .session(json!({"x-hasura-role": "admin"}))
            .update(user("u-3", "user"), user("u-3", "admin"))
            .send()
    };
    let (a, b) = tokio::join!(send(), send());
    a.assert_status(200);
    b.assert_status(200);
    send().await.assert_status(200);
    let changes: i64 = sqlx::query_scalar("SELECT count(*) FROM public.user_role_change")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(changes, 1);
}

/// A Metadata API on loopback that records every body and keeps one-off events.
#[derive(Default)]
struct Hasura {
    requests: Vec<Value>,
    events: Vec<Value>,
}

const ADMIN_SECRET: &str = "scheduler-admin-secret";

async fn metadata_api() -> (Arc<Mutex<Hasura>>, url::Url) {
    let state = Arc::new(Mutex::new(Hasura::default()));
    let app = axum::Router::new()
        .route(
            "/v1/metadata",
            axum::routing::post(
                |State(state): State<Arc<Mutex<Hasura>>>, headers: HeaderMap, Json(body): Json<Value>| async move {
                    let error = |status: u16, code: &str, message: &str| {
                        (
                            StatusCode::from_u16(status).unwrap(),
                            Json(json!({"path": "$.args", "error": message, "code": code})),
                        )
                    };
                    if headers.get("x-hasura-admin-secret").and_then(|v| v.to_str().ok())
                        != Some(ADMIN_SECRET)
                    {
                        return error(400, "access-denied", "restricted access : admin only");
                    }
                    let mut hasura = state.lock().unwrap();
                    hasura.requests.push(body.clone());
                    let args = &body["args"];
                    match body["type"].as_str().unwrap_or_default() {
                        "create_scheduled_event" => {
                            let at = args["schedule_at"].as_str().unwrap_or_default();
                            if chrono::DateTime::parse_from_rfc3339(at).is_err() {
                                return error(400, "parse-failed", "invalid schedule_at");
                            }
                            let id = format!("event-{}", hasura.events.len() + 1);
                            hasura.events.push(json!({
                                "id": id, "webhook_conf": args["webhook"], "scheduled_time": at,
                                "payload": args["payload"], "status": "scheduled", "tries": 0,
                                "comment": args["comment"], "retry_conf": args["retry_conf"],
                                "header_conf": args["headers"], "created_at": "2026-12-01T00:00:00Z",
                                "next_retry_at": null,
                            }));
                            (StatusCode::OK, Json(json!({"message": "success", "event_id": id})))
                        }
                        "delete_scheduled_event" => {
                            let id = args["event_id"].as_str().unwrap_or_default().to_owned();
                            let before = hasura.events.len();
                            hasura.events.retain(|e| e["id"] != id.as_str());
                            if hasura.events.len() == before {
                                return error(400, "not-exists", &format!("scheduled event {id} does not exist"));
                            }
                            (StatusCode::OK, Json(json!({"message": "success"})))
                        }
                        "get_scheduled_events" => {
                            let offset = args["offset"].as_u64().unwrap_or(0) as usize;
                            let limit = args["limit"].as_u64().unwrap_or(100) as usize;
                            let page: Vec<Value> =
                                hasura.events.iter().skip(offset).take(limit).cloned().collect();
                            (StatusCode::OK, Json(json!({"events": page, "count": hasura.events.len()})))
                        }
                        other => error(400, "not-supported", &format!("unknown type {other}")),
                    }
                },
            ),
        )
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = url::Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (state, url)
}

#[tokio::test]
async fn remind_me_schedules_send_reminder_through_the_metadata_api() {
    let (hasura, endpoint) = metadata_api().await;
    let s = TestService::new(
        Service::with_handlers([
            handler!(example_default::remind_me),
            handler!(example_default::send_reminder),
        ])
        .with_config(TestService::config().with_hasura(endpoint.clone(), Some(ADMIN_SECRET))),
    );
    let r = s
        .action("remind_me")
        .role("user")
        .user_id("u-9")
        .input(json!({"at": "2030-01-02T03:04:05Z", "message": "stand up"}))
        .send()
        .await;
    r.assert_status(200);
    assert_eq!(r.json::<Value>(), json!({"event_id": "event-1"}));
    assert_eq!(
        hasura.lock().unwrap().requests[0],
        json!({"type": "create_scheduled_event", "args": {
            "webhook": "{{RASURA_BASE_URL}}/scheduled/send_reminder",
            "schedule_at": "2030-01-02T03:04:05Z",
            "payload": {"message": "stand up"},
            "headers": [{"name": "x-rasura-webhook-secret", "value_from_env": "RASURA_WEBHOOK_SECRET"}],
            "retry_conf": {"num_retries": 2, "retry_interval_seconds": 10,
                           "timeout_seconds": 60, "tolerance_seconds": 21600},
            "comment": "reminder for user u-9",
        }})
    );
    // Hasura delivers it: the handler takes the typed payload.
    s.scheduled("send_reminder")
        .id("event-1")
        .payload(json!({"message": "stand up"}))
        .send()
        .await
        .assert_status(200);
    // Refused input, and refusals by Hasura, reach the caller in Hasura's format.
    s.action("remind_me")
        .role("user")
        .input(json!({"at": "2001-01-01T00:00:00Z", "message": "late"}))
        .send()
        .await
        .assert_error(400, "validation-failed");
    s.action("remind_me")
        .role("user")
        .input(json!({"at": "soon", "message": "x"}))
        .send()
        .await
        .assert_error(400, "validation-failed");
    let denied = TestService::new(
        Service::with_handlers([handler!(example_default::remind_me)])
            .with_config(TestService::config().with_hasura(endpoint, Some("wrong"))),
    );
    let r = denied
        .action("remind_me")
        .role("user")
        .input(json!({"at": "2030-01-02T03:04:05Z", "message": "x"}))
        .send()
        .await;
    r.assert_error(400, "access-denied");
    assert!(r.message().contains("admin only"));
    // Without Hasura configured: a clear error.
    let alone = TestService::new(Service::with_handlers([handler!(
        example_default::remind_me
    )]));
    alone
        .action("remind_me")
        .role("user")
        .input(json!({"at": "2030-01-02T03:04:05Z", "message": "x"}))
        .send()
        .await
        .assert_error(400, "not-configured");
}

#[tokio::test]
async fn the_scheduler_cancels_and_lists_with_hasuras_bodies() {
    let (hasura, endpoint) = metadata_api().await;
    let client = MetadataClient::new(
        reqwest::Client::new(),
        &endpoint,
        Some(Secret::new(ADMIN_SECRET)),
    );
    let scheduler = Scheduler::new(&client);
    let at = chrono::DateTime::parse_from_rfc3339("2030-05-01T22:00:00.250Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let id = scheduler
        .schedule::<example_default::SendReminder>(
            at,
            &example_default::Reminder {
                message: "m".into(),
            },
        )
        .retry(rasura::registry::CronRetry {
            num_retries: 2,
            retry_interval_seconds: 30,
            timeout_seconds: 60,
            tolerance_seconds: 43200,
        })
        .send()
        .await
        .unwrap();
    assert_eq!(id, ScheduledEventId("event-1".into()));
    let created = hasura.lock().unwrap().requests[0].clone();
    assert_eq!(created["args"]["schedule_at"], "2030-05-01T22:00:00.250Z");
    assert_eq!(
        created["args"]["retry_conf"],
        json!({"num_retries": 2, "retry_interval_seconds": 30, "timeout_seconds": 60, "tolerance_seconds": 43200})
    );
    assert!(created["args"].get("comment").is_none());
    // A retry configuration the handler would not answer by is refused before any call.
    let refused = scheduler
        .schedule::<example_default::SendReminder>(
            at,
            &example_default::Reminder {
                message: "m".into(),
            },
        )
        .retry(rasura::registry::CronRetry {
            num_retries: 1,
            retry_interval_seconds: 30,
            timeout_seconds: 20,
            tolerance_seconds: 600,
        })
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, SchedulerError::Retry(m) if m.contains("needs the same num_retries")),
        "{refused}"
    );
    assert_eq!(hasura.lock().unwrap().requests.len(), 1);

    let page = scheduler
        .list(&ListScheduled {
            limit: 10,
            offset: 0,
            status: vec!["scheduled".into()],
        })
        .await
        .unwrap();
    assert_eq!(page.count, Some(1));
    assert_eq!(page.events[0].id, id);
    assert_eq!(page.events[0].status, "scheduled");
    assert_eq!(page.events[0].payload, json!({"message": "m"}));
    assert_eq!(
        hasura.lock().unwrap().requests[1],
        json!({"type": "get_scheduled_events", "args": {
            "type": "one_off", "limit": 10, "offset": 0, "get_rows_count": true,
            "status": ["scheduled"]}})
    );

    scheduler.cancel(&id).await.unwrap();
    assert_eq!(
        hasura.lock().unwrap().requests[2],
        json!({"type": "delete_scheduled_event", "args": {"type": "one_off", "event_id": "event-1"}})
    );
    // Cancelling it again: Hasura's not-exists, typed.
    let again = scheduler.cancel(&id).await.unwrap_err();
    assert_eq!(
        again,
        SchedulerError::Hasura {
            status: 400,
            code: "not-exists".into(),
            message: "scheduled event event-1 does not exist (at $.args)".into(),
        }
    );
    assert!(!again.is_transient());
    // Hasura unreachable: transient.
    let closed = MetadataClient::new(
        reqwest::Client::new(),
        &url::Url::parse("http://127.0.0.1:9/").unwrap(),
        None,
    );
    let unreachable = Scheduler::new(&closed).cancel(&id).await.unwrap_err();
    assert!(unreachable.is_transient(), "{unreachable}");
}
