//! Deliveries done right, against a real PostgreSQL: `Retry-After` only while retries remain,
//! exponential backoff with bounded jitter, `once` for the whole handler (redeliveries and
//! concurrent duplicates run it once), dead letters from the last retry to replay, and the
//! database down at the last retry (nothing acknowledged). Crons and one-off scheduled events
//! count their attempts in Postgres.

use std::sync::Mutex;
use std::time::Duration;

use rasura::db::sqlx;
use rasura::testing::{TestDatabase, TestResponse, TestService};
use rasura::{Cron, Ctx, Event, EventError, Scheduled, Service, cron, event, handler, scheduled};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Job {
    id: i64,
}

/// Fails transiently (Hasura unreachable, say) every time.
#[event(
    table = "public.job",
    insert,
    retry(num_retries = 4, backoff = "exponential", base_sec = 10, max_sec = 60)
)]
async fn job_backoff(_ctx: Ctx, _event: Event<Job>) -> Result<(), EventError> {
    Err(EventError::new("upstream unavailable")
        .with_status(http::StatusCode::SERVICE_UNAVAILABLE)
        .retry_after(Duration::from_secs(10)))
}

/// Fails with Hasura's fixed interval (no backoff option).
#[event(
    table = "public.job",
    insert,
    retry(num_retries = 2, interval_sec = 30)
)]
async fn job_fixed(_ctx: Ctx, _event: Event<Job>) -> Result<(), EventError> {
    Err(EventError::new("transient")
        .with_status(http::StatusCode::SERVICE_UNAVAILABLE)
        .retry_after(Duration::from_secs(5)))
}

/// Rejects every delivery as permanent.
#[event(
    table = "public.job",
    insert,
    retry(num_retries = 3, backoff = "exponential")
)]
async fn job_rejected(_ctx: Ctx, _event: Event<Job>) -> Result<(), EventError> {
    Err(EventError::rejected("this job can never succeed"))
}

/// Never finishes within its timeout.
#[event(
    table = "public.job",
    insert,
    timeout = 1,
    retry(num_retries = 1, interval_sec = 20)
)]
async fn job_slow(_ctx: Ctx, _event: Event<Job>) -> Result<(), EventError> {
    tokio::time::sleep(Duration::from_secs(30)).await;
    Ok(())
}

/// Writes its effect through the delivery's transaction, then fails when the id is negative.
#[event(table = "public.job", insert, once, retry(num_retries = 3))]
async fn job_once(ctx: Ctx, event: Event<Job>) -> Result<(), EventError> {
    let job = event.operation.new_row().expect("an insert");
    {
        let mut tx = ctx.delivery_transaction().await?;
        sqlx::query("INSERT INTO effect (job_id) VALUES ($1)")
            .bind(job.id)
            .execute(&mut *tx)
            .await?;
    }
    // Held open, so a concurrent duplicate has to wait for this delivery.
    tokio::time::sleep(Duration::from_millis(300)).await;
    if job.id < 0 {
        return Err(EventError::new("failed after writing"));
    }
    Ok(())
}

/// The Postgres backend each delivery of `job_backend` wrote through, by delivery id.
static BACKENDS: Mutex<Vec<(String, i32)>> = Mutex::new(Vec::new());

/// Notes its delivery transaction's backend; fails when the id is negative, outlives its
/// timeout when it is 0.
#[event(table = "public.job", insert, once, timeout = 1)]
async fn job_backend(ctx: Ctx, event: Event<Job>) -> Result<(), EventError> {
    let job = event.operation.new_row().expect("an insert");
    let pid: i32 = {
        let mut tx = ctx.delivery_transaction().await?;
        sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut *tx)
            .await?
    };
    BACKENDS.lock().unwrap().push((event.id.clone(), pid));
    if job.id == 0 {
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    if job.id < 0 {
        return Err(EventError::new("failed after writing"));
    }
    Ok(())
}

/// Jobs whose cause of failure is fixed (per id: tests run in parallel).
static FIXED_JOBS: Mutex<Vec<i64>> = Mutex::new(Vec::new());

/// Fails until the test "fixes" it; dead-letters the last failure.
#[event(
    table = "public.job",
    insert,
    once,
    dead_letter,
    retry(num_retries = 2, backoff = "exponential", base_sec = 5, max_sec = 60)
)]
async fn job_dead_letter(ctx: Ctx, event: Event<Job>) -> Result<(), EventError> {
    let job = event.operation.new_row().expect("an insert");
    if !FIXED_JOBS.lock().unwrap().contains(&job.id) {
        return Err(EventError::new("the mail server refused"));
    }
    let mut tx = ctx.delivery_transaction().await?;
    sqlx::query("INSERT INTO effect (job_id) VALUES ($1)")
        .bind(job.id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// `ctx.once` on the delivery's own id inside a `once` handler: a clear error, not a wait on
/// its own record.
#[event(table = "public.job", insert, once, timeout = 5)]
async fn job_nested_once(ctx: Ctx, event: Event<Job>) -> Result<(), EventError> {
    ctx.once(&event.id, async |_tx| Ok::<_, EventError>(()))
        .await?;
    Ok(())
}

/// Without `once`: `ctx.delivery_transaction()` is a clear, permanent error.
#[event(table = "public.job", insert)]
async fn job_no_once(ctx: Ctx, _event: Event<Job>) -> Result<(), EventError> {
    let _tx = ctx.delivery_transaction().await?;
    Ok(())
}

/// A cron without a retry counter: attempts are counted in Postgres.
#[cron(
    schedule = "0 * * * *",
    dead_letter,
    retry(
        num_retries = 2,
        retry_interval_seconds = 10,
        backoff = "exponential",
        base_sec = 10,
        max_sec = 40
    )
)]
async fn hourly_failing(_ctx: Ctx, _tick: Cron<()>) -> Result<(), EventError> {
    Err(EventError::new("the report service is down"))
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Reminder {
    message: String,
}

/// A one-off event handler with `once`: writes the message once per event id.
#[scheduled(once, dead_letter, retry(num_retries = 1))]
async fn remind(ctx: Ctx, event: Scheduled<Reminder>) -> Result<(), EventError> {
    let mut tx = ctx.delivery_transaction().await?;
    sqlx::query("INSERT INTO reminder (event_id, message) VALUES ($1, $2)")
        .bind(&event.id)
        .bind(&event.payload.message)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

async fn setup() -> (TestDatabase, TestService) {
    let db = TestDatabase::create().await;
    for ddl in [
        "CREATE TABLE effect (job_id bigint NOT NULL)",
        "CREATE TABLE reminder (event_id text NOT NULL, message text NOT NULL)",
    ] {
        sqlx::query(ddl).execute(db.pool()).await.unwrap();
    }
    let service = TestService::new(
        Service::with_handlers([
            handler!(job_backoff),
            handler!(job_fixed),
            handler!(job_rejected),
            handler!(job_slow),
            handler!(job_once),
            handler!(job_backend),
            handler!(job_dead_letter),
            handler!(job_no_once),
            handler!(job_nested_once),
            handler!(hourly_failing),
            handler!(remind),
        ])
        .with_config(TestService::config().with_database_url(db.url())),
    );
    (db, service)
}

fn job(s: &TestService, trigger: &str, id: i64) -> rasura::testing::EventRequestBuilder {
    s.event(trigger)
        .table("public.job")
        .insert(json!({ "id": id }))
}

fn retry_after(r: &TestResponse) -> Option<u64> {
    r.headers
        .get(http::header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap().parse().unwrap())
}

async fn count(db: &TestDatabase, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(db.pool()).await.unwrap()
}

#[tokio::test]
async fn exponential_backoff_until_the_last_retry_then_no_retry_after() {
    let (_db, s) = setup().await;
    for retry in 0..4u32 {
        let expected = (10u64 << retry).min(60) as f64;
        for _ in 0..5 {
            let r = job(&s, "job_backoff", 1).delivery(retry, 4).send().await;
            r.assert_error(503, "handler-error");
            let secs = retry_after(&r).expect("Retry-After while retries remain") as f64;
            assert!(
                secs >= (expected * 0.8).floor() && secs <= (expected * 1.2).ceil(),
                "retry {retry}: {secs}s, expected {expected}s ± 20%"
            );
        }
    }
    // The last try: Hasura stops only without Retry-After.
    let last = job(&s, "job_backoff", 1).delivery(4, 4).send().await;
    last.assert_error(500, "handler-error");
    assert_eq!(retry_after(&last), None);
    // Even past the counter (a redelivery by hand).
    let past = job(&s, "job_backoff", 1).delivery(9, 4).send().await;
    assert_eq!(retry_after(&past), None);
}

#[tokio::test]
async fn without_backoff_the_handlers_own_delay_is_kept_while_retries_remain() {
    let (_db, s) = setup().await;
    let first = job(&s, "job_fixed", 1).delivery(0, 2).send().await;
    first.assert_status(503);
    assert_eq!(retry_after(&first), Some(5), "the handler's own delay");
    let last = job(&s, "job_fixed", 1).delivery(2, 2).send().await;
    last.assert_status(500);
    assert_eq!(retry_after(&last), None);
}

#[tokio::test]
async fn permanent_failures_never_carry_retry_after() {
    let (_db, s) = setup().await;
    for retry in [0, 1, 3] {
        let r = job(&s, "job_rejected", 1).delivery(retry, 3).send().await;
        r.assert_error(400, "rejected");
        assert_eq!(retry_after(&r), None);
    }
}

#[tokio::test]
async fn a_timeout_is_transient_until_the_last_retry() {
    let (_db, s) = setup().await;
    let first = job(&s, "job_slow", 1).delivery(0, 1).send().await;
    first.assert_error(503, "timeout");
    assert_eq!(retry_after(&first), Some(20));
    let last = job(&s, "job_slow", 1).delivery(1, 1).send().await;
    last.assert_error(500, "timeout");
    assert_eq!(retry_after(&last), None, "must not keep the event alive");
}

#[tokio::test]
async fn once_runs_the_whole_handler_once_per_delivery() {
    let (db, s) = setup().await;
    job(&s, "job_once", 1)
        .id("e-1")
        .send()
        .await
        .assert_status(200);
    let again = job(&s, "job_once", 1).id("e-1").send().await;
    again.assert_status(200);
    assert_eq!(again.json::<Value>()["message"], "already processed");
    assert_eq!(count(&db, "SELECT count(*) FROM effect").await, 1);
    // A failure after writing commits nothing, and is not recorded as processed.
    job(&s, "job_once", -1)
        .id("e-2")
        .delivery(0, 3)
        .send()
        .await
        .assert_status(500);
    assert_eq!(count(&db, "SELECT count(*) FROM effect").await, 1);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM rasura.processed_delivery WHERE id = 'e-2'"
        )
        .await,
        0
    );
}

/// A `once` handler's connection goes back for the next delivery after the handler succeeded
/// or failed (rolled back), and is closed after it timed out (a statement may still have been
/// running); the record of the timed-out delivery is released, so its redelivery runs.
#[tokio::test]
async fn a_once_handlers_connection_is_reused_after_a_failure_and_closed_after_a_timeout() {
    let (db, s) = setup().await;
    let backend = |id: &str| {
        BACKENDS
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|(seen, _)| seen == id)
            .map(|&(_, pid)| pid)
            .expect("the handler ran")
    };
    job(&s, "job_backend", 1)
        .id("b-1")
        .send()
        .await
        .assert_status(200);
    let failed = job(&s, "job_backend", -1).id("b-2").send().await;
    assert_eq!(failed.status.as_u16(), 500);
    job(&s, "job_backend", 1)
        .id("b-3")
        .send()
        .await
        .assert_status(200);
    assert_eq!(backend("b-2"), backend("b-1"), "kept after a success");
    assert_eq!(backend("b-3"), backend("b-1"), "kept after a failure");
    let timed_out = job(&s, "job_backend", 0).id("b-4").send().await;
    assert!(timed_out.status.is_server_error(), "{}", timed_out.status);
    assert_eq!(backend("b-4"), backend("b-1"));
    job(&s, "job_backend", 1)
        .id("b-4")
        .send()
        .await
        .assert_status(200);
    assert_ne!(backend("b-4"), backend("b-1"), "closed after the timeout");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM rasura.processed_delivery WHERE id LIKE 'b-%'"
        )
        .await,
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicates_of_a_once_handler_run_it_once() {
    let (db, s) = setup().await;
    let (a, b, c) = tokio::join!(
        job(&s, "job_once", 7).id("dup").send(),
        job(&s, "job_once", 7).id("dup").send(),
        job(&s, "job_once", 7).id("dup").send(),
    );
    for r in [a, b, c] {
        r.assert_status(200);
    }
    assert_eq!(count(&db, "SELECT count(*) FROM effect").await, 1);
}

#[tokio::test]
async fn the_delivery_transaction_needs_once() {
    let (_db, s) = setup().await;
    let r = job(&s, "job_no_once", 1).delivery(0, 3).send().await;
    r.assert_error(500, "not-configured");
    assert_eq!(retry_after(&r), None);
    assert!(
        r.json::<Value>()["message"]
            .as_str()
            .unwrap()
            .contains("`once`")
    );
}

#[tokio::test]
async fn the_last_failure_is_dead_lettered_then_replayed() {
    let (db, s) = setup().await;
    let delivery = |retry| job(&s, "job_dead_letter", 42).id("dl-1").delivery(retry, 2);
    for retry in 0..2 {
        let r = delivery(retry).send().await;
        r.assert_status(500);
        let secs = retry_after(&r).expect("backoff while retries remain");
        let expected = 5u64 << retry;
        assert!(
            secs * 5 >= expected * 4 && secs * 5 <= expected * 6,
            "{secs}"
        );
    }
    let body = delivery(2).body();
    let last = delivery(2).send().await;
    last.assert_status(200);
    assert_eq!(last.json::<Value>()["message"], "dead-lettered");
    let letters = rasura::dead_letters::list(db.pool(), Some("job_dead_letter"))
        .await
        .unwrap();
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    assert_eq!(letter.id, "dl-1");
    assert_eq!(letter.attempts, 3);
    assert!(letter.error.contains("the mail server refused"));
    assert_eq!(
        letter.payload["event"]["data"]["new"],
        body["event"]["data"]["new"]
    );
    assert_eq!(letter.payload["delivery_info"]["current_retry"], 2);
    assert_eq!(
        count(&db, "SELECT count(*) FROM rasura.processed_delivery").await,
        0,
        "a dead-lettered delivery is not processed"
    );
    let handlers = [handler!(job_dead_letter)];
    // A replay that fails again keeps the letter and counts the attempt.
    let failed = rasura::dead_letters::replay(&s.router(), &handlers, letter).await;
    assert!(failed.unwrap_err().contains("the mail server refused"));
    let kept = rasura::dead_letters::get(db.pool(), "dl-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.attempts, 4);
    // Fixed: the replay runs the handler, records the delivery and deletes the letter.
    FIXED_JOBS.lock().unwrap().push(42);
    rasura::dead_letters::replay(&s.router(), &handlers, &kept)
        .await
        .unwrap();
    assert!(
        rasura::dead_letters::get(db.pool(), "dl-1")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(count(&db, "SELECT count(*) FROM effect").await, 1);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM rasura.processed_delivery WHERE id = 'dl-1'"
        )
        .await,
        1
    );
    // Hasura redelivering it now is acknowledged without running it again.
    delivery(0).send().await.assert_status(200);
    assert_eq!(count(&db, "SELECT count(*) FROM effect").await, 1);
}

#[tokio::test]
async fn dead_letters_can_be_dropped_and_a_replay_needs_a_known_handler() {
    let (db, s) = setup().await;
    let mut letter = rasura::dead_letters::DeadLetter {
        id: "x-1".into(),
        handler: "gone".into(),
        payload: json!({}),
        error: "e".into(),
        attempts: 1,
        failed_at: chrono::Utc::now(),
    };
    let handlers = [handler!(job_dead_letter)];
    let unknown = rasura::dead_letters::replay(&s.router(), &handlers, &letter).await;
    assert!(
        unknown
            .unwrap_err()
            .contains("no event, cron or scheduled handler named `gone`")
    );
    // A stored body that is not Hasura's envelope fails as the pipeline would answer it.
    letter.handler = "job_dead_letter".into();
    let malformed = rasura::dead_letters::replay(&s.router(), &handlers, &letter).await;
    assert!(malformed.unwrap_err().starts_with("HTTP 400"));
    rasura::dead_letters::prepare(db.pool()).await.unwrap();
    assert!(
        !rasura::dead_letters::remove(db.pool(), "x-1")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn the_database_down_at_the_last_retry_acknowledges_nothing() {
    // A database nobody listens on.
    let s = TestService::new(
        Service::with_handlers([handler!(job_dead_letter), handler!(hourly_failing)]).with_config(
            TestService::config().with_database_url("postgres://postgres@127.0.0.1:9/none"),
        ),
    );
    let early = job(&s, "job_dead_letter", 1).delivery(0, 2).send().await;
    early.assert_error(503, "postgres-error");
    assert!(retry_after(&early).is_some());
    let last = job(&s, "job_dead_letter", 1).delivery(2, 2).send().await;
    last.assert_error(503, "postgres-error");
    assert_eq!(retry_after(&last), None, "no retries left");
    // A cron cannot even count its attempt: not acknowledged, retried after the interval.
    let cron = s.cron("hourly_failing").send().await;
    cron.assert_error(503, "postgres-error");
    assert_eq!(retry_after(&cron), Some(10));
}

#[tokio::test]
async fn crons_count_their_attempts_in_postgres() {
    let (db, s) = setup().await;
    let mut delays = Vec::new();
    for _ in 0..2 {
        let r = s.cron("hourly_failing").id("tick-1").send().await;
        r.assert_status(500);
        delays.push(retry_after(&r).expect("retries remain"));
    }
    assert!((8..=12).contains(&delays[0]), "{delays:?}");
    assert!((16..=24).contains(&delays[1]), "{delays:?}");
    let last = s.cron("hourly_failing").id("tick-1").send().await;
    last.assert_status(200);
    assert_eq!(last.json::<Value>()["message"], "dead-lettered");
    let letter = rasura::dead_letters::get(db.pool(), "tick-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(letter.attempts, 3);
    assert_eq!(letter.handler, "hourly_failing");
    assert_eq!(letter.payload["name"], "hourly_failing");
}

#[tokio::test]
async fn scheduled_events_arrive_typed_and_run_once() {
    let (db, s) = setup().await;
    let send = || {
        s.scheduled("remind")
            .id("se-1")
            .comment("from a test")
            .payload(json!({"message": "stand up"}))
            .send()
    };
    send().await.assert_status(200);
    send().await.assert_status(200);
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT event_id, message FROM reminder")
        .fetch_all(db.pool())
        .await
        .unwrap();
    assert_eq!(rows, [("se-1".to_owned(), "stand up".to_owned())]);
}

#[tokio::test]
async fn hostile_scheduled_deliveries_get_hasura_errors() {
    let (db, s) = setup().await;
    let small = TestService::new(
        Service::with_handlers([handler!(remind)])
            .with_config(TestService::config().with_body_limit(1024 * 1024)),
    );
    // Not the envelope: 400, never a dead letter (nothing to replay).
    for body in [
        &b"not json"[..],
        br#"{"id": "x"}"#,
        br#"{"id": 5, "scheduled_time": "2026-01-01T00:00:00Z", "payload": null}"#,
        br#"{"id": "x", "scheduled_time": "yesterday", "payload": null}"#,
    ] {
        s.post("/scheduled/remind")
            .body(body.to_vec())
            .send()
            .await
            .assert_error(400, "parse-failed");
    }
    // A payload of the wrong type is permanent: dead-lettered at once (the handler has
    // `dead_letter`), so Hasura stops.
    let wrong = s
        .scheduled("remind")
        .id("se-bad")
        .payload(json!({"msg": 1}))
        .send()
        .await;
    wrong.assert_status(200);
    let letter = rasura::dead_letters::get(db.pool(), "se-bad")
        .await
        .unwrap()
        .unwrap();
    assert!(letter.error.contains("payload"), "{}", letter.error);
    // Forged: no secret, or an unknown handler.
    s.scheduled("remind")
        .without_secret()
        .send()
        .await
        .assert_error(401, "access-denied");
    s.scheduled("nobody")
        .send()
        .await
        .assert_error(404, "not-exists");
    // Oversized: refused before parsing.
    let huge = format!(
        r#"{{"id":"big","scheduled_time":"2026-01-01T00:00:00Z","payload":{{"message":"{}"}}}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    small
        .post("/scheduled/remind")
        .body(huge.into_bytes())
        .send()
        .await
        .assert_error(413, "payload-too-large");
}

#[tokio::test]
async fn old_records_are_pruned_after_the_retention() {
    let (db, s) = setup().await;
    job(&s, "job_once", 1)
        .id("fresh")
        .send()
        .await
        .assert_status(200);
    job(&s, "job_once", 1)
        .id("stale")
        .send()
        .await
        .assert_status(200);
    sqlx::query(
        "UPDATE rasura.processed_delivery SET processed_at = now() - interval '31 days' \
         WHERE id = 'stale'",
    )
    .execute(db.pool())
    .await
    .unwrap();
    let pruned = rasura::delivery::prune(db.pool(), Duration::from_secs(30 * 24 * 3600))
        .await
        .unwrap();
    assert_eq!(pruned, 1);
    let left: Vec<String> = sqlx::query_scalar("SELECT id FROM rasura.processed_delivery")
        .fetch_all(db.pool())
        .await
        .unwrap();
    assert_eq!(left, ["fresh"]);
    // Past the retention a redelivery runs again (the handler's own keys still protect it).
    job(&s, "job_once", 1)
        .id("stale")
        .send()
        .await
        .assert_status(200);
    assert_eq!(count(&db, "SELECT count(*) FROM effect").await, 3);
}

#[tokio::test]
async fn once_inside_a_once_handler_is_an_error_not_a_deadlock() {
    let (_db, s) = setup().await;
    let started = std::time::Instant::now();
    let r = job(&s, "job_nested_once", 1).delivery(0, 3).send().await;
    r.assert_error(500, "not-configured");
    assert!(
        r.json::<Value>()["message"]
            .as_str()
            .unwrap()
            .contains("ctx.delivery_transaction()")
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "no wait on its own record"
    );
}

#[tokio::test]
async fn a_later_success_deletes_a_stale_dead_letter() {
    let (db, s) = setup().await;
    let delivery = |retry| job(&s, "job_dead_letter", 43).id("dl-2").delivery(retry, 1);
    delivery(0).send().await.assert_status(500);
    delivery(1).send().await.assert_status(200);
    assert!(
        rasura::dead_letters::get(db.pool(), "dl-2")
            .await
            .unwrap()
            .is_some()
    );
    // Fixed, and redelivered from Hasura's console: the letter must not be replayed again.
    FIXED_JOBS.lock().unwrap().push(43);
    delivery(0).send().await.assert_status(200);
    assert!(
        rasura::dead_letters::get(db.pool(), "dl-2")
            .await
            .unwrap()
            .is_none()
    );
}
