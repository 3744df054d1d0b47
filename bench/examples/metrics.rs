//! What recording a request's metrics costs (the budget: under 300 ns): the in-flight
//! gauge up and down, two clock reads, the histogram and the status counter, as
//! `pipeline::handle` does, for a success (pre-registered counter) and a failure (looked up in
//! its family); and one `/metrics` encoding with 20 handlers.
//!
//! `cargo run --release -p rasura-bench --example metrics [REQUESTS]`

use std::time::Instant;

use rasura::metrics::Metrics;

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn per_request(n: usize, mut f: impl FnMut()) -> f64 {
    let mut rounds = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        rounds.push(t.elapsed().as_nanos() as f64 / n as f64);
    }
    median(rounds)
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let metrics = Metrics::new();
    let handler = metrics.handler("action", "pong");
    let ok = per_request(n, || {
        let started = Instant::now();
        let in_flight = handler.start();
        drop(std::hint::black_box(in_flight));
        handler.record(&metrics, 200, started.elapsed());
    });
    println!("record a success: {ok:.0} ns (median of 5 rounds of {n})");
    let failed = per_request(n, || {
        let started = Instant::now();
        let in_flight = handler.start();
        drop(std::hint::black_box(in_flight));
        handler.record(&metrics, 403, started.elapsed());
    });
    println!("record a failure: {failed:.0} ns");
    const NAMES: [&str; 20] = [
        "h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "h9", "h10", "h11", "h12", "h13",
        "h14", "h15", "h16", "h17", "h18", "h19",
    ];
    for name in NAMES {
        metrics.handler("action", name);
    }
    let t = Instant::now();
    let rounds = 200;
    let mut bytes = 0;
    for _ in 0..rounds {
        bytes = std::hint::black_box(metrics.encode()).len();
    }
    println!(
        "encode /metrics (21 handlers, {bytes} bytes): {:.0} µs",
        t.elapsed().as_secs_f64() * 1e6 / f64::from(rounds)
    );
}
