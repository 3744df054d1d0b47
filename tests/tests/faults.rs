//! Faults: PostgreSQL stops while the service runs, then comes back. Against its own PostgreSQL
//! cluster (initdb'd and started here, as the `postgres` user when run as root), never the one
//! the rest of the suite shares. While it is down, an action reading the database answers 400
//! `postgres-error` (documented), an event delivery answers 503 with `Retry-After` and records
//! nothing, and `/readyz` fails; once it is back, the same service (no restart) answers again,
//! the redelivered event runs once, and an already acknowledged one is not run twice. And a
//! Hasura that accepts connections but never answers: `ctx.graphql()` is bounded by
//! `RASURA_GRAPHQL_TIMEOUT`, with a typed error (actions 400, deliveries 503 + `Retry-After`);
//! so is the scheduler's Metadata API call, hanging or unreachable.
//! And a handler blocking its worker thread: the other routes keep answering on the others;
//! and one leaking memory: the process grows, and the service keeps answering.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use rasura::db::sqlx;
use rasura::testing::TestService;
use rasura::{
    ActionError, Ctx, Event, EventError, Scheduled, Service, action, event, handler, scheduled,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A PostgreSQL cluster of this test's own, on a free loopback port.
struct OwnPostgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

fn as_postgres(program: PathBuf) -> Command {
    // PostgreSQL refuses to run as root: as root, run it as the `postgres` user.
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run(mut command: Command, what: &str) {
    let out = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl OwnPostgres {
    fn start() -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's binaries (scripts/test.sh installs them)")
            .flatten()
            .map(|e| e.path().join("bin"))
            .find(|b| b.join("initdb").is_file())
            .expect("an initdb under /usr/lib/postgresql/*/bin");
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let dir = std::env::temp_dir().join(format!("rasura-faults-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // The cluster's owner must own its directory.
        let _ = Command::new("chown").arg("postgres").arg(&dir).status();
        let mut initdb = as_postgres(bin.join("initdb"));
        initdb.arg("-D").arg(dir.join("data")).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        ]);
        run(initdb, "initdb");
        let pg = Self { bin, dir, port };
        pg.resume();
        pg
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn pg_ctl(&self, args: &[&str]) -> Command {
        let mut c = as_postgres(self.bin.join("pg_ctl"));
        c.arg("-D").arg(self.dir.join("data")).args(args);
        c
    }

    /// Starts (or restarts) the server and waits until it accepts connections.
    fn resume(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log");
        let mut start = self.pg_ctl(&["-w", "-t", "60", "-o", &options, "-l"]);
        start.arg(&log).arg("start");
        run(start, "pg_ctl start");
    }

    /// Stops the server at once (`-m immediate`: as a crash would).
    fn stop(&self) {
        run(
            self.pg_ctl(&["-m", "immediate", "-w", "stop"]),
            "pg_ctl stop",
        );
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-m", "immediate", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[derive(Deserialize)]
struct Item {
    id: i64,
}

/// Records each new item once (`ctx.once`: acknowledged only after the write commits).
#[event(
    table = "public.item",
    insert,
    retry(num_retries = 5, interval_sec = 7)
)]
async fn item_added(ctx: Ctx, event: Event<Item>) -> Result<(), EventError> {
    let item = event.operation.new_row().expect("an insert");
    ctx.once(&event.id, async |tx| {
        sqlx::query("INSERT INTO effect (item_id) VALUES ($1)")
            .bind(item.id)
            .execute(&mut **tx)
            .await?;
        Ok::<(), EventError>(())
    })
    .await?;
    Ok(())
}

#[derive(Serialize, rasura::CustomType)]
struct Count {
    effects: i64,
}

/// Reads the database.
#[action(query, roles = ["user"])]
async fn count_effects(ctx: Ctx) -> Result<Count, ActionError> {
    let effects = sqlx::query_scalar("SELECT count(*) FROM effect")
        .fetch_one(ctx.db()?)
        .await?;
    Ok(Count { effects })
}

async fn effects(url: &str) -> i64 {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let n = sqlx::query_scalar("SELECT count(*) FROM effect")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopping_and_returning_mid_service() {
    let pg = OwnPostgres::start();
    {
        let pool = sqlx::PgPool::connect(&pg.url()).await.unwrap();
        sqlx::query("CREATE TABLE effect (item_id bigint NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
    let service = TestService::new(
        Service::with_handlers([handler!(item_added), handler!(count_effects)])
            .with_config(TestService::config().with_database_url(&pg.url())),
    );
    let deliver = |id: &str, item: i64| {
        service
            .event("item_added")
            .table("public.item")
            .id(id)
            .insert(json!({"id": item}))
            .delivery(0, 5)
    };

    deliver("evt-1", 1).send().await.assert_status(200);
    service.get("/readyz").await.assert_status(200);

    pg.stop();
    // Events: transient, retried by Hasura, nothing acknowledged.
    let refused = deliver("evt-2", 2).send().await;
    refused.assert_status(503);
    assert!(
        refused.header("retry-after").is_some(),
        "a transient failure says when to retry"
    );
    // Actions: the documented `postgres-error`, in Hasura's format.
    service
        .action("count_effects")
        .role("user")
        .send()
        .await
        .assert_error(400, "postgres-error");
    let ready = service.get("/readyz").await;
    ready.assert_status(503);
    assert_eq!(
        ready.json::<serde_json::Value>()["checks"]["database"],
        "unreachable"
    );

    pg.resume();
    // The same service recovers without a restart (its pool reconnects).
    let deadline = Instant::now() + Duration::from_secs(30);
    while service.get("/readyz").await.status != 200 {
        assert!(Instant::now() < deadline, "no recovery within 30 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    deliver("evt-2", 2).send().await.assert_status(200);
    // The first delivery, acknowledged before the outage, is not run again.
    deliver("evt-1", 1).send().await.assert_status(200);
    let answer = service.action("count_effects").role("user").send().await;
    answer.assert_status(200);
    assert_eq!(answer.json::<serde_json::Value>(), json!({"effects": 2}));
    assert_eq!(effects(&pg.url()).await, 2);
}

/// A Hasura that accepts connections and never answers.
async fn hanging_hasura() -> (url::Url, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (url, task)
}

#[derive(Serialize, rasura::CustomType)]
struct Answered {
    ok: bool,
}

/// Asks Hasura something.
#[action(query, roles = ["user"])]
async fn ask_hasura(ctx: Ctx) -> Result<Answered, ActionError> {
    ctx.graphql()?
        .as_admin()
        .execute_raw("query { __typename }", None, None)
        .await?;
    Ok(Answered { ok: true })
}

#[derive(Deserialize)]
struct Row {
    id: i64,
}

/// Tells Hasura about each new row.
#[event(table = "public.row", insert, retry(num_retries = 3, interval_sec = 9))]
async fn tell_hasura(ctx: Ctx, event: Event<Row>) -> Result<(), EventError> {
    let row = event.operation.new_row().expect("an insert");
    ctx.graphql()?
        .as_admin()
        .execute_raw(
            "mutation ($id: bigint!) { touch(id: $id) { id } }",
            Some(&json!({"id": row.id})),
            None,
        )
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_hasura_costs_at_most_the_graphql_timeout() {
    let (hasura, _task) = hanging_hasura().await;
    let mut config = TestService::config().with_hasura(hasura, Some("admin-secret"));
    config.graphql_timeout = Duration::from_secs(1);
    let service = TestService::new(
        Service::with_handlers([handler!(ask_hasura), handler!(tell_hasura)]).with_config(config),
    );

    // A 4xx in Hasura's format after the timeout (a query is retried once on a connection
    // error), never a hang; the event is transient: 503 with Retry-After.
    assert_bounded_and_typed(
        &service,
        ("ask_hasura", "tell_hasura", None),
        Duration::from_secs(1)..Duration::from_secs(6),
    )
    .await;
}

/// Calls `action` (role `user`) and delivers an insert to `event` (retries remaining): the
/// action answers 400 `unexpected` and the delivery 503 (with `code`, when given) and
/// `Retry-After`, each taking a time within `bounds`.
async fn assert_bounded_and_typed(
    service: &TestService,
    (action, event, code): (&str, &str, Option<&str>),
    bounds: std::ops::Range<Duration>,
) {
    let started = Instant::now();
    let answer = service.action(action).role("user").send().await;
    let took = started.elapsed();
    answer.assert_error(400, "unexpected");
    assert!(bounds.contains(&took), "{action}: {took:?}");

    let started = Instant::now();
    let refused = service
        .event(event)
        .table("public.row")
        .insert(json!({"id": 7}))
        .delivery(0, 3)
        .send()
        .await;
    let took = started.elapsed();
    match code {
        Some(code) => {
            refused.assert_error(503, code);
        }
        None => {
            refused.assert_status(503);
        }
    }
    assert!(refused.header("retry-after").is_some(), "{event}");
    assert!(bounds.contains(&took), "{event}: {took:?}");
}

/// A one-off scheduled event's handler.
#[scheduled(name = "follow_up")]
async fn follow_up(_ctx: Ctx, _event: Scheduled<serde_json::Value>) -> Result<(), EventError> {
    Ok(())
}

/// Schedules a follow-up through Hasura's Metadata API.
#[action(mutation, roles = ["user"])]
async fn schedule_follow_up(ctx: Ctx) -> Result<Answered, ActionError> {
    ctx.scheduler()?
        .schedule::<FollowUp>(chrono::Utc::now(), &json!({}))
        .send()
        .await?;
    Ok(Answered { ok: true })
}

/// Schedules a follow-up for each new row.
#[event(table = "public.row", insert, retry(num_retries = 3, interval_sec = 9))]
async fn row_follow_up(ctx: Ctx, _event: Event<Row>) -> Result<(), EventError> {
    ctx.scheduler()?
        .schedule::<FollowUp>(chrono::Utc::now(), &json!({}))
        .send()
        .await?;
    Ok(())
}

/// The scheduler against a Metadata API that hangs, then one nothing listens on: bounded by
/// `RASURA_GRAPHQL_TIMEOUT`, an action answers 400 `unexpected` and a delivery 503 with
/// `Retry-After` (Hasura retries it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_or_hanging_scheduler_is_bounded_and_typed() {
    let (hanging, _task) = hanging_hasura().await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        drop(listener);
        url
    };
    for (hasura, least) in [(hanging, Duration::from_secs(1)), (closed, Duration::ZERO)] {
        let mut config = TestService::config().with_hasura(hasura.clone(), Some("admin-secret"));
        config.graphql_timeout = Duration::from_secs(1);
        let service = TestService::new(
            Service::with_handlers([
                handler!(follow_up),
                handler!(schedule_follow_up),
                handler!(row_follow_up),
            ])
            .with_config(config),
        );
        assert_bounded_and_typed(
            &service,
            (
                "schedule_follow_up",
                "row_follow_up",
                Some("scheduler-error"),
            ),
            least..Duration::from_secs(5),
        )
        .await;
    }
}

/// Serves `service` (the test configuration) on a loopback port; its base URL.
async fn serve_over_tcp(service: Service) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let service = service.with_config(TestService::config());
    tokio::spawn(async move { service.serve(listener).await });
    base
}

/// Calls the action `name` as Hasura would (role `user`, no input); the answer's status.
async fn call_action(client: &reqwest::Client, base: &str, name: &str) -> u16 {
    client
        .post(format!("{base}/actions/{name}"))
        .header(
            "x-rasura-webhook-secret",
            rasura::testing::TEST_WEBHOOK_SECRET,
        )
        .json(&json!({"action": {"name": name}, "input": {},
                      "session_variables": {"x-hasura-role": "user"},
                      "request_query": ""}))
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// `GET /healthz`'s status, within 3 s.
async fn healthz(client: &reqwest::Client, base: &str) -> u16 {
    client
        .get(format!("{base}/healthz"))
        .timeout(Duration::from_secs(3))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Set by `block_worker` when it starts blocking its thread.
static BLOCKING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// Ends `block_worker`'s block.
static RELEASE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Blocks its worker thread until released, 10 s at most (what a handler must not do: see the
/// README's Faults).
#[action(query, roles = ["user"])]
async fn block_worker(_ctx: Ctx) -> Result<Answered, ActionError> {
    use std::sync::atomic::Ordering;
    BLOCKING.store(true, Ordering::SeqCst);
    let until = Instant::now() + Duration::from_secs(10);
    while !RELEASE.load(Ordering::SeqCst) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(Answered { ok: true })
}

/// One HTTP/1.1 request over a plain socket, from outside any runtime (a client on the
/// service's runtime would itself wake its workers); the answer's status, or why none came
/// within 5 s.
fn status_from_outside(address: &str, head: &str, body: &str) -> Result<u16, String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let request = format!(
        "{head}\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .map_err(|e| format!("no answer: {e}"))?;
    let answer = String::from_utf8_lossy(&answer);
    answer
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {answer}"))
}

/// A handler blocking one of two workers: the other keeps answering (Rasura's worker nudge;
/// without it tokio leaves the idle worker asleep and nothing answers until the block ends).
/// The runtime serves only the service: both clients are plain sockets on other threads.
/// Several rounds, since which worker holds tokio's I/O driver varies.
#[test]
fn a_blocked_worker_leaves_the_other_routes_answering() {
    use std::sync::atomic::Ordering;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let base = runtime.block_on(serve_over_tcp(Service::with_handlers([handler!(
        block_worker
    )])));
    let address = base.strip_prefix("http://").unwrap().to_owned();
    let action = json!({"action": {"name": "block_worker"}, "input": {},
                        "session_variables": {"x-hasura-role": "user"},
                        "request_query": ""})
    .to_string();
    let call = format!(
        "POST /actions/block_worker HTTP/1.1\r\nContent-Type: application/json\r\n\
         x-rasura-webhook-secret: {}",
        rasura::testing::TEST_WEBHOOK_SECRET
    );
    for round in 0..8 {
        BLOCKING.store(false, Ordering::SeqCst);
        RELEASE.store(false, Ordering::SeqCst);
        let blocked = std::thread::spawn({
            let (address, call, action) = (address.clone(), call.clone(), action.clone());
            move || status_from_outside(&address, &call, &action)
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while !BLOCKING.load(Ordering::SeqCst) {
            assert!(
                !blocked.is_finished(),
                "round {round}: answered without blocking: {:?}",
                blocked.join()
            );
            assert!(
                Instant::now() < deadline,
                "round {round}: the handler never ran"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        // One worker is blocked until released: `/healthz` is answered on the other meanwhile.
        let health = status_from_outside(&address, "GET /healthz HTTP/1.1", "");
        RELEASE.store(true, Ordering::SeqCst);
        assert_eq!(
            health,
            Ok(200),
            "round {round}: /healthz while a worker was blocked"
        );
        assert_eq!(blocked.join().unwrap(), Ok(200), "round {round}");
    }
}

/// Leaks 64 MiB per call, touched so it is resident (what a handler must not do: see the
/// README's Faults).
#[action(query, roles = ["user"])]
async fn leak_memory(_ctx: Ctx) -> Result<Answered, ActionError> {
    let leaked: &'static mut [u8] = Box::leak(vec![1u8; 64 << 20].into_boxed_slice());
    std::hint::black_box(leaked);
    Ok(Answered { ok: true })
}

fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// A handler leaking memory grows the process (Rasura cannot reclaim it), and the service keeps
/// answering, its other routes and that one, until the memory limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaking_handler_grows_the_process_and_the_service_keeps_answering() {
    let base = serve_over_tcp(Service::with_handlers([handler!(leak_memory)])).await;
    let client = reqwest::Client::new();
    let before = resident_kib();
    for _ in 0..3 {
        assert_eq!(call_action(&client, &base, "leak_memory").await, 200);
    }
    let grown = resident_kib().saturating_sub(before);
    assert!(grown >= 150 << 10, "the leak is resident: grew {grown} KiB");
    assert_eq!(healthz(&client, &base).await, 200);
}
