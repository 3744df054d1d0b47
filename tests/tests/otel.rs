//! OTLP export (feature `otel`): the service binary, pointed at a loopback OTLP/HTTP receiver
//! written here by `OTEL_EXPORTER_OTLP_ENDPOINT`, exports the handler's span (named after the
//! handler, with the log span's attributes) in the trace Hasura sent, under `OTEL_SERVICE_NAME`;
//! it exports what is queued when it stops.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use http::HeaderMap;
use rasura::testing::RunningService;
use serde_json::json;

type Received = Arc<Mutex<Vec<(String, Bytes)>>>;

async fn receiver() -> (Received, String) {
    let received: Received = Arc::default();
    let app = axum::Router::new()
        .route(
            "/v1/traces",
            axum::routing::post(
                |State(received): State<Received>, headers: HeaderMap, body: Bytes| async move {
                    let content_type = headers
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    received.lock().unwrap().push((content_type, body));
                    http::StatusCode::OK
                },
            ),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (received, url)
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_spans_are_exported_in_hasuras_trace() {
    let (received, endpoint) = receiver().await;
    let jwt = json!({"type": "HS256", "key": "otel-test-jwt-key-0123456789abcdef0123"}).to_string();
    let mut service = RunningService::start(
        env!("CARGO_BIN_EXE_rasura-test-service"),
        &[
            (
                "RASURA_WEBHOOK_SECRET",
                "otel-webhook-secret-0123456789abcdef",
            ),
            ("HASURA_GRAPHQL_JWT_SECRET", &jwt),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_SERVICE_NAME", "rasura-otel-test"),
        ],
    );
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let res = reqwest::Client::new()
        .post(format!("{}/actions/ping", service.base_url()))
        .header(
            "x-rasura-webhook-secret",
            "otel-webhook-secret-0123456789abcdef",
        )
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&json!({"action": {"name": "ping"}, "input": {},
                      "session_variables": {"x-hasura-role": "user", "x-hasura-user-id": "u-7"},
                      "request_query": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Stopping exports what is queued.
    let status = service.terminate(Duration::from_secs(20));
    assert!(status.is_some_and(|s| s.success()), "{}", service.output());
    let received = received.lock().unwrap();
    assert!(
        !received.is_empty(),
        "nothing exported: {}",
        service.output()
    );
    let (content_type, _) = &received[0];
    assert_eq!(content_type, "application/x-protobuf");
    let all: Vec<u8> = received.iter().flat_map(|(_, b)| b.to_vec()).collect();
    assert!(
        contains(&all, b"ping"),
        "the span is named after the handler"
    );
    assert!(contains(&all, &hex_bytes(trace_id)), "in Hasura's trace");
    assert!(
        contains(&all, &hex_bytes("00f067aa0ba902b7")),
        "as a child of Hasura's span"
    );
    assert!(contains(&all, b"rasura-otel-test"), "OTEL_SERVICE_NAME");
    assert!(
        contains(&all, b"request_id") && contains(&all, b"kind"),
        "the log span's attributes"
    );
    assert!(!contains(&all, b"otel-webhook-secret-0123456789abcdef"));
}
