//! What a rate limit costs per request.
//!
//! 1. The in-memory store alone (`governor`'s GCRA, 1000 keys, never over the limit).
//! 2. Through the router, in process: an action with `rate = "…"` against the same action
//!    without, so the difference is the limiter's whole cost (key, bucket, store, timeout).
//! 3. The Redis store (one round trip per check), when a URL is given.
//!
//! `cargo run --release -p rasura-bench --example rate_limit [REQUESTS] [redis://…]`

use std::time::Instant;

use rasura::rate::{MemoryStore, RateLimit, RateLimitStore};
use rasura::testing::TestService;
use rasura::{ActionError, Ctx, Service, action, handler};
use serde::Serialize;

#[derive(Serialize, rasura::CustomType)]
struct Out {
    ok: bool,
}

#[action(roles = ["user"])]
async fn free(_ctx: Ctx) -> Result<Out, ActionError> {
    Ok(Out { ok: true })
}

#[action(roles = ["user"], rate = "1000000/s, burst 1000000")]
async fn limited(_ctx: Ctx) -> Result<Out, ActionError> {
    Ok(Out { ok: true })
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let redis_url = args.next();
    let limit = RateLimit::per_second(1_000_000).with_burst(1_000_000);

    let store = MemoryStore::new();
    let keys: Vec<String> = (0..1000).map(|i| format!("bench|user:{i}")).collect();
    let mut rounds = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        for i in 0..n {
            std::hint::black_box(store.check_now(&keys[i % keys.len()], &limit));
        }
        rounds.push(t.elapsed().as_nanos() as f64 / n as f64);
    }
    println!(
        "memory store check: {:.0} ns (median of 5 rounds of {n})",
        median(rounds)
    );

    // The limiter's whole path as a handler calls it (key, bucket, store), no router.
    let rt0 = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt0.block_on(async {
        let ctxs: Vec<Ctx> = keys
            .iter()
            .map(|k| {
                let session = serde_json::from_value(serde_json::json!({
                    "x-hasura-role": "user", "x-hasura-user-id": k
                }))
                .unwrap();
                Ctx::for_tests(rasura::context::Identity::new(session))
            })
            .collect();
        let mut rounds = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            for i in 0..n {
                ctxs[i % ctxs.len()].rate_limit(&limit, None).await.unwrap();
            }
            rounds.push(t.elapsed().as_nanos() as f64 / n as f64);
        }
        println!(
            "ctx.rate_limit (key, bucket, memory store): {:.0} ns (median of 5 rounds of {n})",
            median(rounds)
        );
    });

    let service = TestService::new(Service::with_handlers([handler!(free), handler!(limited)]));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let requests = n / 10;
    rt.block_on(async {
        let run = async |name: &str| {
            let t = Instant::now();
            for i in 0..requests {
                let r = service
                    .action(name)
                    .role("user")
                    .user_id(&keys[i % keys.len()])
                    .send()
                    .await;
                assert_eq!(r.status, 200);
            }
            t.elapsed().as_nanos() as f64 / requests as f64
        };
        let (mut without, mut with) = (Vec::new(), Vec::new());
        for _ in 0..15 {
            without.push(run("free").await);
            with.push(run("limited").await);
        }
        let (without, with) = (median(without), median(with));
        println!(
            "router, in process: {:.2} µs without a limit, {:.2} µs with one: +{:.0} ns per request",
            without / 1000.0,
            with / 1000.0,
            with - without
        );
    });

    if let Some(url) = redis_url {
        let store = rasura::rate::RedisStore::new(&url).unwrap();
        rt.block_on(async {
            let checks = 5000;
            let mut rounds = Vec::new();
            for _ in 0..3 {
                let t = Instant::now();
                for i in 0..checks {
                    store.check(&keys[i % keys.len()], &limit).await.unwrap();
                }
                rounds.push(t.elapsed().as_nanos() as f64 / checks as f64);
            }
            println!(
                "redis store check (one round trip on loopback): {:.1} µs (median of 3 rounds of {checks})",
                median(rounds) / 1000.0
            );
        });
    }
}
