//! `GET /metrics` after a known sequence of requests of every kind: counts by kind, handler and
//! status, histogram buckets, in-flight gauges, retries, refusals, duplicates and dead letters;
//! two services in one process keep separate counts; no secret appears; and
//! `RASURA_METRICS_LISTEN` moves the endpoint to its own listener.

use std::collections::HashMap;
use std::time::Duration;

use rasura::testing::{TEST_WEBHOOK_SECRET, TestDatabase, TestService};
use rasura::{
    ActionError, Cron, Ctx, Event, EventError, Scheduled, Service, action, cron, event, handler,
    scheduled,
};
use serde_json::json;

#[action(roles = ["user"], rate = "2/min")]
async fn greet(_ctx: Ctx) -> Result<String, ActionError> {
    Ok("hello".into())
}

#[event(table = "public.item", insert, retry(num_retries = 3))]
async fn item_added(_ctx: Ctx, event: Event<serde_json::Value>) -> Result<(), EventError> {
    match event
        .operation
        .new_row()
        .and_then(|row| row["fail"].as_bool())
    {
        Some(true) => Err(EventError::new("upstream down")
            .with_status(http::StatusCode::SERVICE_UNAVAILABLE)
            .retry_after(Duration::from_secs(5))),
        _ => Ok(()),
    }
}

#[event(
    table = "public.item",
    insert,
    once,
    dead_letter,
    retry(num_retries = 1)
)]
async fn item_once(_ctx: Ctx, event: Event<serde_json::Value>) -> Result<(), EventError> {
    match event
        .operation
        .new_row()
        .and_then(|row| row["fail"].as_bool())
    {
        Some(true) => Err(EventError::new("broken")),
        _ => Ok(()),
    }
}

#[cron(schedule = "0 * * * *")]
async fn hourly(_ctx: Ctx, _tick: Cron<()>) -> Result<(), EventError> {
    Ok(())
}

#[scheduled]
async fn reminder(_ctx: Ctx, _event: Scheduled<serde_json::Value>) -> Result<(), EventError> {
    Ok(())
}

fn service(config: rasura::config::Config) -> TestService {
    TestService::new(
        Service::with_handlers([
            handler!(greet),
            handler!(item_added),
            handler!(item_once),
            handler!(hourly),
            handler!(reminder),
        ])
        .with_config(config),
    )
}

/// `name{labels} value` lines, by the whole `name{labels}`.
async fn scrape(s: &TestService) -> (String, HashMap<String, f64>) {
    let res = s.get("/metrics").await;
    res.assert_status(200);
    assert!(
        res.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = String::from_utf8(res.body.clone()).unwrap();
    let values = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect();
    (text, values)
}

fn value(values: &HashMap<String, f64>, series: &str) -> f64 {
    *values
        .get(series)
        .unwrap_or_else(|| panic!("{series} not in the scrape: {values:?}"))
}

#[tokio::test]
async fn every_kind_is_counted_by_handler_and_status() {
    let db = TestDatabase::create().await;
    let s = service(TestService::config().with_database_url(db.url()));
    // Registered up front: zero before any request.
    let (_, before) = scrape(&s).await;
    assert_eq!(
        value(
            &before,
            r#"rasura_requests_total{kind="action",handler="greet",status="200"}"#
        ),
        0.0
    );
    // Actions: two allowed, then the rate limit; a role refusal; a bad secret.
    for _ in 0..2 {
        s.action("greet")
            .role("user")
            .user_id("u")
            .send()
            .await
            .assert_status(200);
    }
    s.action("greet")
        .role("user")
        .user_id("u")
        .send()
        .await
        .assert_status(429);
    s.action("greet")
        .role("guest")
        .send()
        .await
        .assert_status(403);
    s.action("greet")
        .secret("wrong")
        .send()
        .await
        .assert_status(401);
    s.action("nobody")
        .path("/actions")
        .send()
        .await
        .assert_status(404);
    // Events: a success, a transient failure with Retry-After, a duplicate, a dead letter.
    let item = |trigger: &str, fail: bool| {
        s.event(trigger)
            .table("public.item")
            .insert(json!({ "id": 1, "fail": fail }))
    };
    item("item_added", false).send().await.assert_status(200);
    item("item_added", true)
        .delivery(0, 3)
        .send()
        .await
        .assert_status(503);
    item("item_once", false)
        .id("e-1")
        .send()
        .await
        .assert_status(200);
    item("item_once", false)
        .id("e-1")
        .send()
        .await
        .assert_status(200);
    item("item_once", true)
        .id("e-2")
        .delivery(1, 1)
        .send()
        .await
        .assert_status(200);
    // A cron tick and a scheduled event.
    s.cron("hourly").send().await.assert_status(200);
    s.scheduled("reminder").send().await.assert_status(200);

    let (text, after) = scrape(&s).await;
    for (series, expected) in [
        (
            r#"rasura_requests_total{kind="action",handler="greet",status="200"}"#,
            2.0,
        ),
        (
            r#"rasura_requests_total{kind="action",handler="greet",status="429"}"#,
            1.0,
        ),
        (
            r#"rasura_requests_total{kind="action",handler="greet",status="403"}"#,
            1.0,
        ),
        (
            r#"rasura_requests_total{kind="action",handler="greet",status="401"}"#,
            1.0,
        ),
        (
            r#"rasura_requests_total{kind="action",handler="",status="404"}"#,
            1.0,
        ),
        (
            r#"rasura_requests_total{kind="event",handler="item_added",status="200"}"#,
            1.0,
        ),
        (
            r#"rasura_requests_total{kind="event",handler="item_added",status="503"}"#,
            1.0,
        ),
        (
            r#"rasura_requests_total{kind="event",handler="item_once",status="200"}"#,
            3.0,
        ),
        (
            r#"rasura_requests_total{kind="cron",handler="hourly",status="200"}"#,
            1.0,
        ),
        (
            r#"rasura_requests_total{kind="scheduled",handler="reminder",status="200"}"#,
            1.0,
        ),
        (
            r#"rasura_request_duration_seconds_count{kind="action",handler="greet"}"#,
            5.0,
        ),
        (
            r#"rasura_request_duration_seconds_bucket{le="+Inf",kind="event",handler="item_once"}"#,
            3.0,
        ),
        (
            r#"rasura_requests_in_flight{kind="action",handler="greet"}"#,
            0.0,
        ),
        (r#"rasura_rate_limited_total{handler="greet"}"#, 1.0),
        (r#"rasura_access_denied_total{handler="greet"}"#, 1.0),
        (r#"rasura_retry_after_total{handler="item_added"}"#, 1.0),
        (
            r#"rasura_duplicates_skipped_total{handler="item_once"}"#,
            1.0,
        ),
        (r#"rasura_dead_letters_total{handler="item_once"}"#, 1.0),
    ] {
        assert_eq!(value(&after, series), expected, "{series}\n{text}");
    }
    // Histogram buckets are cumulative and end with the count.
    let buckets: Vec<f64> = text
        .lines()
        .filter(|l| {
            l.starts_with(r#"rasura_request_duration_seconds_bucket{"#)
                && l.contains(r#"handler="greet""#)
        })
        .filter_map(|l| l.rsplit_once(' ')?.1.parse().ok())
        .collect();
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    assert_eq!(buckets.last(), Some(&5.0));
    assert!(value(&after, "process_resident_memory_bytes") > 0.0);
    assert!(value(&after, "process_open_fds") > 0.0);
    assert!(value(&after, "process_start_time_seconds") > 1.7e9);
    assert!(text.ends_with("# EOF\n"));
    // No secret in any label or value.
    assert!(!text.contains(TEST_WEBHOOK_SECRET));
    assert!(!text.contains(db.url()));
}

#[tokio::test]
async fn two_services_in_one_process_count_separately() {
    let a = service(TestService::config());
    let b = service(TestService::config());
    a.cron("hourly").send().await.assert_status(200);
    a.cron("hourly").send().await.assert_status(200);
    b.cron("hourly").send().await.assert_status(200);
    let series = r#"rasura_requests_total{kind="cron",handler="hourly",status="200"}"#;
    assert_eq!(value(&scrape(&a).await.1, series), 2.0);
    assert_eq!(value(&scrape(&b).await.1, series), 1.0);
}

#[tokio::test]
async fn the_metrics_listener_takes_the_endpoint_off_the_main_one() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let metrics_address = probe.local_addr().unwrap();
    drop(probe);
    let config = TestService::config().with_metrics_listen(metrics_address);
    let main = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let main_address = main.local_addr().unwrap();
    let service = Service::with_handlers([handler!(hourly)]).with_config(config);
    tokio::spawn(async move { service.serve(main).await.unwrap() });
    let client = reqwest::Client::new();
    let mut scraped = None;
    for _ in 0..100 {
        if let Ok(res) = client
            .get(format!("http://{metrics_address}/metrics"))
            .send()
            .await
        {
            scraped = Some(res);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let scraped = scraped.expect("the metrics listener answers");
    assert_eq!(scraped.status(), 200);
    assert!(
        scraped
            .text()
            .await
            .unwrap()
            .contains("rasura_requests_total")
    );
    let main_metrics = client
        .get(format!("http://{main_address}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(main_metrics.status(), 404);
}
