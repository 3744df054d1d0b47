//! Access control through the real routes: handler-level requirements, rate limits (429 with
//! `Retry-After`, keyed per user, per handler key, per trusted client address), event
//! concurrency limits, and the audit events each refusal leaves.

use std::time::Duration;

use rasura::audit::{AuditKind, MemoryAuditLog};
use rasura::policy::Caller;
use rasura::rate::{RateLimitConfig, RateLimitStore};
use rasura::testing::{TestResponse, TestService};
use rasura::{ActionError, Ctx, Event, EventError, Service, action, event, handler};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Deserialize, rasura::CustomType)]
struct Text {
    text: String,
}

#[derive(Serialize, rasura::CustomType)]
struct Echo {
    text: String,
}

fn is_manager(caller: &Caller<'_>) -> bool {
    caller.role() == Some("manager")
}

fn has_region(caller: &Caller<'_>) -> bool {
    caller.var("x-hasura-region").is_some()
}

#[action(roles = ["manager", "user"], require = [is_manager, has_region])]
async fn managed(_ctx: Ctx, input: Text) -> Result<Echo, ActionError> {
    Ok(Echo { text: input.text })
}

#[action(roles = ["user", "anonymous"], rate = "2/min")]
async fn limited(_ctx: Ctx) -> Result<Echo, ActionError> {
    Ok(Echo { text: "ok".into() })
}

#[derive(Deserialize, rasura::CustomType)]
struct Login {
    username: String,
}

#[action(roles = ["anonymous"], rate = "2/min, burst 2", rate_key = "username")]
async fn keyed(_ctx: Ctx, input: Login) -> Result<Echo, ActionError> {
    Ok(Echo {
        text: input.username,
    })
}

#[event(
    table = "public.item",
    insert,
    retry(num_retries = 1, interval_sec = 7),
    concurrency = 1
)]
async fn slow_item(_ctx: Ctx, _event: Event<serde_json::Value>) -> Result<(), EventError> {
    tokio::time::sleep(Duration::from_millis(400)).await;
    Ok(())
}

fn service(log: &MemoryAuditLog, rate: RateLimitConfig) -> TestService {
    TestService::new(
        Service::with_handlers([
            handler!(managed),
            handler!(limited),
            handler!(keyed),
            handler!(slow_item),
        ])
        .with_config(TestService::config().with_rate_limit(rate))
        .with_audit_sink(log.clone()),
    )
}

fn retry_after(response: &TestResponse) -> u64 {
    let header: u64 = response
        .header("retry-after")
        .expect("a Retry-After header")
        .parse()
        .expect("whole seconds");
    let body: serde_json::Value = response.json();
    assert_eq!(body["extensions"]["retry_after"], header, "{body}");
    assert!(header >= 1);
    header
}

#[tokio::test]
async fn requirements_refuse_before_the_input_is_parsed_and_are_audited() {
    let log = MemoryAuditLog::new();
    let s = service(&log, RateLimitConfig::default());
    // A user fails `is_manager`: 403 even though the input is not what the handler takes.
    let refused = s
        .action("managed")
        .role("user")
        .user_id("u1")
        .input(json!({"not": "the input"}))
        .send()
        .await;
    refused.assert_error(403, "access-denied");
    assert_eq!(refused.message(), "access denied");
    // A manager without a region fails the second requirement.
    s.action("managed")
        .role("manager")
        .input(json!({"text": "hi"}))
        .send()
        .await
        .assert_error(403, "access-denied");
    // Both hold: the handler runs (and now the input is checked).
    let ok = s
        .action("managed")
        .role("manager")
        .session_variable("x-hasura-region", "eu")
        .input(json!({"text": "hi"}))
        .send()
        .await;
    ok.assert_status(200);
    assert_eq!(ok.json::<serde_json::Value>(), json!({"text": "hi"}));
    s.action("managed")
        .role("manager")
        .session_variable("x-hasura-region", "eu")
        .input(json!({"text": 5}))
        .send()
        .await
        .assert_error(400, "validation-failed");

    let denied = log.of_kind(AuditKind::AccessDenied);
    assert_eq!(denied.len(), 2, "{denied:?}");
    assert_eq!(denied[0].handler.as_deref(), Some("managed"));
    assert_eq!(denied[0].permission.as_deref(), Some("is_manager"));
    assert_eq!(denied[0].role.as_deref(), Some("user"));
    assert_eq!(denied[0].user_id.as_deref(), Some("u1"));
    assert!(denied[0].request_id.is_some());
    assert_eq!(denied[1].permission.as_deref(), Some("has_region"));

    // A role the action does not allow is refused (and audited) before any requirement.
    s.action("managed")
        .role("guest")
        .send()
        .await
        .assert_error(403, "access-denied");
    let roles = log.of_kind(AuditKind::AccessDenied);
    assert_eq!(roles.last().unwrap().permission.as_deref(), Some("roles"));
}

#[tokio::test]
async fn over_the_limit_is_429_with_retry_after_per_user() {
    let log = MemoryAuditLog::new();
    let s = service(&log, RateLimitConfig::default());
    let call = |user: &'static str| s.action("limited").role("user").user_id(user).send();
    call("a").await.assert_status(200);
    call("a").await.assert_status(200);
    let limited = call("a").await;
    limited.assert_error(429, "rate-limited");
    // 2 per minute: the next request fits in about 30 s.
    let secs = retry_after(&limited);
    assert!((1..=30).contains(&secs), "{secs}");
    // Another user has their own bucket.
    call("b").await.assert_status(200);
    let audited = log.of_kind(AuditKind::RateLimited);
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].user_id.as_deref(), Some("a"));
    assert_eq!(audited[0].handler.as_deref(), Some("limited"));
    // Each service has its own counters (test services in one process share nothing).
    let other = service(&MemoryAuditLog::new(), RateLimitConfig::default());
    other
        .action("limited")
        .role("user")
        .user_id("a")
        .send()
        .await
        .assert_status(200);
}

#[tokio::test]
async fn a_handler_key_limits_per_username() {
    let s = service(&MemoryAuditLog::new(), RateLimitConfig::default());
    let login = |username: &str| {
        s.action("keyed")
            .role("anonymous")
            .input(json!({ "username": username }))
            .send()
    };
    login("ada").await.assert_status(200);
    login("ada").await.assert_status(200);
    retry_after(login("ada").await.assert_error(429, "rate-limited"));
    login("bob").await.assert_status(200);
    // Malformed input never reaches the limiter or the handler.
    s.action("keyed")
        .role("anonymous")
        .input(json!({"user": "ada"}))
        .send()
        .await
        .assert_error(400, "validation-failed");
    // Attacker-chosen keys of any length are fine (hashed past 128 bytes).
    for i in 0..200 {
        login(&format!("{}{i}", "x".repeat(5000)))
            .await
            .assert_status(200);
    }
}

#[tokio::test]
async fn the_client_address_is_taken_only_from_the_trusted_header() {
    let anonymous = |s: &TestService, address: &'static str| {
        s.action("limited")
            .role("anonymous")
            .header("x-forwarded-for", address)
            .send()
    };
    // Trusted: the last entry (what the load balancer appended) is the key.
    let trusted = service(
        &MemoryAuditLog::new(),
        RateLimitConfig {
            client_address_header: Some(http::HeaderName::from_static("x-forwarded-for")),
            ..RateLimitConfig::default()
        },
    );
    for _ in 0..2 {
        anonymous(&trusted, "1.1.1.1, 10.0.0.1")
            .await
            .assert_status(200);
    }
    // A forged first entry does not give a fresh bucket.
    anonymous(&trusted, "9.9.9.9, 10.0.0.1")
        .await
        .assert_error(429, "rate-limited");
    anonymous(&trusted, "10.0.0.2").await.assert_status(200);
    // Not configured: the header is ignored and anonymous callers share one bucket.
    let untrusted = service(&MemoryAuditLog::new(), RateLimitConfig::default());
    anonymous(&untrusted, "1.1.1.1").await.assert_status(200);
    anonymous(&untrusted, "2.2.2.2").await.assert_status(200);
    anonymous(&untrusted, "3.3.3.3")
        .await
        .assert_error(429, "rate-limited");
}

#[tokio::test]
async fn a_failing_store_fails_open_or_closed() {
    struct Down;
    impl RateLimitStore for Down {
        fn check<'a>(
            &'a self,
            _: &'a str,
            _: &'a rasura::rate::RateLimit,
        ) -> rasura::rate::StoreFuture<'a> {
            Box::pin(async { Err(rasura::rate::StoreError("down".into())) })
        }
    }
    let build = |fail| {
        TestService::new(
            Service::with_handlers([handler!(limited)])
                .with_config(TestService::config().with_rate_limit(RateLimitConfig {
                    fail,
                    ..RateLimitConfig::default()
                }))
                .with_rate_limit_store(Down),
        )
    };
    let open = build(rasura::rate::FailMode::Open);
    for _ in 0..5 {
        open.action("limited")
            .role("user")
            .send()
            .await
            .assert_status(200);
    }
    let closed = build(rasura::rate::FailMode::Closed);
    let refused = closed.action("limited").role("user").send().await;
    refused.assert_error(429, "rate-limit-unavailable");
    assert_eq!(retry_after(&refused), 1);
}

fn item_event(s: &TestService, id: &str) -> rasura::testing::EventRequestBuilder {
    s.event("slow_item")
        .table("public.item")
        .id(id)
        .insert(json!({"id": 1}))
        .delivery(0, 3)
}

#[tokio::test]
async fn event_concurrency_answers_503_with_the_trigger_interval() {
    let s = service(&MemoryAuditLog::new(), RateLimitConfig::default());
    let (first, second) = tokio::join!(item_event(&s, "e1").send(), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        item_event(&s, "e2").send().await
    });
    first.assert_status(200);
    second.assert_error(503, "busy");
    assert_eq!(second.header("retry-after"), Some("7"));
    // The permit is back once the first delivery is answered.
    item_event(&s, "e2").send().await.assert_status(200);
    // On the last try a `busy` with Retry-After would keep the event alive forever: the
    // delivery waits for the permit instead.
    let (first, last) = tokio::join!(item_event(&s, "e3").send(), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        item_event(&s, "e4").delivery(3, 3).send().await
    });
    first.assert_status(200);
    last.assert_status(200);
}

#[tokio::test]
async fn refused_secrets_and_tokens_are_audited_by_class_only() {
    let log = MemoryAuditLog::new();
    let s = TestService::new(
        Service::with_handlers([handler!(managed)])
            .with_config(TestService::config())
            .with_audit_sink(log.clone()),
    );
    s.action("managed")
        .secret("a-forged-secret-value")
        .send()
        .await
        .assert_error(401, "access-denied");
    s.action("managed")
        .without_secret()
        .send()
        .await
        .assert_error(401, "access-denied");
    let events = log.of_kind(AuditKind::WebhookSecretRejected);
    let reasons: Vec<_> = events.iter().map(|e| e.reason).collect();
    assert_eq!(reasons, [Some("invalid"), Some("missing")]);
    assert!(!format!("{:?}", log.events()).contains("a-forged-secret-value"));

    // A `jwt` action refusing a token: the reason class, never the token.
    let log = MemoryAuditLog::new();
    let s = TestService::new(
        Service::with_handlers([handler!(example_default::pong)])
            .with_config(TestService::config())
            .with_audit_sink(log.clone()),
    );
    let forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
    s.action("pong")
        .role("user")
        .user_id("1")
        .bearer(forged)
        .input(json!({"message": "m", "number": 1}))
        .send()
        .await
        .assert_status(401);
    s.action("pong")
        .role("user")
        .user_id("1")
        .input(json!({"message": "m", "number": 1}))
        .send()
        .await
        .assert_status(401);
    let rejected = log.of_kind(AuditKind::JwtRejected);
    assert_eq!(rejected.len(), 2, "{rejected:?}");
    assert_eq!(rejected[0].handler.as_deref(), Some("pong"));
    assert!(
        matches!(
            rejected[0].reason,
            Some("bad-signature" | "invalid" | "claims")
        ),
        "{rejected:?}"
    );
    assert_eq!(rejected[1].reason, Some("missing"));
    assert!(!format!("{:?}", log.events()).contains(forged));
}
