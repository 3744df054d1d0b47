//! The soak: drives a running example service at a fixed rate for a bounded time with a mix of
//! actions and event deliveries, playing Hasura for the deliveries: any non-2xx (or a failed
//! connection) is retried with `delivery_info.current_retry` increased, after the answer's
//! `Retry-After` (or one second without one: Hasura would wait `interval_sec`, shortened here to
//! keep the run bounded), at most `max_retries` times. Then it checks:
//!
//! - every status was one the mix expects (actions 200; deliveries 200, or for `welcome_user`
//!   503 with `Retry-After` while the welcome API fails);
//! - every `user_role_changed` event's row is in `public.user_role_change`, and every delivery of
//!   both handlers is recorded in `rasura.processed_delivery`;
//! - no effect ran twice although a share of the events was delivered twice (at once, or a
//!   second later): the service's `rasura_duplicates_skipped_total` equals the number of
//!   duplicated events for each handler (a second run would not be counted as skipped), and the
//!   welcome API (played here) saw at most one successful call per event;
//! - every `welcome_user` event reached the welcome API, which fails the first call for a share
//!   of them;
//! - the service's RSS and open descriptors after warm-up, against the end.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use clap::Args;
use serde_json::{Value, json};

/// `rasura-benchkit soak`'s arguments.
#[derive(Args)]
pub struct SoakArgs {
    /// The service's base URL.
    #[arg(long)]
    url: String,
    /// The service's database (checked at the end).
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// The service's process id (RSS and descriptors are read from /proc).
    #[arg(long)]
    pid: u32,
    /// Requests per second (actions and first deliveries; retries and duplicates come on top).
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// How long to drive it, in seconds.
    #[arg(long, default_value_t = 300)]
    seconds: u64,
    /// The share of `user_role_changed` deliveries sent twice.
    #[arg(long, default_value_t = 0.1)]
    duplicate_share: f64,
    /// The share of `welcome_user` deliveries whose first welcome-API call fails (503).
    #[arg(long, default_value_t = 0.2)]
    fail_share: f64,
    /// The port of the welcome API played here (the service's `WELCOME_WEBHOOK_URL` must be
    /// `http://127.0.0.1:PORT/welcome`).
    #[arg(long)]
    welcome_port: u16,
    /// The service's webhook secret.
    #[arg(long, env = "RASURA_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: String,
    /// The HS256 key of `HASURA_GRAPHQL_JWT_SECRET`.
    #[arg(long, env = "SOAK_JWT_KEY", hide_env_values = true)]
    jwt_key: String,
}

/// The welcome API's record per idempotency key: calls and successful calls.
#[derive(Default)]
struct Welcome {
    calls: HashMap<String, (u32, u32)>,
    fail_share: f64,
    /// First calls answered 503.
    failed: u64,
}

/// What the drive saw.
#[derive(Default)]
struct Tally {
    statuses: Mutex<BTreeMap<String, u64>>,
    unexpected: Mutex<Vec<String>>,
    retries: AtomicU64,
}

impl Tally {
    fn count(&self, what: &str, status: u16) {
        *self
            .statuses
            .lock()
            .unwrap()
            .entry(format!("{what} {status}"))
            .or_default() += 1;
    }

    fn unexpected(&self, message: String) {
        let mut list = self.unexpected.lock().unwrap();
        if list.len() < 20 {
            list.push(message);
        }
        drop(list);
        self.count("unexpected", 0);
    }
}

/// A stable share test: whether `key` falls in the first `share` of the hash space.
fn in_share(key: &str, share: f64) -> bool {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    (h % 10_000) as f64 / 10_000.0 < share
}

/// Whether the event `id` is delivered twice (a hash of its own, independent of the welcome
/// API's failures).
fn duplicated(id: &str, share: f64) -> bool {
    in_share(&format!("duplicate:{id}"), share)
}

async fn welcome(
    State(state): State<Arc<Mutex<Welcome>>>,
    headers: HeaderMap,
) -> (StatusCode, &'static str) {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut state = state.lock().unwrap();
    let fail_share = state.fail_share;
    let entry = state.calls.entry(key.clone()).or_default();
    entry.0 += 1;
    if entry.0 == 1 && in_share(&key, fail_share) {
        state.failed += 1;
        return (StatusCode::SERVICE_UNAVAILABLE, "try later");
    }
    entry.1 += 1;
    (StatusCode::OK, "welcome")
}

fn proc_figures(pid: u32) -> (u64, usize) {
    let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0);
    (rss, fds)
}

struct Driver {
    client: reqwest::Client,
    url: String,
    secret: String,
    token: String,
    tally: Tally,
}

impl Driver {
    async fn action(&self, name: &str, body: Value, jwt: bool) {
        let mut request = self
            .client
            .post(format!("{}/actions/{name}", self.url))
            .header("x-rasura-webhook-secret", &self.secret)
            .json(&body);
        if jwt {
            request = request.bearer_auth(&self.token);
        }
        match request.send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                self.tally.count(name, status);
                if status != 200 {
                    let text = r.text().await.unwrap_or_default();
                    self.tally
                        .unexpected(format!("{name}: {status} {}", truncate(&text)));
                }
            }
            Err(e) => self.tally.unexpected(format!("{name}: {e}")),
        }
    }

    /// Delivers an event the way Hasura does: any non-2xx or failed connection is retried
    /// after `Retry-After` (one second without it), at most `max_retries` times. A 503 with
    /// `Retry-After` is expected when `transient_expected`; every other failure is counted as
    /// unexpected, and retried all the same.
    async fn deliver(&self, trigger: &str, mut body: Value, transient_expected: bool) {
        let max_retries = body["delivery_info"]["max_retries"].as_u64().unwrap_or(5);
        for attempt in 0..=max_retries {
            body["delivery_info"]["current_retry"] = json!(attempt);
            let sent = self
                .client
                .post(format!("{}/events/{trigger}", self.url))
                .header("x-rasura-webhook-secret", &self.secret)
                .json(&body)
                .send()
                .await;
            let wait = match sent {
                Ok(response) => {
                    let status = response.status().as_u16();
                    self.tally.count(trigger, status);
                    if response.status().is_success() {
                        return;
                    }
                    let retry_after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok());
                    let text = response.text().await.unwrap_or_default();
                    if !(transient_expected && status == 503 && retry_after.is_some()) {
                        self.tally.unexpected(format!(
                            "{trigger}: {status} (Retry-After {retry_after:?}) {}",
                            truncate(&text)
                        ));
                    }
                    retry_after.unwrap_or(1)
                }
                Err(e) => {
                    self.tally.unexpected(format!("{trigger}: {e}"));
                    1
                }
            };
            if attempt == max_retries {
                break;
            }
            self.tally.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_secs(wait.min(60))).await;
        }
        self.tally
            .unexpected(format!("{trigger}: still failing after its retries"));
    }
}

/// `rasura_duplicates_skipped_total` per handler, from the service's `/metrics`.
async fn duplicates_skipped(
    client: &reqwest::Client,
    url: &str,
) -> Result<BTreeMap<String, u64>, String> {
    let text = client
        .get(format!("{url}/metrics"))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| format!("/metrics: {e}"))?
        .text()
        .await
        .map_err(|e| format!("/metrics: {e}"))?;
    let mut counts = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("rasura_duplicates_skipped_total{") else {
            continue;
        };
        let handler = rest
            .split("handler=\"")
            .nth(1)
            .and_then(|h| h.split('"').next())
            .unwrap_or_default();
        let value = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
        counts.insert(handler.to_owned(), value as u64);
    }
    Ok(counts)
}

fn truncate(text: &str) -> &str {
    &text[..text.len().min(200)]
}

fn event_body(trigger: &str, id: &str, op: &str, old: Value, new: Value) -> Value {
    json!({
        "event": {
            "session_variables": {"x-hasura-role": "admin", "x-hasura-user-id": "soak-admin"},
            "op": op,
            "data": {"old": old, "new": new},
            "trace_context": null
        },
        "created_at": "2026-01-02T00:00:00.000000",
        "id": id,
        "delivery_info": {"max_retries": 5, "current_retry": 0},
        "trigger": {"name": trigger},
        "table": {"schema": "public", "name": "user"}
    })
}

fn user(id: &str, role: &str) -> Value {
    json!({"user_id": id, "role": role, "user_phone": "+15550100", "token": 0,
           "created_at": "2026-01-01T00:00:00+00:00", "updated_at": "2026-01-01T00:00:00+00:00"})
}

/// Runs the soak on its own runtime; `Err` lists every failed check.
pub fn run(args: SoakArgs) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(soak(args))
}

async fn soak(args: SoakArgs) -> Result<(), String> {
    let welcome_state = Arc::new(Mutex::new(Welcome {
        fail_share: args.fail_share,
        ..Welcome::default()
    }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.welcome_port))
        .await
        .map_err(|e| format!("the welcome API's port {}: {e}", args.welcome_port))?;
    let app = axum::Router::new()
        .route("/welcome", axum::routing::post(welcome))
        .with_state(Arc::clone(&welcome_state));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"sub": "soak-user", "iat": now, "exp": now + 86_400,
                "https://hasura.io/jwt/claims": {"x-hasura-allowed-roles": ["user", "admin"],
                    "x-hasura-default-role": "user", "x-hasura-user-id": "soak-user"}}),
        &jsonwebtoken::EncodingKey::from_secret(args.jwt_key.as_bytes()),
    )
    .map_err(|e| e.to_string())?;
    let driver = Arc::new(Driver {
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(256)
            .build()
            .map_err(|e| e.to_string())?,
        url: args.url.trim_end_matches('/').to_owned(),
        secret: args.webhook_secret.clone(),
        token,
        tally: Tally::default(),
    });

    let run_id = format!("{:08x}", now as u32 ^ std::process::id());
    let role_events: Arc<Mutex<Vec<String>>> = Arc::default();
    let welcome_events: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut tasks = tokio::task::JoinSet::new();
    let period = Duration::from_secs_f64(1.0 / args.rate.max(0.1));
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let warm_up = Duration::from_secs((args.seconds / 5).max(5));
    let mut samples: Vec<(Duration, u64, usize)> = vec![(Duration::ZERO, 0, 0)];
    let mut next_sample = started;
    let mut n: u64 = 0;
    eprintln!(
        "soak: {} req/s for {} s against {} (run {run_id})",
        args.rate, args.seconds, args.url
    );
    while Instant::now() < deadline {
        ticker.tick().await;
        if Instant::now() >= next_sample {
            let (rss, fds) = proc_figures(args.pid);
            samples.push((started.elapsed(), rss, fds));
            next_sample += Duration::from_secs(5);
        }
        n += 1;
        // Actions are sent here; an event delivery is returned, to be sent (maybe twice) below.
        let delivery = match n % 10 {
            // 40%: pong, with the caller's JWT.
            0..=3 => {
                let body = json!({"action": {"name": "pong"}, "input": {"message": "soak", "number": n},
                    "session_variables": {"x-hasura-role": "user", "x-hasura-user-id": "soak-user"},
                    "request_query": "mutation { pong(message: \"soak\", number: 1) { message number } }"});
                let d = Arc::clone(&driver);
                tasks.spawn(async move { d.action("pong", body, true).await });
                None
            }
            // 20%: ping, as one of a thousand users (its rate limit is per user).
            4 | 5 => {
                let body = json!({"action": {"name": "ping"}, "input": {},
                    "session_variables": {"x-hasura-role": "user", "x-hasura-user-id": format!("soak-{}", n % 1000)},
                    "request_query": "query { ping { user_id role } }"});
                let d = Arc::clone(&driver);
                tasks.spawn(async move { d.action("ping", body, false).await });
                None
            }
            // 30%: user_role_changed, a share of them delivered twice.
            6..=8 => {
                let id = format!("{run_id}-0000-4000-8000-{n:012x}");
                role_events.lock().unwrap().push(id.clone());
                let body = event_body(
                    "user_role_changed",
                    &id,
                    "UPDATE",
                    user(&format!("soak-{}", n % 1000), "user"),
                    user(&format!("soak-{}", n % 1000), "admin"),
                );
                Some(("user_role_changed", id, body, false))
            }
            // 10%: welcome_user, whose welcome API fails a share of first calls.
            _ => {
                let id = format!("{run_id}-1111-4000-8000-{n:012x}");
                welcome_events.lock().unwrap().push(id.clone());
                let body = event_body(
                    "welcome_user",
                    &id,
                    "INSERT",
                    Value::Null,
                    user(&format!("soak-new-{n}"), "user"),
                );
                Some(("welcome_user", id, body, true))
            }
        };
        if let Some((trigger, id, body, transient)) = delivery {
            if duplicated(&id, args.duplicate_share) {
                let again = Arc::clone(&driver);
                let copy = body.clone();
                // Half at once (a race on the record), half a second later.
                let delay = if n % 20 < 10 { 0 } else { 1000 };
                tasks.spawn(async move {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                    again.deliver(trigger, copy, transient).await
                });
            }
            let d = Arc::clone(&driver);
            tasks.spawn(async move { d.deliver(trigger, body, transient).await });
        }
        // Reap finished tasks so the set stays small.
        while tasks.try_join_next().is_some() {}
    }
    let sent = n;
    let driven = started.elapsed();
    eprintln!("soak: {sent} requests sent in {driven:?}; waiting for retries to finish");
    let drain = tokio::time::timeout(Duration::from_secs(180), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drain.is_err() {
        driver
            .tally
            .unexpected("deliveries still retrying 180 s after the drive".to_owned());
    }
    let (rss_end, fds_end) = proc_figures(args.pid);
    samples.push((started.elapsed(), rss_end, fds_end));

    // The checks, in Postgres.
    let db = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&args.database_url)
        .await
        .map_err(|e| format!("the database: {e}"))?;
    let role_ids = role_events.lock().unwrap().clone();
    let welcome_ids = welcome_events.lock().unwrap().clone();
    let mut failures = Vec::new();
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT event_id::text, count(*) FROM public.user_role_change \
         WHERE event_id::text = ANY($1) GROUP BY event_id",
    )
    .bind(&role_ids)
    .fetch_all(&db)
    .await
    .map_err(|e| e.to_string())?;
    let effects: HashMap<String, i64> = rows.into_iter().collect();
    let missing = role_ids
        .iter()
        .filter(|id| !effects.contains_key(*id))
        .count();
    let doubled = effects.values().filter(|c| **c != 1).count();
    if missing > 0 || doubled > 0 {
        failures.push(format!(
            "user_role_changed: {missing} events without their row, {doubled} with more than one"
        ));
    }
    for (handler, ids) in [
        ("user_role_changed", &role_ids),
        ("welcome_user", &welcome_ids),
    ] {
        let recorded: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM rasura.processed_delivery WHERE handler = $1 AND id = ANY($2)",
        )
        .bind(handler)
        .bind(ids)
        .fetch_one(&db)
        .await
        .map_err(|e| e.to_string())?;
        if recorded != ids.len() as i64 {
            failures.push(format!(
                "{handler}: {recorded} deliveries recorded for {} events",
                ids.len()
            ));
        }
    }
    let (failed_first, twice) = {
        let state = welcome_state.lock().unwrap();
        let unwelcomed = welcome_ids
            .iter()
            .filter(|id| state.calls.get(*id).is_none_or(|(_, ok)| *ok == 0))
            .count();
        let twice = state.calls.values().filter(|(_, ok)| *ok > 1).count();
        if unwelcomed > 0 {
            failures.push(format!(
                "welcome_user: {unwelcomed} events never reached the welcome API"
            ));
        }
        if twice > 0 {
            failures.push(format!(
                "welcome_user: {twice} events called the welcome API successfully twice"
            ));
        }
        (state.failed, twice)
    };
    // A duplicate that ran instead of being skipped is not counted as skipped.
    let role_duplicates = role_ids
        .iter()
        .filter(|id| duplicated(id, args.duplicate_share))
        .count();
    let welcome_duplicates = welcome_ids
        .iter()
        .filter(|id| duplicated(id, args.duplicate_share))
        .count();
    let skipped = duplicates_skipped(&driver.client, &driver.url).await?;
    for (handler, expected) in [
        ("user_role_changed", role_duplicates),
        ("welcome_user", welcome_duplicates),
    ] {
        let counted = skipped.get(handler).copied().unwrap_or(0);
        if counted != expected as u64 {
            failures.push(format!(
                "{handler}: {counted} duplicate deliveries skipped for {expected} duplicated events"
            ));
        }
    }
    let unexpected = driver.tally.unexpected.lock().unwrap().clone();
    if !unexpected.is_empty() {
        failures.push(format!(
            "unexpected answers (first {}): {unexpected:#?}",
            unexpected.len()
        ));
    }

    // The report.
    // After warm-up, or the last sample taken during the drive in a very short run.
    let warm = samples
        .iter()
        .find(|(t, _, _)| *t >= warm_up)
        .or(samples.get(samples.len().saturating_sub(2)))
        .copied()
        .unwrap_or((Duration::ZERO, 0, 0));
    let peak_rss = samples.iter().map(|s| s.1).max().unwrap_or(0);
    println!(
        "soak: {sent} requests in {:.0} s ({:.0} req/s offered)",
        driven.as_secs_f64(),
        args.rate
    );
    println!("statuses:");
    for (what, count) in driver.tally.statuses.lock().unwrap().iter() {
        println!("  {what:<28} {count}");
    }
    println!(
        "deliveries: {} user_role_changed ({role_duplicates} delivered twice), {} welcome_user \
         ({welcome_duplicates} delivered twice; {failed_first} failed their first welcome call); \
         {} retries after Retry-After; duplicates skipped by the service: {:?}; welcome API \
         calls that succeeded twice for one event: {twice}",
        role_ids.len(),
        welcome_ids.len(),
        driver.tally.retries.load(Ordering::Relaxed),
        skipped
    );
    println!(
        "service: RSS {:.1} MB after warm-up ({:.0} s), {:.1} MB at the end, peak {:.1} MB; open descriptors {} after warm-up, {} at the end",
        warm.1 as f64 / 1024.0,
        warm.0.as_secs_f64(),
        rss_end as f64 / 1024.0,
        peak_rss as f64 / 1024.0,
        warm.2,
        fds_end
    );
    if failures.is_empty() {
        println!("soak: passed: every effect once, duplicates skipped, no unexpected status");
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}
