//! `ctx.db()` against a real PostgreSQL (the one `scripts/test.sh` starts; `DATABASE_URL`):
//! the example's Hasura migrations, its event writing to Postgres, transactions that carry the
//! caller's session as Hasura does, start-up and readiness.

use std::path::PathBuf;

use rasura::db::sqlx;
use rasura::service::StartupError;
use rasura::testing::{TestDatabase, TestService};
use rasura::{ActionError, Ctx, Service, action, handler};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

fn migrations() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/default/hasura/migrations/default")
}

fn service(db: &TestDatabase) -> TestService {
    TestService::new(
        Service::with_handlers([
            handler!(example_default::user_role_changed),
            handler!(add_note),
        ])
        .with_config(TestService::config().with_database_url(db.url())),
    )
}

fn user(role: &str) -> Value {
    json!({"user_id": "u1", "role": role, "user_phone": "+33", "token": 3,
        "created_at": "2024-05-01T22:00:00.5+00:00", "updated_at": null,
        "last_message": null})
}

#[tokio::test]
async fn the_example_migrations_create_pysuras_model() {
    let db = TestDatabase::with_migrations(migrations()).await;
    let columns: Vec<(String,)> = sqlx::query_as(
        "SELECT column_name::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name = 'user' ORDER BY ordinal_position",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    let columns: Vec<_> = columns.into_iter().map(|(c,)| c).collect();
    assert_eq!(
        columns,
        [
            "user_id",
            "role",
            "user_phone",
            "token",
            "created_at",
            "updated_at",
            "last_message"
        ]
    );
    let roles: Vec<(String,)> = sqlx::query_as(r#"SELECT value FROM "ENUM_ROLE" ORDER BY value"#)
        .fetch_all(db.pool())
        .await
        .unwrap();
    assert_eq!(
        roles.into_iter().map(|(r,)| r).collect::<Vec<_>>(),
        ["admin", "persona", "user"]
    );
}

#[tokio::test]
async fn the_role_change_event_is_recorded_once() {
    let db = TestDatabase::with_migrations(migrations()).await;
    let s = service(&db);
    let event_id = "7a9e5b3c-8f1d-4c2a-9b6e-0d4f3a2b1c0e";
    for _ in 0..2 {
        // Hasura delivers at least once: the second delivery changes nothing.
        s.event("user_role_changed")
            .table("public.user")
            .update(user("user"), user("admin"))
            .session(json!({"x-hasura-role": "admin", "x-hasura-user-id": "boss"}))
            .id(event_id)
            .send()
            .await
            .assert_status(200);
    }
    let rows: Vec<(String, String, String, Option<String>)> =
        sqlx::query_as("SELECT user_id, old_role, new_role, changed_by_role FROM user_role_change")
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert_eq!(
        rows,
        [(
            "u1".to_owned(),
            "user".to_owned(),
            "admin".to_owned(),
            Some("admin".to_owned())
        )]
    );
}

#[tokio::test]
async fn events_fail_permanently_without_a_database_and_transiently_when_it_is_down() {
    // Not configured: a 500 without Retry-After (Hasura's num_retries bounds it).
    let s = TestService::new(Service::with_handlers([handler!(
        example_default::user_role_changed
    )]));
    let r = s
        .event("user_role_changed")
        .table("public.user")
        .update(user("user"), user("admin"))
        .send()
        .await;
    r.assert_error(500, "not-configured");
    assert_eq!(r.header("retry-after"), None);
    assert!(r.message().contains("DATABASE_URL"), "{}", r.message());

    // Configured but unreachable: a transient failure, retried after a delay.
    let closed = closed_port().await;
    let s = TestService::new(
        Service::with_handlers([handler!(example_default::user_role_changed)]).with_config(
            TestService::config()
                .with_database_url(&format!("postgres://u:pw-secret@127.0.0.1:{closed}/x")),
        ),
    );
    let r = s
        .event("user_role_changed")
        .table("public.user")
        .update(user("user"), user("admin"))
        .delivery(0, 3)
        .send()
        .await;
    r.assert_error(503, "postgres-error");
    assert_eq!(r.header("retry-after"), Some("10"));
    assert!(!r.message().contains("pw-secret"));
}

/// A note written in a transaction that carries the caller's session.
#[derive(Deserialize, rasura::CustomType)]
struct NoteInput {
    text: String,
}

#[derive(Serialize, rasura::CustomType)]
struct NoteOutput {
    id: i64,
}

/// Adds a note in a caller-tagged transaction.
#[action(mutation, roles = ["user"])]
async fn add_note(ctx: Ctx, input: NoteInput) -> Result<NoteOutput, ActionError> {
    let mut tx = ctx.transaction().await?;
    let (id,): (i64,) = sqlx::query_as("INSERT INTO note (text) VALUES ($1) RETURNING id")
        .bind(&input.text)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(NoteOutput { id })
}

#[tokio::test]
async fn a_transaction_carries_the_callers_session_to_triggers() {
    let db = TestDatabase::create().await;
    // What Hasura's event trigger functions read: `current_setting('hasura.user')`.
    sqlx::raw_sql(
        "CREATE TABLE note (id bigserial PRIMARY KEY, text text UNIQUE NOT NULL);
         CREATE TABLE note_event (note_id bigint, session jsonb);
         CREATE FUNCTION capture_session() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           INSERT INTO note_event VALUES (NEW.id, current_setting('hasura.user', true)::jsonb);
           RETURN NEW;
         END $$;
         CREATE TRIGGER note_insert AFTER INSERT ON note
           FOR EACH ROW EXECUTE FUNCTION capture_session();",
    )
    .execute(db.pool())
    .await
    .unwrap();
    let s = service(&db);
    let r = s
        .action("add_note")
        .role("user")
        .user_id("42")
        .session_variable("x-hasura-org-id", "acme")
        .input(json!({"text": "hello"}))
        .send()
        .await;
    r.assert_status(200);
    let id = r.json::<Value>()["id"].as_i64().unwrap();
    let (session,): (Value,) = sqlx::query_as("SELECT session FROM note_event WHERE note_id = $1")
        .bind(id)
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(
        session,
        json!({"x-hasura-role": "user", "x-hasura-user-id": "42", "x-hasura-org-id": "acme"})
    );
    // The setting is local to the transaction: a plain query outside sees none.
    let (outside,): (Option<String>,) =
        sqlx::query_as("SELECT current_setting('hasura.user', true)")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert!(outside.as_deref().is_none_or(str::is_empty), "{outside:?}");

    // A unique violation reaches the caller as Hasura's code, without SQL details.
    let r = s
        .action("add_note")
        .role("user")
        .user_id("42")
        .input(json!({"text": "hello"}))
        .send()
        .await;
    r.assert_error(409, "constraint-violation");
    assert!(!r.message().contains("note_text_key"), "{}", r.message());
}

async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn an_unreachable_database_is_a_clear_start_up_error() {
    let port = closed_port().await;
    let url = format!("postgres://app:start-up-secret@127.0.0.1:{port}/app");
    let err = Service::with_handlers([handler!(example_default::user_role_changed)])
        .with_config(TestService::config().with_database_url(&url))
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, StartupError::Database(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&format!("127.0.0.1:{port}/app")), "{text}");
    assert!(text.contains("cannot connect"), "{text}");
    assert!(!text.contains("start-up-secret"), "{text}");
    assert!(!format!("{err:?}").contains("start-up-secret"));
}

#[tokio::test]
async fn readiness_reports_the_database() {
    let db = TestDatabase::create().await;
    let router = Service::with_handlers([handler!(example_default::user_role_changed)])
        .with_config(TestService::config().with_database_url(db.url()))
        .start()
        .await
        .unwrap();
    let s = TestService::from_router(router, rasura::testing::TEST_WEBHOOK_SECRET);
    let r = s.get("/readyz").await;
    r.assert_status(200);
    assert_eq!(
        r.json::<Value>(),
        json!({"status": "ready", "checks": {"database": "ok", "hasura": "not-configured"}})
    );
    s.get("/healthz").await.assert_status(200);

    let port = closed_port().await;
    let s = TestService::new(
        Service::with_handlers([handler!(example_default::user_role_changed)]).with_config(
            TestService::config().with_database_url(&format!("postgres://u@127.0.0.1:{port}/x")),
        ),
    );
    let r = s.get("/readyz").await;
    r.assert_status(503);
    assert_eq!(
        r.json::<Value>(),
        json!({"status": "not-ready", "checks": {"database": "unreachable", "hasura": "not-configured"}})
    );
    // Liveness does not depend on the database.
    s.get("/healthz").await.assert_status(200);
}

#[tokio::test]
async fn test_databases_are_dropped_with_their_handle() {
    let admin = sqlx::PgPool::connect(&std::env::var("DATABASE_URL").unwrap())
        .await
        .unwrap();
    let exists = |name: String| {
        let admin = admin.clone();
        async move {
            sqlx::query_scalar::<_, bool>(
                "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
            )
            .bind(name)
            .fetch_one(&admin)
            .await
            .unwrap()
        }
    };
    let db = TestDatabase::with_migrations(migrations()).await;
    let name = db.name().to_owned();
    // An open connection does not keep it alive.
    let held = db.pool().acquire().await.unwrap();
    assert!(exists(name.clone()).await);
    drop(db);
    assert!(!exists(name).await, "the test database outlived its handle");
    drop(held);
}

#[tokio::test]
async fn a_full_audit_queue_drops_and_counts_without_blocking() {
    use rasura::audit::postgres::PostgresAuditSink;
    use rasura::audit::{AuditEvent, AuditKind, AuditSink};
    let db = TestDatabase::create().await;
    rasura::migrations::apply(db.pool(), &[rasura::migrations::AUDIT])
        .await
        .unwrap();
    let sink = PostgresAuditSink::with_capacity(db.pool().clone(), 4);
    // Recorded in one burst, without yielding: the writer cannot drain the queue meanwhile.
    for i in 0..1000 {
        sink.record(&AuditEvent::new(AuditKind::RateLimited).user_id(&format!("u{i}")));
    }
    assert!(sink.dropped() >= 990, "dropped {}", sink.dropped());
    // Every event is accounted for: written or counted as dropped.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while sink.written() + sink.dropped() < 1000 {
        assert!(std::time::Instant::now() < deadline, "{sink:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM rasura_audit.event")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(rows as u64, sink.written());
    assert!(rows >= 1);

    // Events anyone can cause (refused secrets) fill at most a quarter of the queue: a flood of
    // them leaves room for the others.
    let crowded = PostgresAuditSink::with_capacity(db.pool().clone(), 8);
    for _ in 0..100 {
        crowded.record(&AuditEvent::new(AuditKind::WebhookSecretRejected).reason("invalid"));
    }
    for i in 0..6 {
        crowded.record(&AuditEvent::new(AuditKind::AccessDenied).user_id(&format!("d{i}")));
    }
    assert_eq!(
        crowded.dropped(),
        98,
        "2 secret refusals queued, 6 denials kept"
    );
    crowded.flush().await;
    let denials: i64 =
        sqlx::query_scalar("SELECT count(*) FROM rasura_audit.event WHERE event = 'access_denied'")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(denials, 6);

    // `flush` (called on shutdown) returns once everything recorded before it is written.
    for i in 0..3 {
        sink.record(&AuditEvent::new(AuditKind::Logout).user_id(&format!("f{i}")));
        tokio::task::yield_now().await;
    }
    // (The queue holds 4: three events always fit.)
    sink.flush().await;
    let logouts: i64 =
        sqlx::query_scalar("SELECT count(*) FROM rasura_audit.event WHERE event = 'logout'")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(logouts, 3);
    assert_eq!(sink.written() + sink.dropped(), 1003);
}

/// Pooled connections are pinged before use only after a second idle: a transaction begun on
/// one whose server session ended just after its last use is begun again on another connection,
/// and the caller never sees the dead one.
#[tokio::test]
async fn a_transaction_on_a_connection_that_just_died_begins_on_another() {
    let db = TestDatabase::create().await;
    let url = rasura::config::Secret::new(db.url());
    // One connection, so the next transaction gets the same one back.
    let pool = rasura::db::connect(&url, 1).await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&pool)
        .await
        .unwrap();
    let terminated: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1, 5000)")
        .bind(pid)
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert!(terminated);
    let session: rasura::protocol::SessionVariables =
        [("x-hasura-role", "user"), ("x-hasura-user-id", "7")]
            .into_iter()
            .collect();
    let mut tx = rasura::db::begin_as(&pool, &session)
        .await
        .expect("begun on a new connection");
    let (new_pid, seen): (i32, String) =
        sqlx::query_as("SELECT pg_backend_pid(), current_setting('hasura.user')")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_ne!(new_pid, pid);
    assert!(seen.contains("\"x-hasura-user-id\":\"7\""), "{seen}");
    tx.commit().await.unwrap();
}
