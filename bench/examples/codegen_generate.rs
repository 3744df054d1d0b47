//! Parse + generate time of `rasura-codegen` on the fixture schemas (the largest is
//! carnet-de-bord's 578 KB SDL): median of 15 runs each, reachable mode and `all`.
//!
//! `cargo run --release -p rasura-bench --example codegen_generate` (add `--profile dev` to see
//! what an unoptimised `build.rs` pays).

use std::path::Path;
use std::time::{Duration, Instant};

use rasura_codegen::Config;

fn median(config: &Config) -> (Duration, usize) {
    let mut times = Vec::new();
    let mut lines = 0;
    for _ in 0..15 {
        let start = Instant::now();
        let generated = config.generate_to_string().expect("generate");
        times.push(start.elapsed());
        lines = generated.code.lines().count();
    }
    times.sort();
    (times[times.len() / 2], lines)
}

fn main() {
    let fixtures =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/hasura-schemas");
    let f = |p: &str| fixtures.join(p);
    let cases = [
        (
            "carnet-de-bord (578 KB SDL), 9 actions",
            Config::new()
                .schema(f("carnet-de-bord/schema.graphql"))
                .metadata(f("carnet-de-bord/metadata")),
        ),
        (
            "intuition-rs (203 KB SDL), 3 actions + 5 operations",
            Config::new()
                .schema(f("intuition-rs/schema.graphql"))
                .metadata(f("intuition-rs/metadata"))
                .operations(
                    Path::new(env!("CARGO_MANIFEST_DIR")).join("codegen/intuition.graphql"),
                ),
        ),
        (
            "current-bench (302 KB introspection JSON)",
            Config::new().schema(f("current-bench/graphql_schema.json")),
        ),
    ];
    println!(
        "{:<55} {:>12} {:>8} {:>12} {:>8}",
        "fixture", "reachable", "lines", "all", "lines"
    );
    for (name, config) in cases {
        let (reachable, r_lines) = median(&config);
        let (all, a_lines) = median(&config.clone().all(true));
        println!(
            "{name:<55} {:>9.1} ms {r_lines:>8} {:>9.1} ms {a_lines:>8}",
            reachable.as_secs_f64() * 1e3,
            all.as_secs_f64() * 1e3
        );
    }
}
