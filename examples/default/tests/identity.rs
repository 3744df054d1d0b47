//! The example's identity over real TCP and a real PostgreSQL: signup → login → pong (verified
//! through the service's own `/.well-known/jwks.json`, as Hasura would be configured) →
//! refresh → reuse → logout, and the exchange of an external provider's token.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rasura::auth::{IdentityConfig, SigningAlgorithm, SigningKey, SigningKeys};
use rasura::config::Config;
use rasura::db::sqlx;
use rasura::security::jwt::JwtConfig;
use rasura::testing::{TEST_WEBHOOK_SECRET, TestDatabase};
use serde_json::{Value, json};

fn migrations() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("hasura/migrations/default")
}

/// A test identity provider: an Ed25519 key whose public set it serves on loopback.
async fn provider() -> (SigningKeys, String) {
    let jwk = SigningKey::generate(SigningAlgorithm::EdDsa, "idp").unwrap();
    let keys = SigningKeys::from_json(&json!({"keys": [jwk]}).to_string(), None).unwrap();
    let public = keys.public_jwks().to_string();
    let app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let public = public.clone();
            async move { public }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (keys, url)
}

/// The example service on real TCP, its `jwt` actions verified by its own published keys.
async fn serve(db: &TestDatabase, exchange_jwks: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let jwt = JwtConfig::from_json(
        &json!({"jwk_url": format!("{base}/.well-known/jwks.json")}).to_string(),
    )
    .unwrap();
    let key = SigningKey::generate(SigningAlgorithm::EdDsa, "svc").unwrap();
    let identity = IdentityConfig {
        signing_keys: Some(Arc::new(
            SigningKeys::from_json(&json!({"keys": [key]}).to_string(), None).unwrap(),
        )),
        exchange_provider: Some(
            JwtConfig::from_json(&json!({"jwk_url": exchange_jwks}).to_string()).unwrap(),
        ),
        ..IdentityConfig::default()
    };
    let config = Config::new(TEST_WEBHOOK_SECRET)
        .with_jwt(jwt)
        .with_database_url(db.url())
        .with_identity(identity)
        .with_storage(rasura::storage::StorageLocation::Memory);
    use example_default::identity;
    let service = rasura::Service::with_handlers([
        rasura::handler!(identity::signup),
        rasura::handler!(identity::login),
        rasura::handler!(identity::refresh),
        rasura::handler!(identity::logout),
        rasura::handler!(identity::exchange_token),
        rasura::handler!(example_default::pong),
    ])
    .with_config(config);
    tokio::spawn(async move { service.serve(listener).await });
    base
}

/// Calls action `name` as Hasura would: `session`, and the client's token for `jwt` actions.
async fn call(
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

async fn anonymous(base: &str, name: &str, input: Value) -> (u16, Value) {
    call(
        base,
        name,
        json!({"x-hasura-role": "anonymous"}),
        None,
        input,
    )
    .await
}

fn claims(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

async fn as_user(base: &str, name: &str, token: &str, input: Value) -> (u16, Value) {
    let user = claims(token)["sub"].as_str().unwrap().to_owned();
    let session = json!({"x-hasura-role": "user", "x-hasura-user-id": user});
    call(base, name, session, Some(token), input).await
}

#[tokio::test]
async fn signup_login_pong_refresh_reuse_logout() {
    let db = TestDatabase::with_migrations(migrations()).await;
    let (_, idp) = provider().await;
    let base = serve(&db, &idp).await;
    let credentials = json!({"username": "ada", "password": "correct horse battery"});

    let (status, signed_up) = anonymous(&base, "signup", credentials.clone()).await;
    assert_eq!(status, 200, "{signed_up}");
    assert_eq!(signed_up["token_type"], "Bearer");
    assert_eq!(signed_up["expires_in"], 900);
    let user_id = claims(signed_up["access_token"].as_str().unwrap())["sub"]
        .as_str()
        .unwrap()
        .to_owned();
    let (role, hash): (String, String) = sqlx::query_as(
        r#"SELECT u.role, a.password_hash FROM public."user" u JOIN public.account a USING (user_id)
           WHERE a.username = 'ada'"#,
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(role, "user");
    assert!(hash.starts_with("$argon2id$") && !hash.contains("correct horse"));

    let (status, body) = anonymous(&base, "signup", credentials.clone()).await;
    assert_eq!(
        (status, body["extensions"]["code"].as_str()),
        (409, Some("username-taken"))
    );
    for (input, code) in [
        (
            json!({"username": "ab", "password": "long enough password"}),
            "invalid-username",
        ),
        (
            json!({"username": "x".repeat(65), "password": "long enough password"}),
            "invalid-username",
        ),
        (
            json!({"username": "bob", "password": "short"}),
            "invalid-password",
        ),
        (
            json!({"username": "bob", "password": "p".repeat(2000)}),
            "invalid-password",
        ),
    ] {
        let (status, body) = anonymous(&base, "signup", input).await;
        assert_eq!(
            (status, body["extensions"]["code"].as_str()),
            (400, Some(code))
        );
    }
    // Only `anonymous` (and admin) may sign up.
    let (status, _) = call(
        &base,
        "signup",
        json!({"x-hasura-role": "user"}),
        None,
        credentials.clone(),
    )
    .await;
    assert_eq!(status, 403);

    // Login; a wrong password and an unknown user are the same error.
    let (status, logged_in) = anonymous(&base, "login", credentials.clone()).await;
    assert_eq!(status, 200, "{logged_in}");
    let access = logged_in["access_token"].as_str().unwrap().to_owned();
    let c = claims(&access);
    assert_eq!(c["sub"], user_id.as_str());
    let hasura = &c["https://hasura.io/jwt/claims"];
    assert_eq!(hasura["x-hasura-allowed-roles"], json!(["user"]));
    assert_eq!(hasura["x-hasura-default-role"], "user");
    assert_eq!(hasura["x-hasura-user-id"], user_id.as_str());
    let wrong = anonymous(
        &base,
        "login",
        json!({"username": "ada", "password": "wrong password!!"}),
    )
    .await;
    let unknown = anonymous(
        &base,
        "login",
        json!({"username": "nobody", "password": "wrong password!!"}),
    )
    .await;
    assert_eq!(wrong, unknown);
    assert_eq!(wrong.0, 401);
    assert_eq!(wrong.1["extensions"]["code"], "invalid-credentials");
    // ... and in about the same time (both run one Argon2 verification).
    let time = |username: &'static str| {
        let base = base.clone();
        async move {
            let t = Instant::now();
            anonymous(
                &base,
                "login",
                json!({"username": username, "password": "wrong password!!"}),
            )
            .await;
            t.elapsed()
        }
    };
    let (known, unknown) = (time("ada").await, time("nobody").await);
    assert!(
        unknown > known / 3 && known > unknown / 3,
        "{known:?} vs {unknown:?}"
    );

    // The login token works for `pong` (a `jwt` action) through the published JWK set.
    let (status, pong) = as_user(
        &base,
        "pong",
        &access,
        json!({"message": "hi", "number": 7}),
    )
    .await;
    assert_eq!((status, pong), (200, json!({"message": "hi", "number": 7})));

    // Refresh rotates; the spent token presented again revokes the family.
    let spent = logged_in["refresh_token"].as_str().unwrap().to_owned();
    let (status, refreshed) = anonymous(&base, "refresh", json!({"refresh_token": spent})).await;
    assert_eq!(status, 200, "{refreshed}");
    let (status, body) = anonymous(&base, "refresh", json!({"refresh_token": spent})).await;
    assert_eq!(
        (status, body["extensions"]["code"].as_str()),
        (401, Some("invalid-refresh-token"))
    );
    let (status, _) = anonymous(
        &base,
        "refresh",
        json!({"refresh_token": refreshed["refresh_token"]}),
    )
    .await;
    assert_eq!(status, 401, "the family is revoked after a reuse");

    // Logout revokes the access token for Rasura and the refresh family.
    let (_, session) = anonymous(&base, "login", credentials).await;
    let access = session["access_token"].as_str().unwrap();
    let (status, out) = as_user(
        &base,
        "logout",
        access,
        json!({"refresh_token": session["refresh_token"]}),
    )
    .await;
    assert_eq!((status, out), (200, json!({"ok": true})));
    let (status, body) =
        as_user(&base, "pong", access, json!({"message": "hi", "number": 1})).await;
    assert_eq!(
        (status, body["extensions"]["code"].as_str()),
        (401, Some("invalid-jwt"))
    );
    let (status, _) = anonymous(
        &base,
        "refresh",
        json!({"refresh_token": session["refresh_token"]}),
    )
    .await;
    assert_eq!(status, 401);
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn exchange_token_issues_the_services_token_from_the_role_mapping() {
    let db = TestDatabase::with_migrations(migrations()).await;
    let (idp, idp_url) = provider().await;
    let base = serve(&db, &idp_url).await;
    // The service applied the rasura_auth migration at start-up (it may still be starting).
    let deadline = Instant::now() + Duration::from_secs(10);
    while rasura::migrations::applied(db.pool())
        .await
        .unwrap()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "migrations not applied");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sqlx::query(
        "INSERT INTO rasura_auth.role_mapping (subject, role, is_default, session_variables) VALUES \
         ('fb-123', 'user', true, '{\"x-hasura-school-id\": \"42\"}'), ('fb-123', 'educator', false, '{}')",
    )
    .execute(db.pool())
    .await
    .unwrap();
    let id_token = idp
        .signing_key()
        .sign(&json!({"sub": "fb-123", "exp": now() + 300}));
    let (status, pair) = anonymous(&base, "exchange_token", json!({"id_token": id_token})).await;
    assert_eq!(status, 200, "{pair}");
    let c = claims(pair["access_token"].as_str().unwrap());
    let hasura = &c["https://hasura.io/jwt/claims"];
    assert_eq!(c["sub"], "fb-123");
    assert_eq!(hasura["x-hasura-user-id"], "fb-123");
    assert_eq!(hasura["x-hasura-default-role"], "user");
    assert_eq!(
        hasura["x-hasura-allowed-roles"],
        json!(["user", "educator"])
    );
    assert_eq!(hasura["x-hasura-school-id"], "42");
    // The issued token works for a `jwt` action.
    let (status, _) = as_user(
        &base,
        "pong",
        pair["access_token"].as_str().unwrap(),
        json!({"message": "m", "number": 1}),
    )
    .await;
    assert_eq!(status, 200);

    // A subject without rows, an expired token, a token of another key, garbage: 401 invalid-jwt.
    let stranger = SigningKeys::from_json(
        &json!({"keys": [SigningKey::generate(SigningAlgorithm::EdDsa, "idp").unwrap()]})
            .to_string(),
        None,
    )
    .unwrap();
    let unknown_kid = SigningKeys::from_json(
        &json!({"keys": [SigningKey::generate(SigningAlgorithm::EdDsa, "other").unwrap()]})
            .to_string(),
        None,
    )
    .unwrap();
    let b64 = |s: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    };
    for token in [
        idp.signing_key()
            .sign(&json!({"sub": "no-rows", "exp": now() + 300})),
        idp.signing_key()
            .sign(&json!({"sub": "fb-123", "exp": now() - 300})),
        stranger
            .signing_key()
            .sign(&json!({"sub": "fb-123", "exp": now() + 300})),
        idp.signing_key()
            .sign(&json!({"sub": "fb-123", "nbf": now() + 300})),
        idp.signing_key()
            .sign(&json!({"sub": "fb-123", "iat": now() + 300})),
        unknown_kid
            .signing_key()
            .sign(&json!({"sub": "fb-123", "exp": now() + 300})),
        format!(
            "{}.{}.",
            b64(r#"{"alg":"none"}"#),
            b64(r#"{"sub":"fb-123"}"#)
        ),
        "garbage".to_owned(),
    ] {
        let (status, body) = anonymous(&base, "exchange_token", json!({"id_token": token})).await;
        assert_eq!(
            (status, body["extensions"]["code"].as_str()),
            (401, Some("invalid-jwt")),
            "{body}"
        );
        assert!(!body.to_string().contains(&token));
    }
}
