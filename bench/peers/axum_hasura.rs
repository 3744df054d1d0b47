//! Benchmark peer: the event and auth-webhook paths written by hand with axum, sqlx and
//! jsonwebtoken, as a Rust developer would without a framework. The same work as Rasura's:
//!
//! - `POST /events/user_role_changed`: the webhook secret (constant time), the Hasura event
//!   envelope parsed into a typed row, and one transaction that sets the caller's Hasura
//!   session (`hasura.user`, as Hasura and Rasura do), records the delivery id in
//!   `rasura.processed_delivery` and, when it is new, inserts the change into
//!   `public.user_role_change`; `{"message": "success"}`.
//! - `GET /auth/webhook`: Hasura's auth webhook. The bearer token is verified against the
//!   identity provider's JWK set (fetched once at start), then one Postgres lookup of the
//!   subject's roles in `rasura_auth.role_mapping`; `{"X-Hasura-Role", "X-Hasura-User-Id"}`.
//!
//! Environment: `PORT`, `DATABASE_URL`, `EVENT_SECRET` (the `x-event-secret` header), `JWKS_URL`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sqlx::PgPool;
use subtle::ConstantTimeEq;

struct AppState {
    db: PgPool,
    event_secret: Vec<u8>,
    keys: Vec<(Option<String>, DecodingKey)>,
    validation: Validation,
}

#[derive(Deserialize)]
struct UserRow {
    user_id: String,
    role: String,
}

#[derive(Deserialize)]
struct EventData {
    old: Option<UserRow>,
    new: Option<UserRow>,
}

#[derive(Deserialize)]
struct EventBody {
    session_variables: Option<std::collections::HashMap<String, String>>,
    data: EventData,
}

#[derive(Deserialize)]
struct EventPayload {
    id: String,
    created_at: String,
    event: EventBody,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "message": message }))).into_response()
}

async fn user_role_changed(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let secret = headers
        .get("x-event-secret")
        .map(|v| v.as_bytes())
        .unwrap_or(b"");
    if !bool::from(secret.ct_eq(&state.event_secret)) {
        return error(StatusCode::UNAUTHORIZED, "invalid event secret");
    }
    let payload: EventPayload = match serde_json::from_slice(&body) {
        Ok(payload) => payload,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let (Some(old), Some(new)) = (&payload.event.data.old, &payload.event.data.new) else {
        return error(StatusCode::BAD_REQUEST, "expected an UPDATE");
    };
    if old.role != new.role {
        let role = payload
            .event
            .session_variables
            .as_ref()
            .and_then(|s| s.get("x-hasura-role"));
        if let Err(e) = record(&state.db, &payload, old, new, role).await {
            // Hasura retries a 5xx: the transaction rolled back.
            return error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string());
        }
    }
    Json(serde_json::json!({ "message": "success" })).into_response()
}

async fn record(
    db: &PgPool,
    payload: &EventPayload,
    old: &UserRow,
    new: &UserRow,
    role: Option<&String>,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    // The caller's session for triggers and row-level security, as Hasura's own mutations
    // (and Rasura's transactions) set it.
    let session = serde_json::to_string(&payload.event.session_variables)
        .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query("SELECT set_config('hasura.user', $1, true)")
        .bind(session)
        .execute(&mut *tx)
        .await?;
    let recorded = sqlx::query(
        "INSERT INTO rasura.processed_delivery (handler, id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind("axum.user_role_changed")
    .bind(&payload.id)
    .execute(&mut *tx)
    .await?;
    if recorded.rows_affected() == 1 {
        sqlx::query(
            "INSERT INTO public.user_role_change \
                 (event_id, user_id, old_role, new_role, changed_by_role, changed_at) \
             VALUES ($1::uuid, $2, $3, $4, $5, $6::timestamp AT TIME ZONE 'UTC') \
             ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(&payload.id)
        .bind(&new.user_id)
        .bind(&old.role)
        .bind(&new.role)
        .bind(role)
        .bind(&payload.created_at)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

async fn auth_webhook(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(token) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return error(StatusCode::UNAUTHORIZED, "missing bearer token");
    };
    let Ok(header) = jsonwebtoken::decode_header(token) else {
        return error(StatusCode::UNAUTHORIZED, "malformed token");
    };
    let Some((_, key)) = state
        .keys
        .iter()
        .find(|(kid, _)| header.kid.is_none() || kid == &header.kid)
    else {
        return error(StatusCode::UNAUTHORIZED, "unknown key");
    };
    let claims = match jsonwebtoken::decode::<Claims>(token, key, &state.validation) {
        Ok(data) => data.claims,
        Err(_) => return error(StatusCode::UNAUTHORIZED, "invalid token"),
    };
    let roles: Vec<(String, bool)> = match sqlx::query_as(
        "SELECT role, is_default FROM rasura_auth.role_mapping WHERE subject = $1 ORDER BY role",
    )
    .bind(&claims.sub)
    .fetch_all(&state.db)
    .await
    {
        Ok(roles) => roles,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let Some((role, _)) = roles
        .iter()
        .find(|(_, is_default)| *is_default)
        .or(roles.first())
    else {
        return error(StatusCode::UNAUTHORIZED, "no role for this subject");
    };
    Json(serde_json::json!({ "X-Hasura-Role": role, "X-Hasura-User-Id": claims.sub }))
        .into_response()
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is required"))
}

#[tokio::main]
async fn main() {
    let db = sqlx::postgres::PgPoolOptions::new()
        .max_connections(10)
        .connect(&env("DATABASE_URL"))
        .await
        .expect("database");
    let jwks: JwkSet = reqwest::get(env("JWKS_URL"))
        .await
        .expect("JWKS_URL")
        .json()
        .await
        .expect("a JWK set");
    let keys = jwks
        .keys
        .iter()
        .map(|jwk| {
            let key = DecodingKey::from_jwk(jwk).expect("a usable JWK");
            (jwk.common.key_id.clone(), key)
        })
        .collect();
    let state = Arc::new(AppState {
        db,
        event_secret: env("EVENT_SECRET").into_bytes(),
        keys,
        validation: Validation::new(Algorithm::RS256),
    });
    let app = Router::new()
        .route("/events/user_role_changed", post(user_role_changed))
        .route("/auth/webhook", get(auth_webhook))
        .with_state(state);
    let port: u16 = env("PORT").parse().expect("PORT");
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
