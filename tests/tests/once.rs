//! `ctx.once` against a real PostgreSQL: a redelivery is acknowledged without running the work,
//! a failed attempt leaves nothing recorded, and concurrent duplicates run the work once.

use std::time::Duration;

use rasura::db::sqlx;
use rasura::delivery::Once;
use rasura::testing::{TestDatabase, TestService};
use rasura::{Ctx, Event, EventError, Service, event, handler};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct Item {
    id: i64,
    fail: bool,
}

/// Records one effect per delivery; fails (after writing) when the row says so.
#[event(table = "public.item", insert, retry(num_retries = 3))]
async fn item_added(ctx: Ctx, event: Event<Item>) -> Result<(), EventError> {
    let item = event.operation.new_row().expect("an insert");
    let outcome = ctx
        .once(&event.id, async |tx| {
            // The caller's session, as Hasura's trigger functions read it.
            sqlx::query(
                "INSERT INTO effect (item_id, session) \
                 VALUES ($1, current_setting('hasura.user', true)::jsonb)",
            )
            .bind(item.id)
            .execute(&mut **tx)
            .await?;
            // Held open, so a concurrent duplicate has to wait for this transaction.
            tokio::time::sleep(Duration::from_millis(300)).await;
            if item.fail {
                return Err(EventError::new("the effect failed after writing"));
            }
            Ok(())
        })
        .await?;
    tracing::info!(ran = outcome.ran(), "delivery handled");
    let _ = matches!(outcome, Once::AlreadyProcessed);
    Ok(())
}

async fn setup() -> (TestDatabase, TestService) {
    let db = TestDatabase::create().await;
    sqlx::query("CREATE TABLE effect (item_id bigint NOT NULL, session jsonb)")
        .execute(db.pool())
        .await
        .unwrap();
    let service = TestService::new(
        Service::with_handlers([handler!(item_added)])
            .with_config(TestService::config().with_database_url(db.url())),
    );
    (db, service)
}

/// [`setup`]'s database, served by `handler` alone.
async fn setup_with(handler: &'static rasura::registry::Handler) -> (TestDatabase, TestService) {
    let (db, _) = setup().await;
    let service = TestService::new(
        Service::with_handlers([handler])
            .with_config(TestService::config().with_database_url(db.url())),
    );
    (db, service)
}

async fn effects(db: &TestDatabase) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM effect")
        .fetch_one(db.pool())
        .await
        .unwrap()
}

/// Sessions of the test database sitting inside a transaction between statements.
async fn connections_in_a_transaction(db: &TestDatabase) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap()
}

fn delivery(s: &TestService, id: &str, fail: bool) -> rasura::testing::EventRequestBuilder {
    s.event("item_added")
        .table("public.item")
        .id(id)
        .insert(json!({"id": 1, "fail": fail}))
}

#[tokio::test]
async fn a_redelivery_is_acknowledged_without_running_the_work() {
    let (db, s) = setup().await;
    delivery(&s, "evt-1", false).send().await.assert_status(200);
    delivery(&s, "evt-1", false).send().await.assert_status(200);
    assert_eq!(effects(&db).await, 1);
    // Another delivery id is another effect.
    delivery(&s, "evt-2", false).send().await.assert_status(200);
    assert_eq!(effects(&db).await, 2);
    let recorded: Vec<(String, String)> =
        sqlx::query_as("SELECT handler, id FROM rasura.processed_delivery ORDER BY id")
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert_eq!(
        recorded,
        [
            ("item_added".to_owned(), "evt-1".to_owned()),
            ("item_added".to_owned(), "evt-2".to_owned())
        ]
    );
}

#[tokio::test]
async fn the_work_sees_the_callers_session_in_its_transaction() {
    let (db, s) = setup().await;
    let session = json!({"x-hasura-role": "user", "x-hasura-user-id": "9"});
    delivery(&s, "evt-s", false)
        .session(session.clone())
        .send()
        .await
        .assert_status(200);
    let seen: serde_json::Value = sqlx::query_scalar("SELECT session FROM effect")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(seen, session);
}

#[tokio::test]
async fn a_failed_attempt_commits_nothing_and_the_retry_runs() {
    let (db, s) = setup().await;
    let failed = delivery(&s, "evt-9", true).send().await;
    assert_eq!(failed.status.as_u16(), 500);
    assert_eq!(
        effects(&db).await,
        0,
        "the work's write rolled back with it"
    );
    delivery(&s, "evt-9", false).send().await.assert_status(200);
    assert_eq!(effects(&db).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicates_run_the_work_once() {
    let (db, s) = setup().await;
    let (a, b) = tokio::join!(
        delivery(&s, "evt-dup", false).send(),
        delivery(&s, "evt-dup", false).send()
    );
    a.assert_status(200);
    b.assert_status(200);
    assert_eq!(effects(&db).await, 1);
}

/// The delivery id and the session travel inside the one query that begins the transaction
/// (as literals: a simple query has no parameters); quotes, backslashes and SQL in them are
/// stored as sent, and a redelivery's conflict leaves no connection inside a transaction.
#[tokio::test]
async fn hostile_ids_and_sessions_are_stored_as_sent() {
    let (db, s) = setup().await;
    let hostile = [
        "it's",
        "back\\slash",
        "'); DROP TABLE effect; --",
        "E'\\'",
        "\\\\'\\",
        "$$ $x$ ; COMMIT; BEGIN",
        "line\nbreak\ttab\r",
        "ünïcødé ✓ 𝄞",
    ];
    for (i, id) in hostile.iter().enumerate() {
        let session = json!({"x-hasura-role": "user", "x-hasura-user-id": format!("{id}|{i}")});
        delivery(&s, id, false)
            .session(session.clone())
            .send()
            .await
            .assert_status(200);
        delivery(&s, id, false)
            .session(session)
            .send()
            .await
            .assert_status(200);
    }
    assert_eq!(effects(&db).await, hostile.len() as i64, "once per id");
    let mut recorded: Vec<String> = sqlx::query_scalar("SELECT id FROM rasura.processed_delivery")
        .fetch_all(db.pool())
        .await
        .unwrap();
    recorded.sort();
    let mut expected: Vec<String> = hostile.iter().map(|id| (*id).to_owned()).collect();
    expected.sort();
    assert_eq!(recorded, expected);
    let mut users: Vec<String> =
        sqlx::query_scalar("SELECT session->>'x-hasura-user-id' FROM effect")
            .fetch_all(db.pool())
            .await
            .unwrap();
    users.sort();
    let mut expected: Vec<String> = hostile
        .iter()
        .enumerate()
        .map(|(i, id)| format!("{id}|{i}"))
        .collect();
    expected.sort();
    assert_eq!(users, expected);
    assert_eq!(
        connections_in_a_transaction(&db).await,
        0,
        "no connection left inside a transaction"
    );
}

/// Postgres text cannot hold a NUL (and a simple query would end at one): such an id gets an
/// answer that does not acknowledge it, nothing is recorded, and the service goes on.
#[tokio::test]
async fn an_id_with_a_nul_is_refused_and_the_next_delivery_runs() {
    let (db, s) = setup().await;
    let refused = delivery(&s, "evt\0nul", false).send().await;
    assert!(
        !refused.status.is_success() && refused.status.as_u16() != 503,
        "{}",
        refused.status
    );
    assert_eq!(effects(&db).await, 0);
    delivery(&s, "evt-after", false)
        .send()
        .await
        .assert_status(200);
    assert_eq!(effects(&db).await, 1);
}

/// A duplicate that waits on the first delivery's record and is given up (its request dropped,
/// as a timeout does) must not leave its connection inside a transaction once the first rolls
/// back: that transaction would hold the record, so the redelivery would be skipped (or wait
/// forever) and the work lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_given_up_while_it_waits_leaves_no_transaction_behind() {
    let (db, s) = setup().await;
    // The first holds the record for 300 ms, then fails and rolls back.
    let first = delivery(&s, "evt-gone", true).send();
    let duplicate = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let given_up = tokio::time::timeout(
            Duration::from_millis(100),
            delivery(&s, "evt-gone", false).send(),
        )
        .await;
        assert!(given_up.is_err(), "the duplicate should still be waiting");
    };
    let (first, ()) = tokio::join!(first, duplicate);
    assert_eq!(first.status.as_u16(), 500);
    // The abandoned begin goes on once the first delivery rolls back; then it rolls back too.
    // (Checked after a pause at least: without the fix the stranded transaction appears only
    // once the abandoned insert has gone through.)
    let mut stuck = 0;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        stuck = connections_in_a_transaction(&db).await;
        if stuck == 0 {
            break;
        }
    }
    assert_eq!(stuck, 0, "a connection was left inside a transaction");
    let recorded: i64 =
        sqlx::query_scalar("SELECT count(*) FROM rasura.processed_delivery WHERE id = 'evt-gone'")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(recorded, 0, "nothing committed the abandoned record");
    delivery(&s, "evt-gone", false)
        .send()
        .await
        .assert_status(200);
    assert_eq!(effects(&db).await, 1, "the redelivery ran the work");
}

/// The Postgres backend each run of `backend_noted`'s work used, by delivery id.
static BACKENDS: std::sync::Mutex<Vec<(String, i32)>> = std::sync::Mutex::new(Vec::new());

/// Notes its connection's backend, then writes an effect inside a savepoint it rolls back and
/// one outside it; fails (after writing) when the row says so.
#[event(table = "public.item", insert)]
async fn backend_noted(ctx: Ctx, event: Event<Item>) -> Result<(), EventError> {
    let item = event.operation.new_row().expect("an insert");
    ctx.once(&event.id, async |tx| {
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut **tx)
            .await?;
        BACKENDS.lock().unwrap().push((event.id.clone(), pid));
        let mut savepoint = sqlx::Connection::begin(&mut **tx).await?;
        sqlx::query("INSERT INTO effect (item_id) VALUES (-1)")
            .execute(&mut *savepoint)
            .await?;
        savepoint.rollback().await?;
        sqlx::query("INSERT INTO effect (item_id) VALUES ($1)")
            .bind(item.id)
            .execute(&mut **tx)
            .await?;
        if item.fail {
            return Err(EventError::new("the effect failed after writing"));
        }
        Ok(())
    })
    .await?;
    Ok(())
}

fn noted(s: &TestService, id: &str, fail: bool) -> rasura::testing::EventRequestBuilder {
    s.event("backend_noted")
        .table("public.item")
        .id(id)
        .insert(json!({"id": 7, "fail": fail}))
}

fn backends_of(prefix: &str) -> Vec<i32> {
    BACKENDS
        .lock()
        .unwrap()
        .iter()
        .filter(|(id, _)| id.starts_with(prefix))
        .map(|&(_, pid)| pid)
        .collect()
}

/// A delivery's connection goes back for the next one after a commit, after a duplicate was
/// skipped and after the work failed and rolled back: one connection serves them all in turn.
#[tokio::test]
async fn one_connection_serves_deliveries_in_turn_whatever_they_end_with() {
    let (db, s) = setup_with(handler!(backend_noted)).await;
    noted(&s, "turn-1", false).send().await.assert_status(200);
    noted(&s, "turn-1", false).send().await.assert_status(200);
    assert_eq!(noted(&s, "turn-2", true).send().await.status.as_u16(), 500);
    noted(&s, "turn-3", false).send().await.assert_status(200);
    noted(&s, "turn-2", false).send().await.assert_status(200);
    let backends = backends_of("turn-");
    assert_eq!(
        backends.len(),
        4,
        "the work ran for turn-1, turn-2 twice and turn-3"
    );
    assert!(
        backends.iter().all(|&pid| pid == backends[0]),
        "every delivery began on the same connection: {backends:?}"
    );
    assert_eq!(connections_in_a_transaction(&db).await, 0);
}

/// A transaction begun inside the work is a savepoint of the delivery's transaction: rolling it
/// back keeps the delivery's record and the work's other writes.
#[tokio::test]
async fn a_transaction_begun_inside_the_work_is_a_savepoint() {
    let (db, s) = setup_with(handler!(backend_noted)).await;
    noted(&s, "save-1", false).send().await.assert_status(200);
    let items: Vec<i64> = sqlx::query_scalar("SELECT item_id FROM effect")
        .fetch_all(db.pool())
        .await
        .unwrap();
    assert_eq!(items, [7], "only the write outside the savepoint committed");
    noted(&s, "save-1", false).send().await.assert_status(200);
    assert_eq!(backends_of("save-").len(), 1, "the redelivery was skipped");
    assert_eq!(effects(&db).await, 1);
}

/// Gives up a nested transaction while its `SAVEPOINT` waits (behind a statement given up
/// before it, still running), so sqlx queues a full `ROLLBACK` and counts no transaction open;
/// then returns, failing when the row says so.
#[event(table = "public.item", insert)]
async fn savepoint_given_up(ctx: Ctx, event: Event<Item>) -> Result<(), EventError> {
    let item = event.operation.new_row().expect("an insert");
    ctx.once(&event.id, async |tx| {
        let slow = sqlx::query("SELECT pg_sleep(0.5)").execute(&mut **tx);
        let given_up = tokio::time::timeout(Duration::from_millis(20), slow).await;
        assert!(given_up.is_err(), "the sleep should still be running");
        let nested = sqlx::Connection::begin(&mut **tx);
        let given_up = tokio::time::timeout(Duration::from_millis(50), nested).await;
        assert!(given_up.is_err(), "the savepoint should still wait");
        if item.fail {
            return Err(EventError::new("the work failed"));
        }
        Ok(())
    })
    .await?;
    Ok(())
}

/// A delivery whose work ended the transaction itself is neither committed nor its connection
/// reused (it still holds the record, its `ROLLBACK` unsent): whether the work then succeeds or
/// fails, no session stays inside a transaction and nothing is recorded.
#[tokio::test]
async fn a_transaction_the_work_ended_itself_is_not_reused() {
    let (db, s) = setup_with(handler!(savepoint_given_up)).await;
    for (id, fail) in [("ended-ok", false), ("ended-err", true)] {
        let answer = s
            .event("savepoint_given_up")
            .table("public.item")
            .id(id)
            .insert(json!({"id": 3, "fail": fail}))
            .send()
            .await;
        assert_ne!(answer.status.as_u16(), 200, "{id}: nothing committed");
        let mut stuck = 1;
        for _ in 0..50 {
            stuck = connections_in_a_transaction(&db).await;
            if stuck == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(stuck, 0, "{id}: a connection was left inside a transaction");
    }
    let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM rasura.processed_delivery")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(recorded, 0);
}
