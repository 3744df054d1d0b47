//! Identity over real HTTP, a real PostgreSQL and real keys: the framework's migrations, the
//! auth webhook (Hasura's GET and POST modes) with a test identity provider serving its own JWKS
//! on loopback, token issuing with the service's JWKS, refresh rotation and reuse detection,
//! logout's deny list, key rotation, and the attack list.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rasura::auth::webhook::AuthWebhookConfig;
use rasura::auth::{Grant, IdentityConfig, SigningAlgorithm, SigningKey, SigningKeys, TokenPair};
use rasura::config::Config;
use rasura::db::sqlx;
use rasura::security::jwt::JwtConfig;
use rasura::testing::{TEST_WEBHOOK_SECRET, TestDatabase, TestService};
use rasura::{ActionError, Ctx, Service, action, handler};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A test identity provider: an Ed25519 key whose public JWK set it serves on loopback.
struct Provider {
    keys: SigningKeys,
    url: String,
}

impl Provider {
    async fn start() -> Self {
        let jwk = SigningKey::generate(SigningAlgorithm::EdDsa, "idp-1").unwrap();
        let keys = SigningKeys::from_json(&json!({"keys": [jwk]}).to_string(), None).unwrap();
        let public = keys.public_jwks().to_string();
        let app = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || {
                let public = public.clone();
                async move { ([("content-type", "application/json")], public) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { keys, url }
    }

    fn sign(&self, claims: Value) -> String {
        self.keys.signing_key().sign(&claims)
    }

    /// A valid token for `sub`, valid for an hour.
    fn token(&self, sub: &str) -> String {
        self.sign(json!({"sub": sub, "iat": now() - 10, "exp": now() + 3600,
                         "aud": "rasura-app", "iss": "https://idp.test"}))
    }
}

fn webhook_config(provider: &Provider, extra: Value) -> AuthWebhookConfig {
    let mut config = json!({"jwk_url": provider.url, "audience": "rasura-app",
                            "issuer": "https://idp.test"});
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    AuthWebhookConfig::from_json(&config.to_string()).unwrap()
}

fn identity_config(webhook: AuthWebhookConfig) -> IdentityConfig {
    IdentityConfig {
        webhook: Some(std::sync::Arc::new(webhook)),
        ..IdentityConfig::default()
    }
}

async fn webhook_service(db: &TestDatabase, webhook: AuthWebhookConfig) -> TestService {
    TestService::start(
        Service::with_handlers([]).with_config(
            TestService::config()
                .with_database_url(db.url())
                .with_identity(identity_config(webhook)),
        ),
    )
    .await
}

/// The webhook with its answers (and role rows) cached for `cache`.
async fn cached_webhook_service(
    db: &TestDatabase,
    provider: &Provider,
    cache: Duration,
) -> TestService {
    let mut identity = identity_config(webhook_config(provider, json!({})));
    identity.cache = cache;
    TestService::start(
        Service::with_handlers([]).with_config(
            TestService::config()
                .with_database_url(db.url())
                .with_identity(identity),
        ),
    )
    .await
}

async fn map_role(db: &TestDatabase, subject: &str, role: &str, default: bool, vars: Value) {
    sqlx::query(
        "INSERT INTO rasura_auth.role_mapping (subject, role, is_default, session_variables) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(subject)
    .bind(role)
    .bind(default)
    .bind(vars)
    .execute(db.pool())
    .await
    .unwrap();
}

#[tokio::test]
async fn two_replicas_starting_at_once_apply_the_migrations_once() {
    let db = TestDatabase::create().await;
    let provider = Provider::start().await;
    let start = || {
        Service::with_handlers([]).with_config(
            TestService::config()
                .with_database_url(db.url())
                .with_identity(identity_config(webhook_config(&provider, json!({})))),
        )
    };
    let (a, b) = (start(), start());
    let (ra, rb) = tokio::join!(a.start(), b.start());
    let _ = (ra.unwrap(), rb.unwrap());
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM rasura.schema_migrations")
        .fetch_all(db.pool())
        .await
        .unwrap();
    assert_eq!(versions, [1]);
    // A third start finds nothing to do.
    assert!(
        rasura::migrations::apply(db.pool(), &[rasura::migrations::AUTH])
            .await
            .unwrap()
            .is_empty()
    );
    // Applying the exported Hasura CLI migration to a fresh database records the version too.
    let fresh = TestDatabase::create().await;
    let dir = std::env::temp_dir().join(format!("rasura-export-{}", now_nanos()));
    rasura::migrations::export(&dir, rasura::migrations::MIGRATIONS).unwrap();
    fresh.apply_migrations(&dir).await;
    assert_eq!(
        rasura::migrations::applied(fresh.pool()).await.unwrap(),
        [1, 2, 3]
    );
    std::fs::remove_dir_all(dir).unwrap();
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[tokio::test]
async fn the_webhook_answers_hasura_sessions_from_the_role_mapping_in_get_and_post_modes() {
    let db = TestDatabase::create().await;
    let provider = Provider::start().await;
    let s = webhook_service(
        &db,
        webhook_config(&provider, json!({"unauthorized_role": "anonymous"})),
    )
    .await;
    map_role(
        &db,
        "alice",
        "user",
        true,
        json!({"x-hasura-region": "eu", "x-hasura-level": 3}),
    )
    .await;
    map_role(&db, "alice", "editor", false, json!({})).await;
    let token = provider.token("alice");

    for post in [false, true] {
        let req = || {
            if post {
                s.auth_webhook_post()
            } else {
                s.auth_webhook_get()
            }
        };
        let r = req().bearer(&token).send().await;
        r.assert_status(200);
        let body: Value = r.json();
        assert_eq!(body["X-Hasura-Role"], "user", "{body}");
        assert_eq!(body["X-Hasura-User-Id"], "alice");
        assert_eq!(body["x-hasura-region"], "eu");
        assert_eq!(
            body["x-hasura-level"], "3",
            "non-string values answered as JSON text"
        );
        let age: u64 = body["Cache-Control"].as_str().unwrap()["max-age=".len()..]
            .parse()
            .unwrap();
        assert!(age <= 3600 && age > 3500, "{age}");
        assert!(body["Expires"].as_str().unwrap().ends_with(" GMT"));
        assert!(body.as_object().unwrap().values().all(Value::is_string));

        // A requested role that is one of the subject's rows; one that is not is 401.
        let r = req().bearer(&token).role("editor").send().await;
        assert_eq!(r.json::<Value>()["X-Hasura-Role"], "editor");
        req()
            .bearer(&token)
            .role("admin")
            .send()
            .await
            .assert_error(401, "access-denied");
        // A client-sent user id never overrides the subject.
        let r = req()
            .bearer(&token)
            .header("X-Hasura-User-Id", "bob")
            .send()
            .await;
        assert_eq!(r.json::<Value>()["X-Hasura-User-Id"], "alice");
        // No token: the unauthorized role; a malformed Authorization header is 401.
        let r = req().send().await;
        assert_eq!(r.json::<Value>(), json!({"X-Hasura-Role": "anonymous"}));
        for bad in [
            "Basic YWxhZGRpbjpvcGVuc2VzYW1l",
            "Bearer",
            "bearer x",
            "Bearer a b",
        ] {
            req()
                .header("Authorization", bad)
                .send()
                .await
                .assert_status(401);
        }
    }
    // POST with a batched request and with a null request.
    for request in [
        json!([{"query": "{a}"}, {"query": "{b}"}]),
        Value::Null,
        json!(7),
    ] {
        let r = s
            .auth_webhook_post()
            .bearer(&token)
            .request(request)
            .send()
            .await;
        assert_eq!(r.json::<Value>()["X-Hasura-Role"], "user");
    }
    // Every answer is counted by result, and the cache's hits and misses too.
    let text = String::from_utf8(s.get("/metrics").await.body).unwrap();
    let count = |series: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{series} missing from:\n{text}"))
    };
    assert_eq!(count(r#"rasura_auth_webhook_total{result="denied"}"#), 10.0);
    assert!(count(r#"rasura_auth_webhook_total{result="allowed"}"#) >= 10.0);
    assert!(count("rasura_auth_cache_hits_total") > 0.0);
    assert!(count("rasura_auth_cache_misses_total") > 0.0);
}

#[tokio::test]
async fn a_changed_role_row_is_answered_within_the_cache_lifetime() {
    let db = TestDatabase::create().await;
    let provider = Provider::start().await;
    let s = cached_webhook_service(&db, &provider, Duration::from_secs(1)).await;
    map_role(&db, "erin", "user", true, json!({})).await;
    let token = provider.token("erin");
    let role = || async {
        let r = s.auth_webhook_get().bearer(&token).send().await;
        r.json::<Value>()["X-Hasura-Role"].clone()
    };
    assert_eq!(role().await, "user");
    sqlx::query("UPDATE rasura_auth.role_mapping SET role = 'editor' WHERE subject = 'erin'")
        .execute(db.pool())
        .await
        .unwrap();
    assert_eq!(role().await, "user", "answered from the cache");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        role().await,
        "editor",
        "the change is answered after the cache lifetime"
    );
}

/// The backends whose last statement was the webhook's role lookup.
async fn lookup_backends(db: &TestDatabase) -> Vec<i32> {
    sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
         AND pid <> pg_backend_pid() AND query LIKE 'SELECT subject, role, is_default%' ORDER BY pid",
    )
    .fetch_all(db.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn uncached_lookups_share_one_connection_and_a_dead_one_is_replaced_at_once() {
    let db = TestDatabase::create().await;
    let provider = Provider::start().await;
    let s = cached_webhook_service(&db, &provider, Duration::ZERO).await;
    map_role(&db, "finn", "user", true, json!({})).await;
    let token = provider.token("finn");
    let role = || async {
        let r = s.auth_webhook_get().bearer(&token).send().await;
        r.assert_status(200);
        r.json::<Value>()["X-Hasura-Role"].clone()
    };
    for _ in 0..5 {
        assert_eq!(role().await, "user");
    }
    let backends = lookup_backends(&db).await;
    assert_eq!(
        backends.len(),
        1,
        "one connection served the lookups in turn"
    );
    let terminated: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1, 5000)")
        .bind(backends[0])
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert!(terminated);
    // At once (a connection idle for under a second is not pinged first): the lookup finds its
    // connection dead and runs again on a new one, so the caller sees nothing.
    assert_eq!(role().await, "user");
    let after = lookup_backends(&db).await;
    assert_eq!(after.len(), 1, "{after:?}");
    assert_ne!(after[0], backends[0]);
}

#[tokio::test]
async fn concurrent_uncached_lookups_each_get_their_own_fresh_rows() {
    let db = TestDatabase::create().await;
    let provider = Provider::start().await;
    let s = cached_webhook_service(&db, &provider, Duration::ZERO).await;
    // 40 subjects, each with its own default role and variable; 10 have a second role.
    for i in 0..40 {
        let subject = format!("user-{i}");
        map_role(
            &db,
            &subject,
            &format!("role-{i}"),
            true,
            json!({"x-hasura-n": i}),
        )
        .await;
        if i % 4 == 0 {
            map_role(&db, &subject, "zz-extra", false, json!({})).await;
        }
    }
    let tokens: Vec<String> = (0..40)
        .map(|i| provider.token(&format!("user-{i}")))
        .collect();
    // 200 requests at once (each subject five times, some asking for a role): they queue behind
    // the lookups in flight and share statements, and no answer is another subject's. (Kept to
    // what a debug build answers well within the lookups' 5 s limit beside the other tests.)
    let requests = (0..200).map(|n| {
        let (i, token, s) = (n % 40, &tokens[n % 40], &s);
        async move {
            let ask_extra = i % 4 == 0 && n % 3 == 0;
            let mut req = s.auth_webhook_get().bearer(token);
            if ask_extra {
                req = req.role("zz-extra");
            }
            let r = req.send().await;
            r.assert_status(200);
            let body: Value = r.json();
            assert_eq!(body["X-Hasura-User-Id"], format!("user-{i}"), "{body}");
            if ask_extra {
                assert_eq!(body["X-Hasura-Role"], "zz-extra", "{body}");
            } else {
                assert_eq!(body["X-Hasura-Role"], format!("role-{i}"), "{body}");
                assert_eq!(body["x-hasura-n"], i.to_string(), "{body}");
            }
        }
    });
    futures_util::future::join_all(requests).await;
    // Subjects with no rows (and no Hasura claims), one with a NUL (which Postgres text cannot
    // hold), among 60 concurrent requests of known subjects: refused, the others answered.
    let strangers = [
        provider.token("stranger"),
        provider.token("nul\u{0}subject"),
    ];
    let mixed = (0..62).map(|n| {
        let s = &s;
        let token = if n < 2 {
            &strangers[n]
        } else {
            &tokens[n % 40]
        };
        async move { (n, s.auth_webhook_get().bearer(token).send().await) }
    });
    for (n, r) in futures_util::future::join_all(mixed).await {
        if n < 2 {
            r.assert_error(401, "access-denied");
        } else {
            assert_eq!(
                r.json::<Value>()["X-Hasura-Role"],
                format!("role-{}", n % 40)
            );
        }
    }
    // Batching is not caching: a change is answered by the next request.
    sqlx::query("UPDATE rasura_auth.role_mapping SET role = 'changed' WHERE subject = 'user-1'")
        .execute(db.pool())
        .await
        .unwrap();
    let r = s.auth_webhook_get().bearer(&tokens[1]).send().await;
    assert_eq!(r.json::<Value>()["X-Hasura-Role"], "changed");
}

#[tokio::test]
async fn a_user_written_mapping_replaces_the_table() {
    let provider = Provider::start().await;
    let s = TestService::new(
        Service::with_handlers([])
            .auth_webhook(async |ctx, claims| {
                // The context is a handler's: resources, request id, the client's headers.
                assert!(ctx.headers().contains_key("authorization"));
                match claims.subject.strip_suffix("@staff.test") {
                    Some(_) => Ok(rasura::auth::AuthSession::new("staff", claims.subject)
                        .variable("x-hasura-team", "ops")),
                    None => Err(ActionError::unauthorized("staff only")),
                }
            })
            .with_config(
                TestService::config()
                    .with_identity(identity_config(webhook_config(&provider, json!({})))),
            ),
    );
    let body: Value = s
        .auth_webhook_get()
        .bearer(&provider.token("kim@staff.test"))
        .send()
        .await
        .json();
    assert_eq!(body["X-Hasura-Role"], "staff");
    assert_eq!(body["X-Hasura-User-Id"], "kim@staff.test");
    assert_eq!(body["x-hasura-team"], "ops");
    let r = s
        .auth_webhook_post()
        .bearer(&provider.token("eve@else.test"))
        .send()
        .await;
    r.assert_error(401, "access-denied");
    assert_eq!(r.message(), "staff only");
}

#[tokio::test]
async fn an_unreachable_database_is_a_5xx_not_a_401() {
    let provider = Provider::start().await;
    // A port nothing listens on; the pool connects lazily, so the service starts.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("postgres://postgres@{}/none", closed.local_addr().unwrap());
    drop(closed);
    let s = TestService::new(
        Service::with_handlers([]).with_config(
            TestService::config()
                .with_database_url(&url)
                .with_identity(identity_config(webhook_config(&provider, json!({})))),
        ),
    );
    let r = s
        .auth_webhook_get()
        .bearer(&provider.token("alice"))
        .send()
        .await;
    r.assert_error(503, "unavailable");
    assert!(!r.message().contains("postgres://"));
    // A refused token is still 401: the database is only asked about verified subjects.
    s.auth_webhook_get()
        .bearer("garbage")
        .send()
        .await
        .assert_status(401);
}

#[tokio::test]
async fn subjects_without_rows_fall_back_to_token_claims_then_the_default_role() {
    let db = TestDatabase::create().await;
    let provider = Provider::start().await;
    let strict = webhook_service(&db, webhook_config(&provider, json!({}))).await;
    // Hasura claims in the token.
    let with_claims = provider.sign(
        json!({"sub": "carol", "exp": now() + 60, "aud": "rasura-app",
        "https://hasura.io/jwt/claims": {"x-hasura-allowed-roles": ["viewer"],
            "x-hasura-default-role": "viewer", "x-hasura-org-id": "9"}}),
    );
    let r = strict.auth_webhook_get().bearer(&with_claims).send().await;
    let body: Value = r.json();
    assert_eq!(body["X-Hasura-Role"], "viewer");
    assert_eq!(body["x-hasura-org-id"], "9");
    // No rows, no claims, no default role: 401.
    strict
        .auth_webhook_get()
        .bearer(&provider.token("dave"))
        .send()
        .await
        .assert_error(401, "access-denied");
    let lenient = webhook_service(
        &db,
        webhook_config(
            &provider,
            json!({"default_role": "guest", "subject_claim": "email",
                                          "cache_max_age": 30}),
        ),
    )
    .await;
    let token = provider.sign(json!({"sub": "x", "email": "dave@example.com",
                                     "exp": now() + 3600, "aud": "rasura-app"}));
    let body: Value = lenient
        .auth_webhook_get()
        .bearer(&token)
        .send()
        .await
        .json();
    assert_eq!(body["X-Hasura-Role"], "guest");
    assert_eq!(body["X-Hasura-User-Id"], "dave@example.com");
    assert_eq!(body["Cache-Control"], "max-age=30");
}

#[tokio::test]
async fn the_webhook_refuses_every_forged_or_invalid_token_with_401() {
    let db = TestDatabase::create().await;
    let provider = Provider::start().await;
    let s = webhook_service(&db, webhook_config(&provider, json!({}))).await;
    map_role(&db, "alice", "user", true, json!({})).await;
    let t = now();
    let claims = |extra: Value| {
        let mut c = json!({"sub": "alice", "exp": t + 60, "aud": "rasura-app"});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let other = SigningKeys::from_json(
        &json!({"keys": [SigningKey::generate(SigningAlgorithm::EdDsa, "idp-1").unwrap()]})
            .to_string(),
        None,
    )
    .unwrap();
    let unknown_kid = SigningKeys::from_json(
        &json!({"keys": [SigningKey::generate(SigningAlgorithm::EdDsa, "nope").unwrap()]})
            .to_string(),
        None,
    )
    .unwrap();
    let header = |h: Value| B64.encode(h.to_string());
    let payload = B64.encode(claims(json!({})).to_string());
    // The provider's public key used as an HMAC secret (algorithm confusion).
    let public = provider.keys.public_jwks().to_string();
    let confused = {
        use hmac_sign::sign;
        let signing_input = format!(
            "{}.{payload}",
            header(json!({"alg": "HS256", "kid": "idp-1"}))
        );
        format!(
            "{signing_input}.{}",
            B64.encode(sign(public.as_bytes(), signing_input.as_bytes()))
        )
    };
    let forged = [
        ("expired", provider.sign(claims(json!({"exp": t - 120})))),
        (
            "not yet valid",
            provider.sign(claims(json!({"nbf": t + 600}))),
        ),
        ("future iat", provider.sign(claims(json!({"iat": t + 600})))),
        (
            "wrong audience",
            provider.sign(claims(json!({"aud": "someone-else"}))),
        ),
        (
            "wrong issuer",
            provider.sign(claims(json!({"iss": "https://evil.test"}))),
        ),
        (
            "alg none",
            format!("{}.{payload}.", header(json!({"alg": "none"}))),
        ),
        ("algorithm confusion", confused),
        (
            "another key, same kid",
            other.signing_key().sign(&claims(json!({}))),
        ),
        (
            "unknown kid",
            unknown_kid.signing_key().sign(&claims(json!({}))),
        ),
        ("garbage", "not.a.token".to_owned()),
        ("tampered payload", {
            let good = provider.sign(claims(json!({})));
            let parts: Vec<&str> = good.split('.').collect();
            let evil = B64.encode(claims(json!({"sub": "mallory"})).to_string());
            format!("{}.{evil}.{}", parts[0], parts[2])
        }),
    ];
    for (what, token) in forged {
        let r = s.auth_webhook_get().bearer(&token).send().await;
        assert_eq!(
            r.status,
            401,
            "{what}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let r = s.auth_webhook_post().bearer(&token).send().await;
        assert_eq!(r.status, 401, "{what} (POST)");
        assert!(!r.message().contains(&token), "{what}: the token is echoed");
    }
    // Malformed POST bodies are 400 in Hasura's format, never a 5xx.
    for body in [
        &b"{"[..],
        b"[]",
        br#"{"headers": 1}"#,
        br#"{"headers": {"a": 1}}"#,
        br#"{"headers": {"A": "1", "a": "2"}}"#,
    ] {
        let r = s.post("/auth/webhook").body(body.to_vec()).send().await;
        r.assert_error(400, "parse-failed");
    }
    // A body over RASURA_BODY_LIMIT is 413, read no further.
    let huge = format!(
        r#"{{"headers": {{}}, "request": "{}"}}"#,
        "x".repeat(5 << 20)
    );
    s.post("/auth/webhook")
        .body(huge)
        .send()
        .await
        .assert_error(413, "payload-too-large");
    // An empty POST body is malformed too.
    s.post("/auth/webhook")
        .send()
        .await
        .assert_error(400, "parse-failed");
}

mod hmac_sign {
    /// HMAC-SHA256 (the test forges a token with it).
    pub fn sign(key: &[u8], message: &[u8]) -> Vec<u8> {
        use hmac::Mac as _;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
        mac.update(message);
        mac.finalize().into_bytes().to_vec()
    }
}

// ---- token issuing ----

#[derive(Deserialize, rasura::CustomType)]
struct SubjectArgs {
    subject: String,
}

#[derive(Deserialize, rasura::CustomType)]
struct RefreshArgs {
    refresh_token: String,
}

#[derive(Serialize, rasura::CustomType)]
struct Done {
    ok: bool,
}

#[derive(Deserialize, rasura::CustomType)]
struct Nothing {}

/// Issues a pair for a subject (what `login` does after checking the password).
#[action(mutation, roles = ["anonymous"])]
async fn issue_for(ctx: Ctx, input: SubjectArgs) -> Result<TokenPair, ActionError> {
    let grant = Grant::new(input.subject, "user").claim("x-hasura-org-id", "7");
    Ok(ctx.tokens()?.issue(&grant).await?)
}

#[action(mutation, roles = ["anonymous"])]
async fn refresh_pair(ctx: Ctx, input: RefreshArgs) -> Result<TokenPair, ActionError> {
    Ok(ctx.tokens()?.refresh(&input.refresh_token).await?)
}

#[action(mutation, roles = ["user"], jwt)]
async fn sign_out(ctx: Ctx, input: RefreshArgs) -> Result<Done, ActionError> {
    ctx.tokens()?
        .logout(&input.refresh_token, ctx.jwt_claims())
        .await?;
    Ok(Done { ok: true })
}

/// A `jwt` action: who the verified token says the caller is.
#[action(query, roles = ["user"], jwt)]
async fn whoami(ctx: Ctx, _input: Nothing) -> Result<Value, ActionError> {
    let claims = ctx.jwt_claims().expect("jwt action");
    Ok(json!({"user_id": claims.session.user_id(), "org": claims.session.get("x-hasura-org-id")}))
}

/// Serves the identity handlers over real TCP, verifying `jwt` actions against the service's own
/// `/.well-known/jwks.json` (as Hasura would be configured).
async fn token_service(db: &TestDatabase, keys: Value, signing: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let jwt = JwtConfig::from_json(
        &json!({"jwk_url": format!("{base}/.well-known/jwks.json")}).to_string(),
    )
    .unwrap()
    .with_jwks_min_refresh_interval(Duration::from_millis(1));
    // The auth webhook accepts the service's own tokens too (their Hasura claims give the role).
    let webhook = AuthWebhookConfig::from_json(
        &json!({"jwk_url": format!("{base}/.well-known/jwks.json"), "role_mapping": false})
            .to_string(),
    )
    .unwrap();
    let identity = IdentityConfig {
        signing_keys: Some(std::sync::Arc::new(
            SigningKeys::from_json(&keys.to_string(), Some(signing)).unwrap(),
        )),
        webhook: Some(std::sync::Arc::new(webhook)),
        ..IdentityConfig::default()
    };
    let config = Config::new(TEST_WEBHOOK_SECRET)
        .with_jwt(jwt)
        .with_database_url(db.url())
        .with_identity(identity)
        .with_storage(rasura::storage::StorageLocation::Memory);
    let service = Service::with_handlers([
        handler!(issue_for),
        handler!(refresh_pair),
        handler!(sign_out),
        handler!(whoami),
    ])
    .with_config(config);
    tokio::spawn(async move { service.serve(listener).await });
    base
}

/// Calls action `name` as Hasura would: with `session` and, for `jwt` actions, the client's
/// token.
async fn call_with(
    base: &str,
    name: &str,
    session: Value,
    token: Option<&str>,
    input: Value,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/actions/{name}"))
        .header("x-rasura-webhook-secret", TEST_WEBHOOK_SECRET)
        .json(&json!({"action": {"name": name}, "input": input,
                      "session_variables": session, "request_query": ""}));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn call(
    base: &str,
    name: &str,
    role: &str,
    input: Value,
    token: Option<&str>,
) -> (u16, Value) {
    call_with(base, name, json!({"x-hasura-role": role}), token, input).await
}

/// `refresh_pair` as an anonymous caller.
async fn call_refresh(base: &str, refresh_token: &str) -> (u16, Value) {
    let input = json!({ "refresh_token": refresh_token });
    call(base, "refresh_pair", "anonymous", input, None).await
}

fn with_user(token: &str) -> Value {
    // Hasura forwards the session of the verified token: the user id must agree.
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap()
}

/// Calls a `jwt` action as the token's user (role `user`).
async fn call_as(base: &str, name: &str, token: &str, input: Value) -> (u16, Value) {
    let user = with_user(token)["sub"].as_str().unwrap().to_owned();
    let session = json!({"x-hasura-role": "user", "x-hasura-user-id": user});
    call_with(base, name, session, Some(token), input).await
}

#[tokio::test]
async fn issue_verify_refresh_reuse_and_logout() {
    let db = TestDatabase::create().await;
    let key = SigningKey::generate(SigningAlgorithm::EdDsa, "svc-1").unwrap();
    let base = token_service(&db, json!({"keys": [key]}), "svc-1").await;

    // The published set: public parts only, with a max-age.
    let jwks = reqwest::get(format!("{base}/.well-known/jwks.json"))
        .await
        .unwrap();
    assert!(
        jwks.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
    let jwks: Value = jwks.json().await.unwrap();
    assert_eq!(jwks["keys"][0]["kid"], "svc-1");
    assert!(jwks["keys"][0].get("d").is_none());

    let (status, pair) = call(
        &base,
        "issue_for",
        "anonymous",
        json!({"subject": "u42"}),
        None,
    )
    .await;
    assert_eq!(status, 200, "{pair}");
    assert_eq!(pair["token_type"], "Bearer");
    assert_eq!(pair["expires_in"], 900);
    let access = pair["access_token"].as_str().unwrap();
    let claims = with_user(access);
    assert_eq!(claims["sub"], "u42");
    assert!(claims["iat"].as_u64().unwrap() < now());
    assert!(claims["jti"].is_string());
    let hasura = &claims["https://hasura.io/jwt/claims"];
    assert_eq!(hasura["x-hasura-allowed-roles"], json!(["user"]));
    assert_eq!(hasura["x-hasura-default-role"], "user");
    assert_eq!(hasura["x-hasura-user-id"], "u42");
    let header: Value =
        serde_json::from_slice(&B64.decode(access.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["kid"], "svc-1");
    assert_eq!(header["alg"], "EdDSA");

    // The token works for a `jwt` action verified by the service's own JWKS.
    let (status, me) = call_as(&base, "whoami", access, json!({})).await;
    assert_eq!((status, &me), (200, &json!({"user_id": "u42", "org": "7"})));

    // Refresh rotates; presenting the spent token again revokes the family.
    let first = pair["refresh_token"].as_str().unwrap().to_owned();
    let (status, second) = call_refresh(&base, &first).await;
    assert_eq!(status, 200, "{second}");
    let second_refresh = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, first);
    let (status, reused) = call_refresh(&base, &first).await;
    assert_eq!(status, 401);
    assert_eq!(reused["extensions"]["code"], "invalid-refresh-token");
    let (status, _) = call_refresh(&base, &second_refresh).await;
    assert_eq!(status, 401, "the whole family is revoked after a reuse");
    for unknown in ["", "nope", &"x".repeat(10_000)] {
        let (status, body) = call_refresh(&base, unknown).await;
        assert_eq!(
            (status, body["extensions"]["code"].as_str()),
            (401, Some("invalid-refresh-token"))
        );
    }

    // Logout: the family is revoked and the access token is refused by Rasura from then on.
    let (_, pair) = call(
        &base,
        "issue_for",
        "anonymous",
        json!({"subject": "u43"}),
        None,
    )
    .await;
    let access = pair["access_token"].as_str().unwrap();
    let refresh = pair["refresh_token"].as_str().unwrap();
    let webhook = |token: &str| {
        reqwest::Client::new()
            .get(format!("{base}/auth/webhook"))
            .bearer_auth(token)
            .send()
    };
    let before = webhook(access).await.unwrap();
    assert_eq!(before.status(), 200);
    let before: Value = before.json().await.unwrap();
    assert_eq!(before["X-Hasura-User-Id"], "u43");
    let (status, out) = call_as(&base, "sign_out", access, json!({"refresh_token": refresh})).await;
    assert_eq!((status, out), (200, json!({"ok": true})));
    // The webhook had cached its answer; the deny list still applies at once on this replica.
    assert_eq!(webhook(access).await.unwrap().status(), 401);
    let (status, body) = call_as(&base, "whoami", access, json!({})).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["extensions"]["code"], "invalid-jwt");
    let (status, _) = call_refresh(&base, refresh).await;
    assert_eq!(status, 401);
    let denied: i64 = sqlx::query_scalar("SELECT count(*) FROM rasura_auth.revoked_token")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(denied, 1);
    // Only hashes are stored.
    let stored: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT token_hash FROM rasura_auth.refresh_token")
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert!(stored.iter().all(|h| h.len() == 32));
}

#[tokio::test]
async fn key_rotation_publish_then_switch_then_remove() {
    let db = TestDatabase::create().await;
    let old = SigningKey::generate(SigningAlgorithm::EdDsa, "old").unwrap();
    let new = SigningKey::generate(SigningAlgorithm::Es256, "new").unwrap();
    // 1. Only the old key.
    let base = token_service(&db, json!({"keys": [old]}), "old").await;
    let (_, pair) = call(
        &base,
        "issue_for",
        "anonymous",
        json!({"subject": "r1"}),
        None,
    )
    .await;
    let old_token = pair["access_token"].as_str().unwrap().to_owned();
    // 2. The new key is published, the old one still signs.
    let base = token_service(&db, json!({"keys": [old, new]}), "old").await;
    let jwks: Value = reqwest::get(format!("{base}/.well-known/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    assert_eq!(call_as(&base, "whoami", &old_token, json!({})).await.0, 200);
    // 3. The new key signs; tokens of both keys verify.
    let base = token_service(&db, json!({"keys": [old, new]}), "new").await;
    let (_, pair) = call(
        &base,
        "issue_for",
        "anonymous",
        json!({"subject": "r2"}),
        None,
    )
    .await;
    let new_token = pair["access_token"].as_str().unwrap().to_owned();
    let header: Value =
        serde_json::from_slice(&B64.decode(new_token.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(
        (header["kid"].as_str(), header["alg"].as_str()),
        (Some("new"), Some("ES256"))
    );
    assert_eq!(call_as(&base, "whoami", &old_token, json!({})).await.0, 200);
    assert_eq!(call_as(&base, "whoami", &new_token, json!({})).await.0, 200);
    // 4. The old key is removed: its tokens no longer verify.
    let base = token_service(&db, json!({"keys": [new]}), "new").await;
    assert_eq!(call_as(&base, "whoami", &old_token, json!({})).await.0, 401);
    assert_eq!(call_as(&base, "whoami", &new_token, json!({})).await.0, 200);
}

/// An HS256 token with Hasura's claims for `subject`, identified by `jti`.
fn hs256_token(secret: &str, subject: &str, jti: &str) -> String {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let header = B64.encode(json!({"alg": "HS256", "typ": "JWT"}).to_string());
    let payload = B64.encode(
        json!({"sub": subject, "jti": jti, "exp": exp, "https://hasura.io/jwt/claims": {
            "x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user",
            "x-hasura-user-id": subject, "x-hasura-org-id": "7"}})
        .to_string(),
    );
    let signed = format!("{header}.{payload}");
    let signature = B64.encode(hmac_sign::sign(secret.as_bytes(), signed.as_bytes()));
    format!("{signed}.{signature}")
}

/// Deny-list reads that miss the cache (here there is none) go to Postgres together: many at
/// once, each caller gets its own token's answer, a `jti` Postgres text cannot hold is simply
/// not revoked (not a 503 for its whole batch), and a change is seen by the next request.
#[tokio::test]
async fn concurrent_uncached_deny_list_reads_each_get_their_own_answer() {
    const SECRET: &str = "deny-list-test-hs256-secret-0123456789abcdef";
    let db = TestDatabase::create().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let key = SigningKey::generate(SigningAlgorithm::EdDsa, "svc-1").unwrap();
    let identity = IdentityConfig {
        signing_keys: Some(std::sync::Arc::new(
            SigningKeys::from_json(&json!({"keys": [key]}).to_string(), Some("svc-1")).unwrap(),
        )),
        cache: Duration::ZERO,
        ..IdentityConfig::default()
    };
    let jwt = JwtConfig::from_json(&json!({"type": "HS256", "key": SECRET}).to_string()).unwrap();
    let config = Config::new(TEST_WEBHOOK_SECRET)
        .with_jwt(jwt)
        .with_database_url(db.url())
        .with_identity(identity);
    let service = Service::with_handlers([handler!(whoami)]).with_config(config);
    tokio::spawn(async move { service.serve(listener).await });

    let tokens: Vec<String> = (0..40)
        .map(|i| hs256_token(SECRET, &format!("user-{i}"), &format!("jti-{i}")))
        .collect();
    // Answered once before anything is revoked (the service has also migrated by then).
    let (status, body) = call_as(&base, "whoami", &tokens[1], json!({})).await;
    assert_eq!(
        (status, &body["user_id"]),
        (200, &json!("user-1")),
        "{body}"
    );
    // Logouts on another replica: every even token.
    for i in (0..40).step_by(2) {
        sqlx::query(
            "INSERT INTO rasura_auth.revoked_token (jti, expires_at) \
             VALUES ($1, now() + interval '1 hour')",
        )
        .bind(format!("jti-{i}"))
        .execute(db.pool())
        .await
        .unwrap();
    }
    // 80 calls at once: they share statements, and no answer is another token's.
    let calls = (0..80).map(|n| {
        let (i, token, base) = (n % 40, &tokens[n % 40], &base);
        async move { (i, call_as(base, "whoami", token, json!({})).await) }
    });
    for (i, (status, body)) in futures_util::future::join_all(calls).await {
        if i % 2 == 0 {
            assert_eq!(status, 401, "token {i}: {body}");
            assert_eq!(body["extensions"]["code"], "invalid-jwt", "{body}");
        } else {
            assert_eq!(status, 200, "token {i}: {body}");
            assert_eq!(body["user_id"], format!("user-{i}"), "{body}");
        }
    }
    // A `jti` with a NUL, among others at once: not revoked, and the others still answered.
    let nul = hs256_token(SECRET, "user-nul", "jti\u{0}nul");
    let mixed = (0..21).map(|n| {
        let (token, base) = (if n == 0 { &nul } else { &tokens[n] }, &base);
        async move { (n, call_as(base, "whoami", token, json!({})).await) }
    });
    for (n, (status, body)) in futures_util::future::join_all(mixed).await {
        let expected = if n != 0 && n % 2 == 0 { 401 } else { 200 };
        assert_eq!(status, expected, "call {n}: {body}");
    }
    // Batching is not caching: a lifted revocation is seen by the next request.
    sqlx::query("DELETE FROM rasura_auth.revoked_token WHERE jti = 'jti-2'")
        .execute(db.pool())
        .await
        .unwrap();
    let (status, body) = call_as(&base, "whoami", &tokens[2], json!({})).await;
    assert_eq!(
        (status, &body["user_id"]),
        (200, &json!("user-2")),
        "{body}"
    );
}
