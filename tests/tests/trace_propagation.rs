//! A trace crosses Hasura → service → Hasura: outgoing GraphQL, Metadata API (scheduler) and
//! `ctx.http()` calls, recorded by a loopback server, carry the incoming trace id as a child
//! span (`traceparent`, and B3 when Hasura sent B3), whether it came as W3C, B3 or an event's
//! `trace_context`; a request without a trace sends none.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use http::HeaderMap;
use rasura::scheduler::ScheduledEventId;
use rasura::testing::TestService;
use rasura::{ActionError, Ctx, Event, EventError, Service, action, event, handler};
use serde_json::{Value, json};

/// Where the loopback server listens (service state).
struct Upstream(String);

type Recorded = Arc<Mutex<Vec<(String, HeaderMap)>>>;

async fn upstream() -> (Recorded, String) {
    let recorded: Recorded = Arc::default();
    let app = axum::Router::new()
        .fallback(
            |State(recorded): State<Recorded>, uri: http::Uri, headers: HeaderMap| async move {
                recorded
                    .lock()
                    .unwrap()
                    .push((uri.path().to_owned(), headers));
                match uri.path() {
                    "/v1/graphql" => Json(json!({"data": {"x": 1}})),
                    _ => Json(json!({"message": "success"})),
                }
            },
        )
        .with_state(recorded.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (recorded, base)
}

async fn call_out(ctx: &Ctx) -> Result<(), ActionError> {
    let base = &ctx.state::<Upstream>()?.0;
    ctx.graphql()?
        .as_admin()
        .execute_raw("query { x }", None, None)
        .await?;
    ctx.http()
        .get(format!("{base}/api"))
        .send()
        .await
        .map_err(|e| ActionError::bad_request("upstream", e.to_string()))?;
    ctx.scheduler()?
        .cancel(&ScheduledEventId("e-1".into()))
        .await?;
    Ok(())
}

#[action(roles = ["user"])]
async fn traced(ctx: Ctx) -> Result<bool, ActionError> {
    call_out(&ctx).await?;
    Ok(true)
}

#[event(table = "public.item", insert)]
async fn traced_event(ctx: Ctx, _event: Event<Value>) -> Result<(), EventError> {
    call_out(&ctx)
        .await
        .map_err(|e| EventError::new(e.message().to_owned()))
}

async fn setup() -> (Recorded, TestService) {
    let (recorded, base) = upstream().await;
    let service = TestService::new(
        Service::with_handlers([handler!(traced), handler!(traced_event)])
            .with_config(
                TestService::config().with_hasura(url::Url::parse(&base).unwrap(), Some("admin-s")),
            )
            .with_state(Upstream(base)),
    );
    (recorded, service)
}

fn calls(recorded: &Recorded) -> Vec<(String, HeaderMap)> {
    std::mem::take(&mut *recorded.lock().unwrap())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn w3c_trace_context_reaches_every_outgoing_call() {
    let (recorded, s) = setup().await;
    s.action("traced")
        .role("user")
        .header(
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        )
        .send()
        .await
        .assert_status(200);
    let calls = calls(&recorded);
    let paths: Vec<&str> = calls.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["/v1/graphql", "/api", "/v1/metadata"]);
    let mut spans = Vec::new();
    for (path, headers) in &calls {
        let parent = header(headers, "traceparent").unwrap_or_else(|| panic!("{path}"));
        let parts: Vec<&str> = parent.split('-').collect();
        assert_eq!(parts[0], "00");
        assert_eq!(parts[1], "0af7651916cd43dd8448eb211c80319c", "{path}");
        assert_ne!(
            parts[2], "b7ad6b7169203331",
            "a child span, not the caller's"
        );
        assert_eq!(parts[3], "01");
        assert!(
            header(headers, "x-b3-traceid").is_none(),
            "no B3 unless Hasura sent B3"
        );
        spans.push(parts[2].to_owned());
    }
    spans.dedup();
    assert_eq!(spans.len(), 3, "one span per call");
}

#[tokio::test]
async fn b3_trace_context_is_sent_back_as_b3_and_w3c() {
    let (recorded, s) = setup().await;
    s.action("traced")
        .role("user")
        .header("X-B3-TraceId", "463ac35c9f6413ad48485a3953bb6124")
        .header("X-B3-SpanId", "a2fb4a1d1a96d312")
        .header("X-B3-Sampled", "1")
        .send()
        .await
        .assert_status(200);
    for (path, headers) in calls(&recorded) {
        assert_eq!(
            header(&headers, "x-b3-traceid"),
            Some("463ac35c9f6413ad48485a3953bb6124"),
            "{path}"
        );
        assert_eq!(
            header(&headers, "x-b3-parentspanid"),
            Some("a2fb4a1d1a96d312")
        );
        let child = header(&headers, "x-b3-spanid").unwrap();
        assert_eq!(
            header(&headers, "traceparent").unwrap(),
            format!("00-463ac35c9f6413ad48485a3953bb6124-{child}-01")
        );
    }
}

#[tokio::test]
async fn an_events_recorded_trace_is_used_without_headers() {
    let (recorded, s) = setup().await;
    let mut body = s
        .event("traced_event")
        .table("public.item")
        .insert(json!({"id": 1}))
        .body();
    body["event"]["trace_context"] =
        json!({"trace_id": "5b8aa5a2d2c872e8321cf37308d69df2", "span_id": "051581bf3cb55c13"});
    s.post("/events/traced_event")
        .body(body.to_string())
        .send()
        .await
        .assert_status(200);
    let calls = calls(&recorded);
    assert_eq!(calls.len(), 3);
    for (path, headers) in calls {
        assert!(
            header(&headers, "traceparent")
                .unwrap()
                .starts_with("00-5b8aa5a2d2c872e8321cf37308d69df2-"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn no_trace_in_means_no_trace_out_and_forged_ones_are_ignored() {
    let (recorded, s) = setup().await;
    s.action("traced")
        .role("user")
        .send()
        .await
        .assert_status(200);
    s.action("traced")
        .role("user")
        .header("traceparent", "00-zz-yy-01")
        .send()
        .await
        .assert_status(200);
    s.action("traced")
        .role("user")
        .header(
            "traceparent",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
        )
        .send()
        .await
        .assert_status(200);
    for (path, headers) in calls(&recorded) {
        assert!(header(&headers, "traceparent").is_none(), "{path}");
    }
}

#[tokio::test]
async fn metadata_calls_carry_their_own_trace() {
    let (recorded, base) = upstream().await;
    let trace = rasura::trace::TraceContext::new_root();
    let client = rasura::metadata::sync::MetadataClient::new(
        reqwest::Client::new(),
        &url::Url::parse(&base).unwrap(),
        None,
    )
    .with_trace(trace.clone());
    // The recorder's answer is not metadata: the call fails, but it was sent.
    assert!(client.export().await.is_err());
    let calls = calls(&recorded);
    assert_eq!(calls.len(), 1);
    let parent = header(&calls[0].1, "traceparent").unwrap();
    assert!(
        parent.starts_with(&format!("00-{}-", trace.trace_id())),
        "{parent}"
    );
    assert_eq!(trace.trace_id().len(), 32);
}
