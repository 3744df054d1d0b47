//! Rate limits in a real Redis: two service instances share one limit, and a Redis that stops
//! or hangs mid-test makes the limiter fail open or closed as configured, within its timeout.
//!
//! `scripts/test.sh` starts a shared Redis (`RASURA_TEST_REDIS_URL`); the tests that stop Redis
//! start their own instance of `RASURA_TEST_REDIS_SERVER` (or `redis-server` on the `PATH`).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rasura::config::Secret;
use rasura::rate::{FailMode, RateLimitConfig};
use rasura::testing::TestService;
use rasura::{ActionError, Ctx, Service, action, handler};
use serde::Serialize;

#[derive(Serialize, rasura::CustomType)]
struct Done {
    ok: bool,
}

#[action(roles = ["user"], rate = "3/min")]
async fn shared_limit(_ctx: Ctx) -> Result<Done, ActionError> {
    Ok(Done { ok: true })
}

/// A Redis server of this test's own, on a free port, without persistence.
struct TestRedis {
    child: Child,
    port: u16,
}

impl TestRedis {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self::start_on(port)
    }

    fn start_on(port: u16) -> Self {
        let binary =
            std::env::var("RASURA_TEST_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let child = Command::new(&binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {binary} ({e}): the Redis tests need redis-server; run scripts/test.sh")
            });
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, port }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn stop(mut self) -> u16 {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.port
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn service(url: &str, fail: FailMode) -> TestService {
    TestService::new(
        Service::with_handlers([handler!(shared_limit)]).with_config(
            TestService::config().with_rate_limit(RateLimitConfig {
                redis_url: Some(Secret::new(url)),
                fail,
                timeout: Some(Duration::from_millis(300)),
                ..RateLimitConfig::default()
            }),
        ),
    )
}

async fn call(s: &TestService, user: &str) -> (u16, Option<String>, Duration) {
    let started = Instant::now();
    let response = s
        .action("shared_limit")
        .role("user")
        .user_id(user)
        .send()
        .await;
    let code = response
        .json::<serde_json::Value>()
        .get("extensions")
        .and_then(|e| e["code"].as_str().map(str::to_owned));
    (response.status.as_u16(), code, started.elapsed())
}

/// A user id no other run has used (the shared Redis lives for the whole test run).
fn fresh_user() -> String {
    format!(
        "u-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

#[tokio::test]
async fn two_instances_share_one_limit_in_redis() {
    let url = std::env::var("RASURA_TEST_REDIS_URL").expect(
        "RASURA_TEST_REDIS_URL is not set: the Redis tests need a Redis server; run scripts/test.sh",
    );
    let (a, b) = (
        service(&url, FailMode::Closed),
        service(&url, FailMode::Closed),
    );
    let user = fresh_user();
    // 3 per minute in all, whichever replica answers.
    assert_eq!(call(&a, &user).await.0, 200);
    assert_eq!(call(&b, &user).await.0, 200);
    assert_eq!(call(&a, &user).await.0, 200);
    let (status, code, _) = call(&b, &user).await;
    assert_eq!((status, code.as_deref()), (429, Some("rate-limited")));
    let response = b
        .action("shared_limit")
        .role("user")
        .user_id(&user)
        .send()
        .await;
    let retry: u64 = response.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=20).contains(&retry), "{retry}");
    assert_eq!(call(&a, &user).await.0, 429);
    // Another user is untouched.
    assert_eq!(call(&b, &fresh_user()).await.0, 200);
}

#[tokio::test]
async fn redis_stopped_mid_test_fails_open_or_closed_then_recovers() {
    let redis = TestRedis::start();
    let url = redis.url();
    let open = service(&url, FailMode::Open);
    let closed = service(&url, FailMode::Closed);
    let user = fresh_user();
    for _ in 0..3 {
        assert_eq!(call(&open, &user).await.0, 200);
    }
    assert_eq!(call(&open, &user).await.0, 429);
    assert_eq!(call(&closed, &user).await.0, 429, "one limit for both");

    let port = redis.stop();
    for _ in 0..3 {
        let (status, _, took) = call(&open, &user).await;
        assert_eq!(status, 200, "fail open lets requests through");
        assert!(took < Duration::from_secs(2), "{took:?}");
        let (status, code, took) = call(&closed, &user).await;
        assert_eq!(
            (status, code.as_deref()),
            (429, Some("rate-limit-unavailable"))
        );
        assert!(took < Duration::from_secs(2), "{took:?}");
    }

    // Redis back (empty): the limiter reconnects and counts again.
    let _redis = TestRedis::start_on(port);
    let again = fresh_user();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _, _) = call(&closed, &again).await;
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the limiter did not reconnect");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(call(&closed, &again).await.0, 200);
    assert_eq!(call(&closed, &again).await.0, 200);
    assert_eq!(call(&closed, &again).await.0, 429);
}

#[tokio::test]
async fn a_hanging_redis_costs_at_most_the_timeout() {
    let redis = TestRedis::start();
    let open = service(&redis.url(), FailMode::Open);
    let closed = service(&redis.url(), FailMode::Closed);
    let user = fresh_user();
    assert_eq!(call(&open, &user).await.0, 200);
    assert_eq!(call(&closed, &user).await.0, 200);
    redis.signal("-STOP");
    let (status, _, took) = call(&open, &user).await;
    let (closed_status, code, closed_took) = call(&closed, &user).await;
    redis.signal("-CONT");
    assert_eq!(status, 200);
    assert_eq!(
        (closed_status, code.as_deref()),
        (429, Some("rate-limit-unavailable"))
    );
    for took in [took, closed_took] {
        assert!(
            took >= Duration::from_millis(250) && took < Duration::from_secs(2),
            "{took:?}"
        );
    }
}
