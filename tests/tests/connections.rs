//! The HTTP layer under hostile clients, over real sockets: slow headers, slow bodies, idle
//! keep-alive connections, the connection cap, shutdown with stalled clients, and the limits
//! that are answered in Hasura's format (414, 431, 405, 404) with `x-request-id`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rasura::testing::{RunningService, TEST_WEBHOOK_SECRET, TestService};
use rasura::{ActionError, Ctx, Service, action, handler};
use serde_json::{Value, json};

#[derive(serde::Serialize, rasura::CustomType)]
struct Settled {}

/// How many times `settle` was started.
static SETTLE_STARTS: AtomicUsize = AtomicUsize::new(0);

/// Takes one second of its two-second timeout.
#[action(timeout = 2)]
async fn settle(_ctx: Ctx) -> Result<Settled, ActionError> {
    SETTLE_STARTS.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(Settled {})
}

/// A service on loopback with short limits: headers 1 s, body 1 s, idle 3 s, at most `cap`
/// connections.
async fn start(cap: usize) -> SocketAddr {
    let config = TestService::config().with_connection_limits(
        Duration::from_secs(1),
        Duration::from_secs(1),
        Duration::from_secs(3),
        cap,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let service = Service::with_handlers([handler!(example_default::ping)]).with_config(config);
    tokio::spawn(async move { service.serve(listener).await });
    address
}

fn connect(address: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Reads until the server closes; returns what it sent and how long it took.
fn read_to_close(mut stream: TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    (
        String::from_utf8_lossy(&out).into_owned(),
        started.elapsed(),
    )
}

fn ping_request(keep_alive: bool) -> String {
    let body = json!({"action": {"name": "ping"}, "input": {}, "session_variables": {"x-hasura-role": "admin"}, "request_query": null}).to_string();
    format!(
        "POST /actions/ping HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nx-rasura-webhook-secret: {TEST_WEBHOOK_SECRET}\r\ncontent-length: {}\r\nconnection: {}\r\n\r\n{body}",
        body.len(),
        if keep_alive { "keep-alive" } else { "close" }
    )
}

/// Reads one response (headers and a content-length body) from a kept-alive connection.
fn read_response(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "closed mid-response");
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).unwrap();
    head + &String::from_utf8_lossy(&body)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_stops_mid_headers_is_disconnected() {
    let address = start(16).await;
    let (out, took) = tokio::task::spawn_blocking(move || {
        let mut stream = connect(address);
        stream
            .write_all(b"POST /actions/ping HTTP/1.1\r\nhost: x\r\nx-rasura-")
            .unwrap();
        read_to_close(stream)
    })
    .await
    .unwrap();
    assert!(out.is_empty(), "{out}");
    assert!(took < Duration::from_secs(5), "held for {took:?}");
    // A client that connects and sends nothing is disconnected the same way.
    let (_, took) = tokio::task::spawn_blocking(move || read_to_close(connect(address)))
        .await
        .unwrap();
    assert!(took < Duration::from_secs(5), "held for {took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_stops_mid_body_gets_408_in_hasuras_format() {
    let address = start(16).await;
    let (out, took) = tokio::task::spawn_blocking(move || {
        let mut stream = connect(address);
        let head = format!(
            "POST /actions/ping HTTP/1.1\r\nhost: x\r\nx-rasura-webhook-secret: {TEST_WEBHOOK_SECRET}\r\ncontent-length: 100\r\n\r\n{{\"action\":"
        );
        stream.write_all(head.as_bytes()).unwrap();
        read_to_close(stream)
    })
    .await
    .unwrap();
    assert!(out.starts_with("HTTP/1.1 408"), "{out}");
    assert!(out.contains(r#""code":"request-timeout""#), "{out}");
    assert!(out.to_ascii_lowercase().contains("x-request-id: "), "{out}");
    assert!(took < Duration::from_secs(5), "held for {took:?}");
}

/// Hasura's clock starts when it sends the request, so an action's timeout counts from the
/// request's arrival, not from when its body was complete: 1.5 s of body plus 1 s of handler is
/// past the two-second limit, and with 2.5 s of body the handler is not even started.
#[tokio::test(flavor = "multi_thread")]
async fn an_actions_timeout_counts_from_the_requests_arrival() {
    // A body may take 3 s here, so only the action's timeout can end these requests.
    let config = TestService::config().with_connection_limits(
        Duration::from_secs(1),
        Duration::from_secs(3),
        Duration::from_secs(3),
        16,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let service = Service::with_handlers([handler!(settle)]).with_config(config);
    tokio::spawn(async move { service.serve(listener).await });
    let stalled = |stall: Duration| {
        tokio::task::spawn_blocking(move || {
            let mut stream = connect(address);
            let request = settle_request();
            let (head, rest) = request.split_at(request.find("\r\n\r\n").unwrap() + 14);
            stream.write_all(head.as_bytes()).unwrap();
            std::thread::sleep(stall);
            stream.write_all(rest.as_bytes()).unwrap();
            read_to_close(stream).0
        })
    };
    let out = stalled(Duration::from_millis(1500)).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 504"), "{out}");
    assert_eq!(body_of(&out)["extensions"]["code"], "timeout", "{out}");
    assert_eq!(SETTLE_STARTS.load(Ordering::SeqCst), 1);
    let out = stalled(Duration::from_millis(2500)).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 504"), "{out}");
    assert_eq!(
        SETTLE_STARTS.load(Ordering::SeqCst),
        1,
        "started with no time left"
    );
    // Sent at once, the same request is answered.
    let out = raw(address, settle_request()).await;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert_eq!(SETTLE_STARTS.load(Ordering::SeqCst), 2);
}

/// `settle`, the whole request.
fn settle_request() -> String {
    let body = json!({"action": {"name": "settle"}, "input": {}, "session_variables": {"x-hasura-role": "admin"}, "request_query": null}).to_string();
    format!(
        "POST /actions/settle HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nx-rasura-webhook-secret: {TEST_WEBHOOK_SECRET}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_keep_alive_connections_are_reused_then_closed() {
    let address = start(16).await;
    let took = tokio::task::spawn_blocking(move || {
        let mut stream = connect(address);
        stream.write_all(ping_request(true).as_bytes()).unwrap();
        assert!(read_response(&mut stream).starts_with("HTTP/1.1 200"));
        // Idle longer than the header-read timeout: still open (that timer is for headers).
        std::thread::sleep(Duration::from_millis(1500));
        stream.write_all(ping_request(true).as_bytes()).unwrap();
        assert!(read_response(&mut stream).starts_with("HTTP/1.1 200"));
        let (rest, took) = read_to_close(stream);
        assert!(rest.is_empty(), "{rest}");
        took
    })
    .await
    .unwrap();
    assert!(took >= Duration::from_secs(2), "closed after {took:?}");
    assert!(took < Duration::from_secs(8), "held for {took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_over_the_cap_wait_for_a_free_slot() {
    let address = start(2).await;
    tokio::task::spawn_blocking(move || {
        // Two kept-alive connections take both slots.
        let mut first = connect(address);
        first.write_all(ping_request(true).as_bytes()).unwrap();
        assert!(read_response(&mut first).starts_with("HTTP/1.1 200"));
        let mut second = connect(address);
        second.write_all(ping_request(true).as_bytes()).unwrap();
        assert!(read_response(&mut second).starts_with("HTTP/1.1 200"));
        // A third connects (the backlog) but is not served while they are open.
        let mut third = connect(address);
        third
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        third.write_all(ping_request(false).as_bytes()).unwrap();
        let mut byte = [0u8; 1];
        let err = third.read(&mut byte).unwrap_err();
        assert!(
            matches!(
                err.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "{err:?}"
        );
        drop(first);
        third
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let (out, _) = read_to_close(third);
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    })
    .await
    .unwrap();
}

#[test]
fn shutdown_is_not_delayed_by_stalled_clients() {
    let mut svc = RunningService::start(
        env!("CARGO_BIN_EXE_rasura-test-service"),
        &[
            (
                "RASURA_WEBHOOK_SECRET",
                "connections-webhook-secret-0123456789",
            ),
            (
                "HASURA_GRAPHQL_JWT_SECRET",
                r#"{"type":"HS256","key":"shutdown-test-jwt-key-0123456789abcdef"}"#,
            ),
            ("RASURA_SHUTDOWN_TIMEOUT", "30"),
            ("RASURA_HEADER_READ_TIMEOUT", "60"),
        ],
    );
    let stalled: Vec<TcpStream> = (0..200)
        .map(|_| {
            let mut s = TcpStream::connect(svc.address()).unwrap();
            s.write_all(b"POST /actions/ping HTTP/1.1\r\nhost: x\r\n")
                .unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let status = svc
        .terminate(Duration::from_secs(10))
        .expect("the service must stop well before its 30 s shutdown timeout");
    assert!(status.success(), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    drop(stalled);
}

async fn raw(address: SocketAddr, request: String) -> String {
    tokio::task::spawn_blocking(move || {
        let mut stream = connect(address);
        stream.write_all(request.as_bytes()).unwrap();
        read_to_close(stream).0
    })
    .await
    .unwrap()
}

fn body_of(response: &str) -> Value {
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {response}"))
}

fn has_request_id(response: &str) -> bool {
    response.to_ascii_lowercase().contains("\r\nx-request-id: ")
}

#[tokio::test(flavor = "multi_thread")]
async fn http_layer_errors_are_in_hasuras_format_with_a_request_id() {
    let address = start(16).await;
    let long = format!(
        "GET /healthz?{} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        "a".repeat(9000)
    );
    let out = raw(address, long).await;
    assert!(out.starts_with("HTTP/1.1 414"), "{out}");
    assert_eq!(body_of(&out)["extensions"]["code"], "uri-too-long");
    assert!(has_request_id(&out), "{out}");

    let many: String = (0..150).map(|i| format!("x-h{i}: v\r\n")).collect();
    let out = raw(
        address,
        format!("GET /healthz HTTP/1.1\r\nhost: x\r\n{many}connection: close\r\n\r\n"),
    )
    .await;
    // More than 100 headers: hyper's own 431 (it refuses before a request exists).
    assert!(out.starts_with("HTTP/1.1 431"), "{out}");

    // A head over 64 KiB: hyper's own 431 too (no body: it refuses before a request exists).
    let big = format!("x-big: {}\r\n", "b".repeat(70_000));
    let out = raw(
        address,
        format!("GET /healthz HTTP/1.1\r\nhost: x\r\n{big}connection: close\r\n\r\n"),
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 431"), "{out}");

    for (request, status, code) in [
        ("POST /healthz", "405", "method-not-allowed"),
        ("DELETE /readyz", "405", "method-not-allowed"),
        ("GET /actions/ping", "405", "method-not-allowed"),
        ("GET /nowhere", "404", "not-exists"),
        ("POST /nowhere", "404", "not-exists"),
    ] {
        let out = raw(
            address,
            format!(
                "{request} HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            ),
        )
        .await;
        assert!(
            out.starts_with(&format!("HTTP/1.1 {status}")),
            "{request}: {out}"
        );
        assert_eq!(body_of(&out)["extensions"]["code"], code, "{request}");
        assert!(body_of(&out)["message"].is_string(), "{request}");
        assert!(has_request_id(&out), "{request}: {out}");
    }
    // Successful answers outside the webhook routes carry it too, echoing Hasura's.
    let out = raw(
        address,
        "GET /healthz HTTP/1.1\r\nhost: x\r\nx-request-id: abc-123\r\nconnection: close\r\n\r\n"
            .into(),
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(
        out.to_ascii_lowercase().contains("x-request-id: abc-123"),
        "{out}"
    );
    let out = raw(
        address,
        "GET /readyz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n".into(),
    )
    .await;
    assert!(has_request_id(&out), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_reads_nothing_does_not_hold_its_connection() {
    // One connection at a time: the stalled client must be dropped before another is served.
    let address = start(1).await;
    tokio::task::spawn_blocking(move || {
        // Thousands of pipelined requests whose answers the client never reads: the server's
        // writes stall once the socket buffers are full.
        let mut stalled = connect(address);
        stalled
            .set_write_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let request = b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n";
        for _ in 0..100_000 {
            if stalled.write_all(request).is_err() {
                break;
            }
        }
        // Another client is served once the watchdog has dropped the stalled one (idle 3 s).
        let started = Instant::now();
        let mut next = connect(address);
        next.write_all(ping_request(false).as_bytes()).unwrap();
        let (out, _) = read_to_close(next);
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        assert!(
            started.elapsed() < Duration::from_secs(9),
            "{:?}",
            started.elapsed()
        );
        drop(stalled);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_reader_of_a_long_answer_is_not_cut_off() {
    // Reading a little at a time keeps the connection: progress, not the clock, counts.
    let address = start(16).await;
    let out = tokio::task::spawn_blocking(move || {
        let mut stream = connect(address);
        let request = b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n".repeat(20_000);
        let writer = {
            let mut stream = stream.try_clone().unwrap();
            std::thread::spawn(move || stream.write_all(&request))
        };
        let mut total = 0;
        let mut buf = [0u8; 16 * 1024];
        let started = Instant::now();
        // About 4 s (longer than the 3 s idle timeout), reading slowly throughout.
        while started.elapsed() < Duration::from_secs(4) {
            std::thread::sleep(Duration::from_millis(200));
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
        let _ = writer.join();
        (total, started.elapsed())
    })
    .await
    .unwrap();
    assert!(out.1 >= Duration::from_secs(4), "closed after {:?}", out.1);
    assert!(out.0 > 0);
}
