//! JWT verification with Hasura's configuration format: every algorithm and option with a
//! passing and a failing case, the attacks Hasura rejects, and JWKS caching measured by counting
//! fetches on a loopback JWKS server.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use http::{HeaderMap, HeaderValue};
use jsonwebtoken::{Algorithm, EncodingKey};
use rasura::config::Config;
use rasura::security::jwt::{JwtConfig, JwtError, VerifiedClaims};
use rasura::testing::{JwtClaims, TestService};
use rasura::{Service, handler};
use serde_json::{Value, json};

const HMAC: &str = "0123456789abcdef0123456789abcdef-hmac";

fn key(name: &str) -> String {
    std::fs::read_to_string(format!("{}/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn config(value: Value) -> JwtConfig {
    JwtConfig::from_json(&value.to_string()).unwrap_or_else(|e| panic!("{value}: {e}"))
}

fn bearer(token: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    h
}

fn user() -> JwtClaims {
    JwtClaims::new()
        .allowed_roles(["user", "editor"])
        .default_role("user")
        .user_id("42")
}

async fn verify(cfg: &JwtConfig, token: &str) -> Result<VerifiedClaims, JwtError> {
    cfg.verify(&bearer(token)).await
}

#[track_caller]
fn assert_code(result: Result<VerifiedClaims, JwtError>, code: &str) -> JwtError {
    let err = result.expect_err("the token must be refused");
    assert_eq!(err.code(), code, "{err:?}");
    err
}

#[tokio::test]
async fn hs256() {
    let cfg = config(json!({"type": "HS256", "key": HMAC}));
    let claims = verify(&cfg, &user().sign_hs256(HMAC).unwrap())
        .await
        .unwrap();
    assert_eq!(claims.allowed_roles, ["user", "editor"]);
    assert_eq!(claims.default_role, "user");
    assert_eq!(claims.session.user_id(), Some("42"));
    let err = assert_code(
        verify(
            &cfg,
            &user()
                .sign_hs256("another-key-of-32-characters-or-more")
                .unwrap(),
        )
        .await,
        "invalid-jwt",
    );
    assert!(err.message().starts_with("Could not verify JWT"), "{err:?}");
}

#[tokio::test]
async fn hs384_and_hs512() {
    for (name, alg) in [("HS384", Algorithm::HS384), ("HS512", Algorithm::HS512)] {
        let cfg = config(json!({"type": name, "key": HMAC}));
        let token = user()
            .sign(alg, &EncodingKey::from_secret(HMAC.as_bytes()))
            .unwrap();
        verify(&cfg, &token).await.unwrap();
        // A token of another HMAC size is refused.
        assert_code(
            verify(&cfg, &user().sign_hs256(HMAC).unwrap()).await,
            "invalid-jwt",
        );
    }
}

#[tokio::test]
async fn hmac_signatures_are_checked_for_every_size() {
    for (name, alg) in [
        ("HS256", Algorithm::HS256),
        ("HS384", Algorithm::HS384),
        ("HS512", Algorithm::HS512),
    ] {
        let cfg = config(json!({"type": name, "key": HMAC}));
        let token = user()
            .sign(alg, &EncodingKey::from_secret(HMAC.as_bytes()))
            .unwrap();
        verify(&cfg, &token).await.unwrap();
        // The same token twice: the prepared key is not consumed by a verification.
        verify(&cfg, &token).await.unwrap();
        let (message, signature) = token.rsplit_once('.').unwrap();
        let flipped: String = signature
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i == 3 {
                    if c == 'A' { 'B' } else { 'A' }
                } else {
                    c
                }
            })
            .collect();
        for forged in [
            format!("{message}.{flipped}"),
            format!("{message}.{}", &signature[..signature.len() - 4]),
            format!("{message}.{signature}AAAA"),
            format!("{message}."),
            format!("{message}.!!!!"),
            user()
                .sign(
                    alg,
                    &EncodingKey::from_secret(b"another-secret-0123456789abcdef-xyz"),
                )
                .unwrap(),
        ] {
            assert_code(verify(&cfg, &forged).await, "invalid-jwt");
        }
    }
}

#[tokio::test]
async fn rs256_with_a_pem_public_key() {
    let cfg = config(json!({"type": "RS256", "key": key("rsa_public.pem")}));
    verify(
        &cfg,
        &user()
            .sign_pem(Algorithm::RS256, key("rsa_private.pem").as_bytes())
            .unwrap(),
    )
    .await
    .unwrap();
    let other = user()
        .sign_pem(Algorithm::RS256, key("rsa_other_private.pem").as_bytes())
        .unwrap();
    assert_code(verify(&cfg, &other).await, "invalid-jwt");
}

#[tokio::test]
async fn rs256_with_an_x509_certificate() {
    let cfg = config(json!({"type": "RS256", "key": key("rsa_cert.pem")}));
    verify(
        &cfg,
        &user()
            .sign_pem(Algorithm::RS256, key("rsa_private.pem").as_bytes())
            .unwrap(),
    )
    .await
    .unwrap();
    let other = user()
        .sign_pem(Algorithm::RS256, key("rsa_other_private.pem").as_bytes())
        .unwrap();
    assert_code(verify(&cfg, &other).await, "invalid-jwt");
}

#[tokio::test]
async fn es256_with_a_pem_key_and_a_certificate() {
    for pem in ["ec_public.pem", "ec_cert.pem"] {
        let cfg = config(json!({"type": "ES256", "key": key(pem)}));
        let token = user()
            .sign_pem(Algorithm::ES256, key("ec_private.pem").as_bytes())
            .unwrap();
        verify(&cfg, &token).await.unwrap();
        assert_code(verify(&cfg, &tamper(&token)).await, "invalid-jwt");
    }
}

#[tokio::test]
async fn ed25519() {
    let cfg = config(json!({"type": "Ed25519", "key": key("ed_public.pem")}));
    let token = user()
        .sign_pem(Algorithm::EdDSA, key("ed_private.pem").as_bytes())
        .unwrap();
    verify(&cfg, &token).await.unwrap();
    assert_code(verify(&cfg, &tamper(&token)).await, "invalid-jwt");
}

/// Changes the payload (role escalation) and keeps the signature.
fn tamper(token: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut payload: Value = serde_json::from_slice(&engine.decode(parts[1]).unwrap()).unwrap();
    payload["https://hasura.io/jwt/claims"]["x-hasura-allowed-roles"] = json!(["admin"]);
    format!(
        "{}.{}.{}",
        parts[0],
        engine.encode(payload.to_string()),
        parts[2]
    )
}

#[test]
fn algorithms_the_library_lacks_are_a_clear_startup_error() {
    let err =
        JwtConfig::from_json(&json!({"type": "ES512", "key": key("ec_public.pem")}).to_string())
            .unwrap_err();
    assert!(err.to_string().contains("ES512"), "{err}");
    let err = Config::from_lookup(|k| match k {
        "RASURA_WEBHOOK_SECRET" => Some("jwt-test-webhook-secret-0123456789abcdef".into()),
        "HASURA_GRAPHQL_JWT_SECRET" => {
            Some(json!({"type": "ES512", "jwk_url": "http://127.0.0.1:1/jwks"}).to_string())
        }
        _ => None,
    })
    .unwrap_err();
    assert!(
        err.to_string().contains("HASURA_GRAPHQL_JWT_SECRET") && err.to_string().contains("ES512"),
        "{err}"
    );
}

#[tokio::test]
async fn alg_none_is_refused() {
    let cfg = config(json!({"type": "HS256", "key": HMAC}));
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = engine.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload = engine.encode(user().payload().to_string());
    assert_code(
        verify(&cfg, &format!("{header}.{payload}.")).await,
        "invalid-jwt",
    );
}

#[tokio::test]
async fn algorithm_confusion_is_refused() {
    // An HS256 token "signed" with the RSA public key, presented to an RS256 configuration.
    let public = key("rsa_public.pem");
    let cfg = config(json!({"type": "RS256", "key": public}));
    let forged = user()
        .sign(
            Algorithm::HS256,
            &EncodingKey::from_secret(public.as_bytes()),
        )
        .unwrap();
    assert_code(verify(&cfg, &forged).await, "invalid-jwt");
}

#[tokio::test]
async fn expiry_and_allowed_skew() {
    let strict = config(json!({"type": "HS256", "key": HMAC}));
    let skewed = config(json!({"type": "HS256", "key": HMAC, "allowed_skew": 60}));
    let expired = user()
        .expired_since(Duration::from_secs(10))
        .sign_hs256(HMAC)
        .unwrap();
    let err = assert_code(verify(&strict, &expired).await, "invalid-jwt");
    assert!(err.message().contains("JWTExpired"), "{err:?}");
    verify(&skewed, &expired).await.unwrap();
    let long_expired = user()
        .expired_since(Duration::from_secs(600))
        .sign_hs256(HMAC)
        .unwrap();
    assert_code(verify(&skewed, &long_expired).await, "invalid-jwt");
}

#[tokio::test]
async fn not_yet_valid_tokens_are_refused() {
    let strict = config(json!({"type": "HS256", "key": HMAC}));
    let skewed = config(json!({"type": "HS256", "key": HMAC, "allowed_skew": 60}));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let early = user().claim("nbf", now + 30).sign_hs256(HMAC).unwrap();
    assert_code(verify(&strict, &early).await, "invalid-jwt");
    verify(&skewed, &early).await.unwrap();
}

#[tokio::test]
async fn audience() {
    let cfg = config(json!({"type": "HS256", "key": HMAC, "audience": ["rasura", "other-app"]}));
    verify(
        &cfg,
        &user().claim("aud", "rasura").sign_hs256(HMAC).unwrap(),
    )
    .await
    .unwrap();
    verify(
        &cfg,
        &user()
            .claim("aud", json!(["x", "other-app"]))
            .sign_hs256(HMAC)
            .unwrap(),
    )
    .await
    .unwrap();
    let err = assert_code(
        verify(&cfg, &user().claim("aud", "evil").sign_hs256(HMAC).unwrap()).await,
        "invalid-jwt",
    );
    assert!(err.message().contains("JWTNotInAudience"), "{err:?}");
    assert_code(
        verify(&cfg, &user().sign_hs256(HMAC).unwrap()).await,
        "invalid-jwt",
    );
    // Without an audience configured, `aud` is not checked.
    let open = config(json!({"type": "HS256", "key": HMAC}));
    verify(
        &open,
        &user().claim("aud", "anything").sign_hs256(HMAC).unwrap(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn issuer() {
    let cfg = config(json!({"type": "HS256", "key": HMAC, "issuer": "https://auth.example"}));
    verify(
        &cfg,
        &user()
            .claim("iss", "https://auth.example")
            .sign_hs256(HMAC)
            .unwrap(),
    )
    .await
    .unwrap();
    // As in Hasura, a token without `iss` matches.
    verify(&cfg, &user().sign_hs256(HMAC).unwrap())
        .await
        .unwrap();
    let err = assert_code(
        verify(
            &cfg,
            &user()
                .claim("iss", "https://evil")
                .sign_hs256(HMAC)
                .unwrap(),
        )
        .await,
        "invalid-jwt",
    );
    assert!(err.message().contains("JWTNotInIssuer"), "{err:?}");
}

#[tokio::test]
async fn claims_namespace() {
    let cfg =
        config(json!({"type": "HS256", "key": HMAC, "claims_namespace": "https://my.app/claims"}));
    let claims = verify(
        &cfg,
        &user()
            .namespace("https://my.app/claims")
            .sign_hs256(HMAC)
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(claims.default_role, "user");
    let err = assert_code(
        verify(&cfg, &user().sign_hs256(HMAC).unwrap()).await,
        "jwt-invalid-claims",
    );
    assert!(err.message().contains("https://my.app/claims"), "{err:?}");
}

#[tokio::test]
async fn claims_namespace_path() {
    let cfg = config(
        json!({"type": "HS256", "key": HMAC, "claims_namespace_path": "$.hasura['claims']"}),
    );
    let inner = json!({"x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user", "x-hasura-user-id": "5"});
    let token = JwtClaims::new()
        .claim("hasura", json!({"claims": inner}))
        .sign_hs256(HMAC)
        .unwrap();
    let claims = verify(&cfg, &token).await.unwrap();
    assert_eq!(claims.session.user_id(), Some("5"));
    assert_code(
        verify(&cfg, &user().sign_hs256(HMAC).unwrap()).await,
        "jwt-invalid-claims",
    );
}

#[tokio::test]
async fn claims_format_stringified_json() {
    let cfg = config(json!({"type": "HS256", "key": HMAC, "claims_format": "stringified_json"}));
    verify(&cfg, &user().stringified().sign_hs256(HMAC).unwrap())
        .await
        .unwrap();
    assert_code(
        verify(&cfg, &user().sign_hs256(HMAC).unwrap()).await,
        "jwt-invalid-claims",
    );
    // And the other way round.
    let json_cfg = config(json!({"type": "HS256", "key": HMAC, "claims_format": "json"}));
    assert_code(
        verify(&json_cfg, &user().stringified().sign_hs256(HMAC).unwrap()).await,
        "jwt-invalid-claims",
    );
}

#[tokio::test]
async fn claims_map() {
    let cfg = config(json!({"type": "HS256", "key": HMAC, "claims_map": {
        "x-hasura-allowed-roles": {"path": "$.roles"},
        "x-hasura-default-role": "user",
        "x-hasura-user-id": {"path": "$.sub", "default": "anonymous"},
        "x-hasura-org-id": {"path": "$.org.id"}
    }}));
    let token = JwtClaims::new()
        .claim("roles", json!(["user"]))
        .claim("sub", "9")
        .claim("org", json!({"id": "3"}))
        .sign_hs256(HMAC)
        .unwrap();
    let claims = verify(&cfg, &token).await.unwrap();
    assert_eq!(
        (
            claims.session.user_id(),
            claims.session.get("x-hasura-org-id")
        ),
        (Some("9"), Some("3"))
    );
    let token = JwtClaims::new()
        .claim("roles", json!(["user"]))
        .sign_hs256(HMAC)
        .unwrap();
    assert_eq!(
        verify(&cfg, &token).await.unwrap().session.user_id(),
        Some("anonymous")
    );
    // Namespace settings are ignored with a claims_map: the roles must come from `$.roles`.
    assert_code(
        verify(&cfg, &user().sign_hs256(HMAC).unwrap()).await,
        "jwt-missing-role-claims",
    );
}

#[tokio::test]
async fn role_claims_are_mandatory_and_typed() {
    let cfg = config(json!({"type": "HS256", "key": HMAC}));
    let no_roles = user()
        .without_hasura_claim("x-hasura-allowed-roles")
        .sign_hs256(HMAC)
        .unwrap();
    let err = assert_code(verify(&cfg, &no_roles).await, "jwt-missing-role-claims");
    assert!(err.message().contains("x-hasura-allowed-roles"));
    let no_default = user()
        .without_hasura_claim("x-hasura-default-role")
        .sign_hs256(HMAC)
        .unwrap();
    assert_code(verify(&cfg, &no_default).await, "jwt-missing-role-claims");
    let bad_roles = user()
        .hasura_claim("x-hasura-allowed-roles", "user")
        .sign_hs256(HMAC)
        .unwrap();
    assert_code(verify(&cfg, &bad_roles).await, "jwt-invalid-claims");
    let bad_claim = user()
        .hasura_claim("x-hasura-org-id", 3)
        .sign_hs256(HMAC)
        .unwrap();
    assert_code(verify(&cfg, &bad_claim).await, "jwt-invalid-claims");
}

#[tokio::test]
async fn token_locations() {
    let token = user().sign_hs256(HMAC).unwrap();
    let cookie = config(
        json!({"type": "HS256", "key": HMAC, "header": {"type": "Cookie", "name": "session"}}),
    );
    let mut h = HeaderMap::new();
    h.insert(
        "cookie",
        HeaderValue::from_str(&format!("theme=dark; session={token}")).unwrap(),
    );
    cookie.verify(&h).await.unwrap();
    let err = cookie.verify(&bearer(&token)).await.unwrap_err();
    assert_eq!(err.code(), "invalid-headers");

    let custom = config(
        json!({"type": "HS256", "key": HMAC, "header": {"type": "CustomHeader", "name": "X-Auth-Token"}}),
    );
    let mut h = HeaderMap::new();
    h.insert("x-auth-token", HeaderValue::from_str(&token).unwrap());
    custom.verify(&h).await.unwrap();
    assert_eq!(
        custom.verify(&bearer(&token)).await.unwrap_err().code(),
        "invalid-headers"
    );

    let auth = config(json!({"type": "HS256", "key": HMAC, "header": {"type": "Authorization"}}));
    auth.verify(&bearer(&token)).await.unwrap();
    let mut h = HeaderMap::new();
    h.insert(
        "authorization",
        HeaderValue::from_str(&format!("Token {token}")).unwrap(),
    );
    let err = auth.verify(&h).await.unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        ("invalid-headers", "Malformed Authorization header")
    );
    let err = auth.verify(&HeaderMap::new()).await.unwrap_err();
    assert_eq!(err.code(), "invalid-headers");
    // Hasura reads the header as words and wants exactly `Bearer <token>`: the scheme is
    // case-sensitive, extra whitespace between and around the words is fine.
    for value in [
        format!("bearer {token}"),
        format!("BEARER {token}"),
        format!("Bearer {token} extra"),
        "Bearer".to_owned(),
        format!("Bearer{token}"),
    ] {
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_str(&value).unwrap());
        let err = auth.verify(&h).await.unwrap_err();
        assert_eq!(
            (err.code(), err.message()),
            ("invalid-headers", "Malformed Authorization header"),
            "{value}"
        );
    }
    for value in [format!("Bearer   {token}"), format!("  Bearer {token}\t")] {
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_str(&value).unwrap());
        auth.verify(&h).await.unwrap();
    }
}

#[tokio::test]
async fn issued_in_the_future_is_refused_as_hasura_does() {
    let strict = config(json!({"type": "HS256", "key": HMAC}));
    let skewed = config(json!({"type": "HS256", "key": HMAC, "allowed_skew": 60}));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let future = user().claim("iat", now + 30).sign_hs256(HMAC).unwrap();
    let err = assert_code(verify(&strict, &future).await, "invalid-jwt");
    assert!(err.message().contains("JWTIssuedAtFuture"), "{err:?}");
    verify(&skewed, &future).await.unwrap();
    let far_future = user().claim("iat", now + 600).sign_hs256(HMAC).unwrap();
    assert_code(verify(&skewed, &far_future).await, "invalid-jwt");
    let past = user().claim("iat", now - 30).sign_hs256(HMAC).unwrap();
    verify(&strict, &past).await.unwrap();
    // A non-numeric `iat` is a malformed token, in the fast path and the claims_map path.
    let text = user().claim("iat", "yesterday").sign_hs256(HMAC).unwrap();
    assert_code(verify(&strict, &text).await, "invalid-jwt");
    let mapped = config(json!({"type": "HS256", "key": HMAC, "claims_map": {
        "x-hasura-allowed-roles": ["user"], "x-hasura-default-role": "user"}}));
    assert_code(verify(&mapped, &text).await, "invalid-jwt");
    assert_code(verify(&mapped, &future).await, "invalid-jwt");
}

// ---- through the service: status codes and the session/claims agreement ----

fn service() -> TestService {
    TestService::new(Service::with_handlers([handler!(example_default::pong)]))
}

fn pong() -> serde_json::Value {
    json!({"message": "hi", "number": 1})
}

#[tokio::test]
async fn service_answers_each_jwt_failure_with_hasuras_code() {
    let s = service();
    let key = rasura::testing::TEST_JWT_KEY;
    s.action("pong")
        .role("user")
        .user_id("42")
        .input(pong())
        .send()
        .await
        .assert_error(401, "invalid-headers");
    let res = s
        .action("pong")
        .role("user")
        .user_id("42")
        .bearer("not-a-jwt")
        .input(pong())
        .send()
        .await;
    res.assert_error(401, "invalid-jwt");
    let no_roles = user()
        .without_hasura_claim("x-hasura-allowed-roles")
        .sign_hs256(key)
        .unwrap();
    s.action("pong")
        .role("user")
        .user_id("42")
        .bearer(&no_roles)
        .input(pong())
        .send()
        .await
        .assert_error(401, "jwt-missing-role-claims");
    let bad_roles = user()
        .hasura_claim("x-hasura-allowed-roles", "user")
        .sign_hs256(key)
        .unwrap();
    s.action("pong")
        .role("user")
        .user_id("42")
        .bearer(&bad_roles)
        .input(pong())
        .send()
        .await
        .assert_error(401, "jwt-invalid-claims");
    let good = user().sign_hs256(key).unwrap();
    s.action("pong")
        .role("user")
        .user_id("42")
        .bearer(&good)
        .input(pong())
        .send()
        .await
        .assert_status(200);
}

#[tokio::test]
async fn claims_must_agree_with_the_session() {
    let s = service();
    let token = user().sign_hs256(rasura::testing::TEST_JWT_KEY).unwrap();
    // A role the token does not allow (even one the action allows).
    let res = s
        .action("pong")
        .role("admin")
        .user_id("42")
        .bearer(&token)
        .input(pong())
        .send()
        .await;
    res.assert_error(403, "access-denied");
    assert!(res.message().contains("not in allowed roles"));
    // Another user's id.
    let res = s
        .action("pong")
        .role("user")
        .user_id("43")
        .bearer(&token)
        .input(pong())
        .send()
        .await;
    res.assert_error(403, "access-denied");
    assert!(res.message().contains("x-hasura-user-id"));
    // A role the token allows but the action does not.
    let res = s
        .action("pong")
        .role("editor")
        .user_id("42")
        .bearer(&token)
        .input(pong())
        .send()
        .await;
    res.assert_error(403, "access-denied");
}

// ---- JWKS ----

/// The status and headers the JWKS server answers with.
type JwksResponse = (u16, Vec<(String, String)>);

struct JwksServer {
    url: String,
    fetches: Arc<AtomicUsize>,
    response: Arc<Mutex<JwksResponse>>,
    /// Milliseconds each answer waits before it is sent.
    delay: Arc<AtomicU64>,
}

async fn jwks_server(cache: &[(&str, &str)]) -> JwksServer {
    let fetches = Arc::new(AtomicUsize::new(0));
    let response = Arc::new(Mutex::new((
        200u16,
        cache
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>(),
    )));
    let body = key("jwks.json");
    let delay = Arc::new(AtomicU64::new(0));
    let (f, r, d) = (fetches.clone(), response.clone(), delay.clone());
    let app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let (f, r, d, body) = (f.clone(), r.clone(), d.clone(), body.clone());
            async move {
                f.fetch_add(1, Ordering::SeqCst);
                let wait = d.load(Ordering::SeqCst);
                if wait > 0 {
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                }
                let (status, headers) = r.lock().unwrap().clone();
                let mut res =
                    axum::response::Response::new(axum::body::Body::from(if status == 200 {
                        body
                    } else {
                        "oops".into()
                    }));
                *res.status_mut() = http::StatusCode::from_u16(status).unwrap();
                for (k, v) in headers {
                    res.headers_mut().insert(
                        http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                        v.parse().unwrap(),
                    );
                }
                res
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    JwksServer {
        url,
        fetches,
        response,
        delay,
    }
}

fn rsa_token(kid: &str) -> String {
    user()
        .kid(kid)
        .sign_pem(Algorithm::RS256, key("rsa_private.pem").as_bytes())
        .unwrap()
}

#[tokio::test]
async fn jwks_keys_are_reused_until_max_age() {
    let server = jwks_server(&[("cache-control", "public, max-age=1")]).await;
    let cfg = config(json!({"jwk_url": server.url})).with_jwks_min_refresh_interval(Duration::ZERO);
    verify(&cfg, &rsa_token("rsa-1")).await.unwrap();
    verify(&cfg, &rsa_token("rsa-1")).await.unwrap();
    verify(
        &cfg,
        &user()
            .kid("ec-1")
            .sign_pem(Algorithm::ES256, key("ec_private.pem").as_bytes())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        server.fetches.load(Ordering::SeqCst),
        1,
        "cached within max-age"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Expired keys still answer; the refetch runs behind the request.
    verify(&cfg, &rsa_token("rsa-1")).await.unwrap();
    wait_for_fetches(&server, 2).await;
}

/// Waits (at most 5 s) until the server has answered `n` fetches.
async fn wait_for_fetches(server: &JwksServer, n: usize) {
    let started = std::time::Instant::now();
    while server.fetches.load(Ordering::SeqCst) < n {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "expected {n} fetches, saw {}",
            server.fetches.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(server.fetches.load(Ordering::SeqCst), n, "no extra fetch");
}

#[tokio::test]
async fn jwks_expires_header_is_honoured() {
    let later = (chrono::Utc::now() + chrono::Duration::seconds(3600))
        .to_rfc2822()
        .replace("+0000", "GMT");
    let server = jwks_server(&[("expires", &later)]).await;
    let cfg = config(json!({"jwk_url": server.url})).with_jwks_min_refresh_interval(Duration::ZERO);
    for _ in 0..3 {
        verify(&cfg, &rsa_token("rsa-1")).await.unwrap();
    }
    assert_eq!(server.fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn unknown_kid_refetches_but_rate_limited() {
    let server = jwks_server(&[("cache-control", "max-age=3600")]).await;
    let cfg = config(json!({"jwk_url": server.url}))
        .with_jwks_min_refresh_interval(Duration::from_millis(500));
    verify(&cfg, &rsa_token("rsa-1")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_code(verify(&cfg, &rsa_token("rotated-2")).await, "invalid-jwt");
    assert_eq!(
        server.fetches.load(Ordering::SeqCst),
        2,
        "an unknown kid refetches"
    );
    for _ in 0..5 {
        assert_code(verify(&cfg, &rsa_token("rotated-3")).await, "invalid-jwt");
    }
    assert_eq!(
        server.fetches.load(Ordering::SeqCst),
        2,
        "a flood of unknown kids is rate-limited"
    );
}

#[tokio::test]
async fn last_good_keys_survive_a_failed_refresh() {
    let server = jwks_server(&[("cache-control", "max-age=1")]).await;
    let cfg = config(json!({"jwk_url": server.url})).with_jwks_min_refresh_interval(Duration::ZERO);
    verify(&cfg, &rsa_token("rsa-1")).await.unwrap();
    server.response.lock().unwrap().0 = 500;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    verify(&cfg, &rsa_token("rsa-1")).await.unwrap();
    // The refresh was attempted, and failed; the keys still verify after it.
    wait_for_fetches(&server, 2).await;
    verify(&cfg, &rsa_token("rsa-1")).await.unwrap();
}

/// A JWKS endpoint that turns slow (5 s per answer) once its keys expire costs requests
/// nothing: they go on with the expired keys while one refresh runs behind them. A response
/// that forbids reuse (`no-cache`) is never served stale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_jwks_endpoint_does_not_stall_requests() {
    let server = jwks_server(&[("cache-control", "max-age=1")]).await;
    let cfg = config(json!({"jwk_url": server.url})).with_jwks_min_refresh_interval(Duration::ZERO);
    verify(&cfg, &rsa_token("rsa-1")).await.unwrap();
    server.delay.store(5000, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // The first stale verification starts the refresh; let it reach the slow endpoint.
    verify(&cfg, &rsa_token("rsa-1")).await.unwrap();
    wait_for_fetches(&server, 2).await;
    // A stall would cost each of them the endpoint's 5 s (RS256 in a debug build takes tens of
    // milliseconds).
    let started = std::time::Instant::now();
    for _ in 0..5 {
        verify(&cfg, &rsa_token("rsa-1")).await.unwrap();
    }
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    // Still one refresh, waiting on the slow endpoint.
    assert_eq!(server.fetches.load(Ordering::SeqCst), 2);
}

/// `no-cache` keys are never used stale: after expiry the request waits for the refetch.
#[tokio::test]
async fn no_cache_keys_are_not_served_stale() {
    let server = jwks_server(&[("cache-control", "no-cache")]).await;
    let cfg = config(json!({"jwk_url": server.url})).with_jwks_min_refresh_interval(Duration::ZERO);
    verify(&cfg, &rsa_token("rsa-1")).await.unwrap();
    verify(&cfg, &rsa_token("rsa-1")).await.unwrap();
    // Each verification fetched in the foreground: nothing runs behind it.
    assert_eq!(server.fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn jwks_refuses_encryption_keys_and_mismatched_algorithms() {
    let server = jwks_server(&[]).await;
    let cfg = config(json!({"jwk_url": server.url})).with_jwks_min_refresh_interval(Duration::ZERO);
    // `enc-1` has `use: enc`: not for signatures.
    assert_code(verify(&cfg, &rsa_token("enc-1")).await, "invalid-jwt");
    // An ES256 token naming the RSA key.
    let confused = user()
        .kid("rsa-1")
        .sign_pem(Algorithm::ES256, key("ec_private.pem").as_bytes())
        .unwrap();
    assert_code(verify(&cfg, &confused).await, "invalid-jwt");
    // A token signed by a key not in the set, with the set's kid.
    let forged = user()
        .kid("rsa-1")
        .sign_pem(Algorithm::RS256, key("rsa_other_private.pem").as_bytes())
        .unwrap();
    assert_code(verify(&cfg, &forged).await, "invalid-jwt");
}
