//! Event-trigger and cron deliveries: typed operations, acknowledgement only on success,
//! permanent failures without `Retry-After`, transient ones with it.

use std::sync::Mutex;
use std::time::Duration;

use rasura::testing::TestService;
use rasura::{Cron, Ctx, Event, EventError, Operation, Service, cron, event, handler};
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Clone, Deserialize, PartialEq)]
struct Order {
    id: i64,
    status: String,
}

/// Every operation this test's handler saw.
static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Records what it received; fails when told to.
#[event(
    trigger = "order_changed",
    table = "shop.orders",
    insert,
    update(columns = ["status"], payload = ["id", "status"]),
    delete,
    manual,
    retry(num_retries = 5, interval_sec = 7, timeout_sec = 60)
)]
async fn order_changed(ctx: Ctx, event: Event<Order>) -> Result<(), EventError> {
    let who = ctx.identity().user_id().unwrap_or("-").to_owned();
    let line = match &event.operation {
        Operation::Insert { new } if new.status == "fail" => {
            return Err(EventError::new("downstream unavailable"));
        }
        Operation::Insert { new } if new.status == "later" => {
            return Err(EventError::new("rate limited").retry_after(Duration::from_millis(1500)));
        }
        Operation::Insert { new } if new.status == "reject" => {
            return Err(EventError::rejected("not for us"));
        }
        Operation::Insert { new } if new.status == "slow" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            format!("slow {}", new.id)
        }
        Operation::Insert { new } => format!("insert {} by {who}", new.id),
        Operation::Update { old, new } => {
            format!("update {} {}->{}", new.id, old.status, new.status)
        }
        Operation::Delete { old } => format!("delete {}", old.id),
        Operation::Manual { new } => format!("manual {}", new.id),
    };
    SEEN.lock().unwrap().push(format!(
        "{line} retry {}",
        event.delivery_info.current_retry
    ));
    Ok(())
}

/// Panics.
#[event(table = "shop.orders", insert, timeout = 1)]
async fn order_panics(_ctx: Ctx, _event: Event<Order>) -> Result<(), EventError> {
    panic!("bug")
}

/// Sleeps past its timeout.
#[event(table = "shop.orders", insert, timeout = 1, retry(interval_sec = 30))]
async fn order_slow(_ctx: Ctx, _event: Event<Order>) -> Result<(), EventError> {
    tokio::time::sleep(Duration::from_secs(5)).await;
    Ok(())
}

#[derive(Debug, Deserialize)]
struct ReportPayload {
    kind: String,
}

static TICKS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Records its payload.
#[cron(
    name = "eod_reports",
    schedule = "0 22 * * 1-5",
    payload = r#"{"kind": "eod"}"#,
    retry(num_retries = 1, retry_interval_seconds = 5, timeout_seconds = 3)
)]
async fn eod(_ctx: Ctx, tick: Cron<ReportPayload>) -> Result<(), EventError> {
    if tick.payload.kind == "fail" {
        return Err(EventError::new("no data yet").retry_after(Duration::from_secs(60)));
    }
    TICKS
        .lock()
        .unwrap()
        .push(format!("{} {}", tick.name, tick.payload.kind));
    Ok(())
}

/// Sleeps past Hasura's own timeout (3 s), so Rasura answers first.
#[cron(
    schedule = "@hourly",
    retry(timeout_seconds = 3, retry_interval_seconds = 9)
)]
async fn hourly_slow(_ctx: Ctx, _tick: Cron<()>) -> Result<(), EventError> {
    tokio::time::sleep(Duration::from_secs(10)).await;
    Ok(())
}

fn service() -> TestService {
    TestService::new(Service::with_handlers([
        handler!(order_changed),
        handler!(order_panics),
        handler!(order_slow),
        handler!(eod),
        handler!(hourly_slow),
    ]))
}

fn seen(prefix: &str) -> bool {
    SEEN.lock().unwrap().iter().any(|l| l.starts_with(prefix))
}

#[tokio::test]
async fn each_operation_arrives_typed() {
    let s = service();
    let order = |id, status: &str| json!({"id": id, "status": status});
    s.event("order_changed")
        .table("shop.orders")
        .insert(order(1, "new"))
        .session(json!({"x-hasura-role": "user", "x-hasura-user-id": "9"}))
        .send()
        .await
        .assert_status(200);
    s.event("order_changed")
        .table("shop.orders")
        .update(order(2, "new"), order(2, "paid"))
        .delivery(2, 5)
        .send()
        .await
        .assert_status(200);
    s.event("order_changed")
        .table("shop.orders")
        .delete(order(3, "paid"))
        .send()
        .await
        .assert_status(200);
    s.event("order_changed")
        .table("shop.orders")
        .manual(order(4, "new"))
        .send()
        .await
        .assert_status(200);
    assert!(seen("insert 1 by 9 retry 0"));
    assert!(seen("update 2 new->paid retry 2"));
    assert!(seen("delete 3 retry 0"));
    assert!(seen("manual 4 retry 0"));
}

#[tokio::test]
async fn the_exact_hasura_body_is_accepted() {
    // docs/protocol.md §2.1, with a null session and trace context, and an unknown key.
    let body = json!({
        "id": "85558393-c75d-4d2f-9c15-e80591b83894",
        "table": {"schema": "shop", "name": "orders"},
        "trigger": {"name": "order_changed"},
        "event": {"op": "INSERT", "data": {"old": null, "new": {"id": 42, "status": "exact"}},
                  "session_variables": null, "trace_context": null},
        "delivery_info": {"current_retry": 0, "max_retries": 0},
        "created_at": "2018-09-05T07:14:21.601701",
        "something_new": 1
    });
    service()
        .post("/events/order_changed")
        .body(body.to_string())
        .send()
        .await
        .assert_status(200);
    assert!(seen("insert 42 by - retry 0"));
}

#[tokio::test]
async fn handler_failures_are_not_acknowledged() {
    let s = service();
    let res = s
        .event("order_changed")
        .table("shop.orders")
        .insert(json!({"id": 5, "status": "fail"}))
        .send()
        .await;
    res.assert_error(500, "handler-error");
    assert_eq!(res.header("retry-after"), None);
    let res = s
        .event("order_changed")
        .table("shop.orders")
        .insert(json!({"id": 6, "status": "later"}))
        .delivery(0, 3)
        .send()
        .await;
    res.assert_error(500, "handler-error");
    assert_eq!(res.header("retry-after"), Some("2"));
    let res = s
        .event("order_changed")
        .table("shop.orders")
        .insert(json!({"id": 7, "status": "reject"}))
        .send()
        .await;
    res.assert_error(400, "rejected");
    assert_eq!(res.header("retry-after"), None);
}

#[tokio::test]
async fn bad_bodies_are_permanent_failures_without_retry_after() {
    let s = service();
    let res = s.post("/events/order_changed").body("nope").send().await;
    res.assert_error(400, "parse-failed");
    assert_eq!(res.header("retry-after"), None);
    // Rows that do not match the row type.
    let res = s
        .event("order_changed")
        .table("shop.orders")
        .insert(json!({"id": "x"}))
        .send()
        .await;
    res.assert_error(400, "validation-failed");
    assert_eq!(res.header("retry-after"), None);
    // An UPDATE without its old row.
    let mut body = s
        .event("order_changed")
        .table("shop.orders")
        .update(
            json!({"id": 1, "status": "a"}),
            json!({"id": 1, "status": "b"}),
        )
        .body();
    body["event"]["data"]["old"] = json!(null);
    let res = s
        .post("/events/order_changed")
        .body(body.to_string())
        .send()
        .await;
    res.assert_error(400, "validation-failed");
    assert!(res.message().contains("old"));
    // The wrong trigger or table for this route.
    let res = s
        .event("order_changed")
        .table("public.orders")
        .insert(json!({"id": 1, "status": "a"}))
        .send()
        .await;
    res.assert_error(400, "validation-failed");
    let mut body = s
        .event("order_changed")
        .table("shop.orders")
        .insert(json!({"id": 1, "status": "a"}))
        .body();
    body["trigger"]["name"] = json!("other");
    s.post("/events/order_changed")
        .body(body.to_string())
        .send()
        .await
        .assert_error(400, "validation-failed");
}

#[tokio::test]
async fn a_wrong_secret_is_a_401_without_retry_after() {
    let res = service()
        .event("order_changed")
        .table("shop.orders")
        .secret("nope")
        .insert(json!({"id": 1, "status": "a"}))
        .send()
        .await;
    res.assert_error(401, "access-denied");
    assert_eq!(res.header("retry-after"), None);
}

#[tokio::test]
async fn timeouts_are_transient_503_with_retry_after() {
    let res = service()
        .event("order_slow")
        .table("shop.orders")
        .insert(json!({"id": 1, "status": "a"}))
        .delivery(0, 1)
        .send()
        .await;
    res.assert_error(503, "timeout");
    assert_eq!(res.header("retry-after"), Some("30"));
    // At the last retry a Retry-After would keep the event alive forever.
    let res = service()
        .event("order_slow")
        .table("shop.orders")
        .insert(json!({"id": 1, "status": "a"}))
        .delivery(1, 1)
        .send()
        .await;
    res.assert_error(500, "timeout");
    assert_eq!(res.header("retry-after"), None);
}

#[tokio::test]
async fn a_panicking_event_handler_is_500_without_retry_after() {
    let s = service();
    let res = s
        .event("order_panics")
        .table("shop.orders")
        .insert(json!({"id": 1, "status": "a"}))
        .send()
        .await;
    res.assert_error(500, "unexpected");
    assert_eq!(res.header("retry-after"), None);
    s.event("order_changed")
        .table("shop.orders")
        .insert(json!({"id": 8, "status": "after-panic"}))
        .send()
        .await
        .assert_status(200);
}

#[tokio::test]
async fn example_event_reads_the_user_role_change() {
    // Rows as Postgres writes them (`row_to_json`); the row type is generated from the schema.
    let row = |role: &str| {
        json!({"user_id": "u1", "role": role, "user_phone": "+33", "token": 3,
            "created_at": "2024-05-01T22:00:00.5+00:00", "updated_at": null})
    };
    // The handler records the change in Postgres (the example's migrations).
    let db = rasura::testing::TestDatabase::with_migrations(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/default/hasura/migrations/default"
    ))
    .await;
    let s = TestService::new(
        Service::with_handlers([handler!(example_default::user_role_changed)])
            .with_config(TestService::config().with_database_url(db.url())),
    );
    s.event("user_role_changed")
        .table("public.user")
        .update(row("user"), row("admin"))
        .send()
        .await
        .assert_status(200);
    // A role outside the `ENUM_ROLE` enum table is not a valid row.
    s.event("user_role_changed")
        .table("public.user")
        .update(row("user"), row("superuser"))
        .send()
        .await
        .assert_error(400, "validation-failed");
}

#[tokio::test]
async fn cron_runs_with_its_typed_payload() {
    let s = service();
    s.cron("eod_reports")
        .payload(json!({"kind": "eod"}))
        .send()
        .await
        .assert_status(200);
    assert!(
        TICKS
            .lock()
            .unwrap()
            .contains(&"eod_reports eod".to_owned())
    );
    let res = s
        .cron("eod_reports")
        .payload(json!({"kind": "fail"}))
        .send()
        .await;
    res.assert_error(500, "handler-error");
    assert_eq!(res.header("retry-after"), Some("60"));
    let res = s
        .cron("eod_reports")
        .payload(json!({"unexpected": 1}))
        .send()
        .await;
    res.assert_error(400, "validation-failed");
    assert_eq!(res.header("retry-after"), None);
    // A one-off scheduled event's body (no name) is not a cron run.
    let body = json!({"id": "x", "scheduled_time": "2024-05-01T22:00:00Z", "payload": {"kind": "eod"}, "created_at": "2024-05-01T21:59:58Z"});
    s.post("/crons/eod_reports")
        .body(body.to_string())
        .send()
        .await
        .assert_error(400, "parse-failed");
    // The name must match the route.
    let mut body = s.cron("eod_reports").payload(json!({"kind": "eod"})).body();
    body["name"] = json!("other");
    s.post("/crons/eod_reports")
        .body(body.to_string())
        .send()
        .await
        .assert_error(400, "validation-failed");
}

#[tokio::test]
async fn cron_handlers_answer_before_hasuras_timeout() {
    let started = std::time::Instant::now();
    let res = service().cron("hourly_slow").send().await;
    res.assert_error(503, "timeout");
    assert_eq!(res.header("retry-after"), Some("9"));
    // Hasura waits timeout_seconds = 3; Rasura gives up one second earlier.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn event_and_cron_descriptions_feed_the_metadata() {
    use rasura::registry::{Columns, HandlerKind};
    let h = handler!(order_changed);
    let HandlerKind::Event(spec) = &h.kind else {
        panic!("an event")
    };
    assert_eq!(
        (spec.source, spec.schema, spec.table),
        ("default", "shop", "orders")
    );
    let update = spec.update.unwrap();
    assert_eq!(update.columns, Columns::Only(&["status"]));
    assert_eq!(update.payload, Some(Columns::Only(&["id", "status"])));
    assert_eq!(spec.insert.unwrap().columns, Columns::All);
    assert!(spec.manual && spec.delete.is_some());
    assert_eq!(
        (
            spec.retry.num_retries,
            spec.retry.interval_sec,
            spec.retry.timeout_sec
        ),
        (5, 7, 60)
    );
    let h = handler!(eod);
    let HandlerKind::Cron(spec) = &h.kind else {
        panic!("a cron")
    };
    assert_eq!(spec.schedule, "0 22 * * 1-5");
    assert_eq!(spec.payload, Some(r#"{"kind":"eod"}"#));
    assert_eq!(
        (
            spec.retry.num_retries,
            spec.retry.retry_interval_seconds,
            spec.retry.timeout_seconds,
            spec.retry.tolerance_seconds
        ),
        (1, 5, 3, 21600)
    );
    assert_eq!(h.route(), "/crons/eod_reports");
}
