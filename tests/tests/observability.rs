//! Spans, request ids and trace ids, captured with a real subscriber; and no secret in logs,
//! errors or `Debug` output.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use rasura::config::Config;
use rasura::security::jwt::JwtConfig;
use rasura::testing::{JwtClaims, TEST_JWT_KEY, TEST_WEBHOOK_SECRET, TestService};
use rasura::{Service, handler};
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};

/// A span's name and recorded fields.
type SpanRecord = (String, HashMap<String, String>);

#[derive(Default, Clone)]
struct Captured {
    spans: Arc<Mutex<HashMap<u64, SpanRecord>>>,
    logs: Arc<Mutex<String>>,
}

struct FieldsVisitor<'a>(&'a mut HashMap<String, String>);

impl Visit for FieldsVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}"));
    }
}

impl<S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>> Layer<S>
    for Captured
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _ctx: Context<'_, S>) {
        let mut fields = HashMap::new();
        attrs.record(&mut FieldsVisitor(&mut fields));
        self.spans
            .lock()
            .unwrap()
            .insert(id.into_u64(), (attrs.metadata().name().to_owned(), fields));
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        if let Some((_, fields)) = self.spans.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut FieldsVisitor(fields));
        }
    }
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = HashMap::new();
        event.record(&mut FieldsVisitor(&mut fields));
        let _ = writeln!(
            self.logs.lock().unwrap(),
            "{} {fields:?}",
            event.metadata().level()
        );
    }
}

impl Captured {
    fn span(&self, name: &str) -> HashMap<String, String> {
        let spans = self.spans.lock().unwrap();
        let found: Vec<_> = spans.values().filter(|(n, _)| n == name).collect();
        assert_eq!(
            found.len(),
            1,
            "expected one `{name}` span, got {:?}",
            spans.values().map(|s| &s.0).collect::<Vec<_>>()
        );
        found[0].1.clone()
    }
}

/// Captures spans and events, and also formats every event with the real fmt layer.
fn capture() -> (
    Captured,
    Arc<Mutex<Vec<u8>>>,
    tracing::subscriber::DefaultGuard,
) {
    let captured = Captured::default();
    let formatted = Arc::new(Mutex::new(Vec::new()));
    let sink = formatted.clone();
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(move || SinkWriter(sink.clone()));
    let subscriber = tracing_subscriber::registry()
        .with(captured.clone())
        .with(fmt);
    let guard = tracing::subscriber::set_default(subscriber);
    (captured, formatted, guard)
}

struct SinkWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for SinkWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn service() -> TestService {
    TestService::new(Service::with_handlers([
        handler!(example_default::ping),
        handler!(example_default::pong),
        handler!(example_default::user_deleted),
    ]))
}

#[tokio::test]
async fn handler_span_is_named_after_the_handler_with_request_and_b3_ids() {
    let (captured, _, _guard) = capture();
    service()
        .action("ping")
        .header("x-request-id", "rid-123")
        .header("X-B3-TraceId", "463ac35c9f6413ad48485a3953bb6124")
        .header("X-B3-SpanId", "a2fb4a1d1a96d312")
        .send()
        .await
        .assert_status(200);
    let span = captured.span("ping");
    assert_eq!(span["kind"], "action");
    assert_eq!(span["request_id"], "rid-123");
    assert_eq!(span["trace_id"], "463ac35c9f6413ad48485a3953bb6124");
    assert_eq!(span["span_id"], "a2fb4a1d1a96d312");
}

#[tokio::test]
async fn traceparent_ids_and_event_ids_are_recorded() {
    let (captured, _, _guard) = capture();
    let s = service();
    let call = s
        .event("user_deleted")
        .table("public.user")
        .delete(json!({"user_id": "u1", "role": "user", "user_phone": "+33", "token": 1}))
        .header(
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        );
    let body = call.body();
    let event_id = body["id"].as_str().unwrap().to_owned();
    s.post("/events/user_deleted")
        .header(
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        )
        .body(body.to_string())
        .send()
        .await
        .assert_status(200);
    let span = captured.span("user_deleted");
    assert_eq!(span["kind"], "event");
    assert_eq!(span["trace_id"], "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(span["span_id"], "b7ad6b7169203331");
    assert_eq!(span["event_id"], event_id);
    assert_eq!(span["request_id"].len(), 32, "a generated request id");
}

#[tokio::test]
async fn failed_authentication_logs_no_secret() {
    let (_, formatted, _guard) = capture();
    let s = service();
    let wrong_secret = "wrong-secret-value-that-must-not-be-logged";
    s.action("ping")
        .secret(wrong_secret)
        .send()
        .await
        .assert_error(401, "access-denied");
    let forged = JwtClaims::new()
        .allowed_roles(["user"])
        .default_role("user")
        .user_id("1")
        .sign_hs256("forged-key-0123456789-0123456789-xx")
        .unwrap();
    let res = s
        .action("pong")
        .role("user")
        .user_id("1")
        .bearer(&forged)
        .input(json!({"message": "m", "number": 1}))
        .send()
        .await;
    res.assert_error(401, "invalid-jwt");
    let logs = String::from_utf8(formatted.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("access-denied") && logs.contains("invalid-jwt"),
        "the failures are logged: {logs}"
    );
    for secret in [
        wrong_secret,
        TEST_WEBHOOK_SECRET,
        TEST_JWT_KEY,
        forged.as_str(),
        forged.split('.').nth(2).unwrap(),
    ] {
        assert!(
            !logs.contains(secret),
            "`{secret}` leaked into the logs: {logs}"
        );
        assert!(
            !String::from_utf8_lossy(&res.body).contains(secret),
            "`{secret}` leaked into a response"
        );
    }
}

#[test]
fn debug_output_shows_no_secret() {
    let hmac = "hmac-key-that-is-secret-0123456789abcdef";
    let config = Config::new("first-secret-value,second-secret-value").with_jwt(
        JwtConfig::from_json(&json!({"type": "HS256", "key": hmac}).to_string()).unwrap(),
    );
    let service =
        Service::with_handlers([handler!(example_default::ping)]).with_config(config.clone());
    let texts = [
        format!("{config:?}"),
        format!("{config:#?}"),
        format!("{:?}", config.webhook_secrets),
        format!("{:?}", config.jwt),
        format!("{service:?}"),
    ];
    for text in &texts {
        for secret in ["first-secret-value", "second-secret-value", hmac] {
            assert!(!text.contains(secret), "`{secret}` in {text}");
        }
    }
    assert!(texts[2].contains("redacted; 2"), "{}", texts[2]);
}

#[test]
fn configuration_errors_show_no_secret() {
    let jwt = json!({"type": "HS256", "key": "short-secret"}).to_string();
    let err = Config::from_lookup(|k| match k {
        "RASURA_WEBHOOK_SECRET" => Some("a-webhook-secret".into()),
        "HASURA_GRAPHQL_JWT_SECRET" => Some(jwt.clone()),
        _ => None,
    })
    .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(
        !text.contains("short-secret") && !text.contains("a-webhook-secret"),
        "{text}"
    );
}

#[tokio::test]
async fn identity_logs_no_password_token_or_key() {
    use rasura::auth::webhook::AuthWebhookConfig;
    use rasura::auth::{IdentityConfig, SigningAlgorithm, SigningKey, SigningKeys};
    let (_, formatted, _guard) = capture();
    let migrations = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/default/hasura/migrations/default");
    let db = rasura::testing::TestDatabase::with_migrations(migrations).await;
    let jwk = SigningKey::generate(SigningAlgorithm::EdDsa, "log-test").unwrap();
    let private_part = jwk["d"].as_str().unwrap().to_owned();
    let webhook = AuthWebhookConfig::from_json(
        &json!({"type": "HS256", "key": TEST_JWT_KEY, "role_mapping": false,
                "default_role": "user"})
        .to_string(),
    )
    .unwrap();
    let identity = IdentityConfig {
        signing_keys: Some(Arc::new(
            SigningKeys::from_json(&json!({"keys": [jwk]}).to_string(), None).unwrap(),
        )),
        webhook: Some(Arc::new(webhook)),
        ..IdentityConfig::default()
    };
    let s = TestService::start(
        Service::with_handlers([
            handler!(example_default::identity::signup),
            handler!(example_default::identity::login),
            handler!(example_default::identity::refresh),
        ])
        .with_config(
            TestService::config()
                .with_database_url(db.url())
                .with_identity(identity),
        ),
    )
    .await;
    let password = "a-password-that-must-not-be-logged";
    let credentials = json!({"username": "logger", "password": password});
    let signed_up = s
        .action("signup")
        .role("anonymous")
        .input(credentials.clone())
        .send()
        .await;
    signed_up.assert_status(200);
    let pair: serde_json::Value = signed_up.json();
    s.action("login")
        .role("anonymous")
        .input(json!({"username": "logger", "password": "a-wrong-password-not-logged"}))
        .send()
        .await
        .assert_error(401, "invalid-credentials");
    let refresh = pair["refresh_token"].as_str().unwrap();
    s.action("refresh")
        .role("anonymous")
        .input(json!({"refresh_token": refresh}))
        .send()
        .await
        .assert_status(200);
    s.action("refresh")
        .role("anonymous")
        .input(json!({"refresh_token": refresh}))
        .send()
        .await
        .assert_error(401, "invalid-refresh-token");
    let valid = s.jwt_for("user", Some("1"));
    s.auth_webhook_get()
        .bearer(&valid)
        .send()
        .await
        .assert_status(200);
    let forged = JwtClaims::new()
        .sign_hs256("forged-key-0123456789-0123456789-xx")
        .unwrap();
    s.auth_webhook_post()
        .bearer(&forged)
        .send()
        .await
        .assert_status(401);
    let logs = String::from_utf8(formatted.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("refresh token reused"),
        "the reuse is logged: {logs}"
    );
    // The audit trail (target `rasura::audit`, field `event`) saw each step.
    for event in [
        "token_issued",
        "login_failed",
        "token_refreshed",
        "refresh_reuse_detected",
        "jwt_rejected",
    ] {
        assert!(
            logs.lines()
                .any(|l| l.contains("rasura::audit") && l.contains(event)),
            "no `{event}` audit event in: {logs}"
        );
    }
    let access = pair["access_token"].as_str().unwrap();
    for secret in [
        password,
        "a-wrong-password-not-logged",
        access,
        access.split('.').nth(2).unwrap(),
        refresh,
        &private_part,
        valid.as_str(),
        forged.as_str(),
        TEST_JWT_KEY,
    ] {
        assert!(
            !logs.contains(secret),
            "`{secret}` leaked into the logs: {logs}"
        );
    }
}
