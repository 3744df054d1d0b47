//! The example's access policies over HTTP with a real PostgreSQL: videos (admins; managers of
//! the video's region), schools (admins, the school's own educators; students denied even with
//! a matching school id), 404 for missing rows, the audit trail in `rasura_audit.event`, and
//! the rate limit of `login` per username.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rasura::audit::{AuditKind, MemoryAuditLog};
use rasura::db::sqlx;
use rasura::testing::{TestDatabase, TestService};
use rasura::{Service, handler};
use serde_json::{Value, json};

/// `event`, `handler`, `permission`, `role` of a `rasura_audit.event` row.
type AuditRow = (String, Option<String>, Option<String>, Option<String>);

fn migrations() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("hasura/migrations/default")
}

async fn setup() -> (TestDatabase, TestService, MemoryAuditLog) {
    let db = TestDatabase::with_migrations(migrations()).await;
    sqlx::raw_sql(
        "INSERT INTO public.video (id, title, region) VALUES (1, 'Intro', 'eu'), (2, 'Outro', 'us');
         INSERT INTO public.school (id, name) VALUES (7, 'Seven'), (8, 'Eight');",
    )
    .execute(db.pool())
    .await
    .unwrap();
    let log = MemoryAuditLog::new();
    use example_default::access;
    let service = access::configure(
        Service::with_handlers([
            handler!(access::update_video),
            handler!(access::delete_video),
            handler!(access::update_school),
        ])
        .with_config(
            TestService::config()
                .with_database_url(db.url())
                .with_audit_database(true),
        )
        .with_audit_sink(log.clone()),
    );
    let s = TestService::start(service).await;
    (db, s, log)
}

#[tokio::test]
async fn video_policies_over_http() {
    let (db, s, log) = setup().await;
    let update = |role: &str, region: Option<&str>, id: i64| {
        let mut call = s
            .action("update_video")
            .role(role)
            .user_id("u-1")
            .input(json!({"id": id, "title": format!("by {role}")}));
        if let Some(region) = region {
            call = call.session_variable("x-hasura-region", region);
        }
        call.send()
    };
    let admin = update("admin", None, 2).await;
    admin.assert_status(200);
    assert_eq!(
        admin.json::<Value>(),
        json!({"id": 2, "title": "by admin", "region": "us"})
    );
    update("manager", Some("eu"), 1).await.assert_status(200);
    // A manager of another region, one without a region, and a user: denied, and the answer
    // says nothing about the rule or the video.
    for (role, region) in [
        ("manager", Some("us")),
        ("manager", None),
        ("user", Some("eu")),
    ] {
        let denied = update(role, region, 1).await;
        denied.assert_error(403, "access-denied");
        assert_eq!(denied.message(), "access denied");
        assert!(!String::from_utf8_lossy(&denied.body).contains("eu"));
    }
    let title: String = sqlx::query_scalar("SELECT title FROM public.video WHERE id = 1")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(title, "by manager");
    update("admin", None, 99)
        .await
        .assert_error(404, "not-exists");

    let delete = |role: &str| {
        s.action("delete_video")
            .role(role)
            .session_variable("x-hasura-region", "eu")
            .input(json!({"id": 1}))
            .send()
    };
    delete("manager").await.assert_error(403, "access-denied");
    let deleted = delete("admin").await;
    deleted.assert_status(200);
    assert_eq!(deleted.json::<Value>(), json!({"id": 1}));
    delete("admin").await.assert_error(404, "not-exists");

    let denied = log.of_kind(AuditKind::AccessDenied);
    assert_eq!(denied.len(), 4, "{denied:?}");
    assert_eq!(denied[0].handler.as_deref(), Some("update_video"));
    assert_eq!(denied[0].permission.as_deref(), Some("Update"));
    assert_eq!(denied[0].role.as_deref(), Some("manager"));
    assert_eq!(denied[0].user_id.as_deref(), Some("u-1"));
    assert_eq!(denied[3].permission.as_deref(), Some("Delete"));

    // The same events reach rasura_audit.event, written off the request path.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT event, handler, permission, role FROM rasura_audit.event ORDER BY id",
        )
        .fetch_all(db.pool())
        .await
        .unwrap();
        if rows.len() == 4 {
            assert!(rows.iter().all(|r| r.0 == "access_denied"), "{rows:?}");
            assert_eq!(rows[3].2.as_deref(), Some("Delete"));
            break;
        }
        assert!(Instant::now() < deadline, "audit rows: {rows:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn school_policies_over_http() {
    let (_db, s, _log) = setup().await;
    let update = |role: &str, school: Option<&str>, id: i64| {
        let mut call = s
            .action("update_school")
            .role(role)
            .input(json!({"id": id, "name": "Renamed"}));
        if let Some(school) = school {
            call = call.session_variable("x-hasura-school-id", school);
        }
        call.send()
    };
    update("admin", None, 7).await.assert_status(200);
    let educator = update("educator", Some("7"), 7).await;
    educator.assert_status(200);
    assert_eq!(
        educator.json::<Value>(),
        json!({"id": 7, "name": "Renamed"})
    );
    update("educator", Some("8"), 7)
        .await
        .assert_error(403, "access-denied");
    update("educator", None, 7)
        .await
        .assert_error(403, "access-denied");
    // Deny wins: a student of school 7 matches `school:7` but `Deny role:student` applies.
    update("student", Some("7"), 7)
        .await
        .assert_error(403, "access-denied");
    update("admin", None, 404)
        .await
        .assert_error(404, "not-exists");
    // Roles outside the action's list never reach the handler.
    update("manager", None, 7)
        .await
        .assert_error(403, "access-denied");
}

#[tokio::test]
async fn login_is_limited_per_username() {
    let db = TestDatabase::with_migrations(migrations()).await;
    let s = TestService::new(
        Service::with_handlers([handler!(example_default::identity::login)])
            .with_config(TestService::config().with_database_url(db.url())),
    );
    let login = |username: &str| {
        s.action("login")
            .role("anonymous")
            .input(json!({"username": username, "password": "not the password"}))
            .send()
    };
    for _ in 0..5 {
        login("mallory")
            .await
            .assert_error(401, "invalid-credentials");
    }
    let limited = login("mallory").await;
    limited.assert_error(429, "rate-limited");
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!(
        (1..=12).contains(&retry),
        "5 per minute: one every 12 s, got {retry}"
    );
    assert_eq!(limited.json::<Value>()["extensions"]["retry_after"], retry);
    // Padding the name does not give a fresh bucket.
    login(" mallory\t").await.assert_error(429, "rate-limited");
    // Another username is not affected.
    login("trudy")
        .await
        .assert_error(401, "invalid-credentials");
}
