//! What a shared client saves: one `execute_raw` call through Rasura's `GraphqlClient` (one
//! pool, built at start-up, as `ctx.graphql()` uses it) against the Pysura way, a new HTTP
//! client for every call, and against a bare shared `reqwest` POST. The GraphQL server is a
//! minimal axum app on loopback in the same process.
//!
//! `cargo run --release -p rasura-bench --example graphql_client [CALLS=5000]`

use std::time::{Duration, Instant};

use rasura::config::Secret;
use rasura::graphql::GraphqlClient;
use serde_json::{Value, json};

const QUERY: &str = "query Q { user { user_id } }";

fn main() {
    let calls: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(5000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let app = axum::Router::new().route(
            "/v1/graphql",
            axum::routing::post(|| async {
                axum::Json(json!({"data": {"user": [{"user_id": "u1"}]}}))
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let endpoint = url::Url::parse(&format!("http://{addr}")).unwrap();
        let graphql_url = format!("http://{addr}/v1/graphql");

        let shared = GraphqlClient::new(
            reqwest::Client::new(),
            &endpoint,
            Some(Secret::new("bench-admin-secret")),
            Duration::from_secs(5),
        );
        let bare = reqwest::Client::new();
        for round in 0..3 {
            let t = Instant::now();
            for _ in 0..calls {
                let data = shared
                    .as_admin()
                    .execute_raw(QUERY, None, None)
                    .await
                    .unwrap();
                assert_eq!(data["user"][0]["user_id"], "u1");
            }
            let rasura = t.elapsed() / calls as u32;

            let t = Instant::now();
            for _ in 0..calls {
                let data: Value = bare
                    .post(&graphql_url)
                    .header("x-hasura-admin-secret", "bench-admin-secret")
                    .json(&json!({"query": QUERY}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert_eq!(data["data"]["user"][0]["user_id"], "u1");
            }
            let bare_shared = t.elapsed() / calls as u32;

            // Pysura's provider: a new client (TLS setup, no pooled connection) per call.
            let per_call_calls = calls / 10;
            let t = Instant::now();
            for _ in 0..per_call_calls {
                let client = GraphqlClient::new(
                    reqwest::Client::new(),
                    &endpoint,
                    Some(Secret::new("bench-admin-secret")),
                    Duration::from_secs(5),
                );
                client.as_admin().execute_raw(QUERY, None, None).await.unwrap();
            }
            let per_call = t.elapsed() / per_call_calls as u32;
            println!(
                "round {round}: rasura shared client {:.1} µs/call | bare shared reqwest {:.1} µs/call | new client per call {:.1} µs/call",
                rasura.as_secs_f64() * 1e6,
                bare_shared.as_secs_f64() * 1e6,
                per_call.as_secs_f64() * 1e6,
            );
        }
    });
}
