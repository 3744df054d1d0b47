//! Micro-benchmarks: Rasura's `JwtConfig::verify` against a bare `jsonwebtoken::decode` of the
//! same token, and the cost of one handler span (`cargo run --release -p rasura-bench --example jwt_micro`).

use std::time::Instant;

use rasura::security::jwt::JwtConfig;
use rasura::testing::JwtClaims;

fn main() {
    let key = "bench-jwt-secret-0123456789abcdef0123456789";
    let token = JwtClaims::new()
        .allowed_roles(["user", "admin"])
        .default_role("user")
        .user_id("user-123")
        .sign_hs256(key)
        .unwrap();
    let config = JwtConfig::hs256(key).unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let n = 200_000;
    let t = Instant::now();
    for _ in 0..n {
        rt.block_on(config.verify(std::hint::black_box(&headers)))
            .unwrap();
    }
    println!(
        "rasura verify: {:.0} ns",
        t.elapsed().as_nanos() as f64 / n as f64
    );
    let dk = jsonwebtoken::DecodingKey::from_secret(key.as_bytes());
    let v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    let t = Instant::now();
    for _ in 0..n {
        jsonwebtoken::decode::<serde_json::Value>(std::hint::black_box(&token), &dk, &v).unwrap();
    }
    println!(
        "bare decode to Value: {:.0} ns",
        t.elapsed().as_nanos() as f64 / n as f64
    );
    let t = Instant::now();
    for _ in 0..n {
        jsonwebtoken::decode_header(std::hint::black_box(&token)).unwrap();
    }
    println!(
        "decode_header: {:.0} ns",
        t.elapsed().as_nanos() as f64 / n as f64
    );

    // The handler span under tracing-subscriber's stock `fmt` subscriber (`info` filter); the
    // service itself installs a leaner field formatter (see runtime/src/telemetry.rs).
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .with_writer(std::io::sink)
        .finish();
    let fields = rasura::__private::SpanFields {
        request_id: "0123456789abcdef0123456789abcdef",
        trace_id: None,
        span_id: None,
    };
    tracing::subscriber::with_default(subscriber, || {
        let t = Instant::now();
        for _ in 0..n {
            let span = rasura::__handler_span!("pong", "action", &fields);
            let _entered = span.enter();
        }
        println!(
            "span create+enter+exit+close: {:.0} ns",
            t.elapsed().as_nanos() as f64 / n as f64
        );
    });
}
