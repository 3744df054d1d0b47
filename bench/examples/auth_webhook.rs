//! The auth webhook's cost per `GET /auth/webhook` (in process, through the router, no TCP):
//! a cached answer (the same token again) against an uncached one (a new token each time:
//! signature check, claims, role choice, answer). HS256 tokens; `role_mapping: false` with a
//! `default_role`, so no database is involved.
//! `cargo run --release -p rasura-bench --example auth_webhook [REQUESTS]`

use std::time::Instant;

use rasura::auth::IdentityConfig;
use rasura::auth::webhook::AuthWebhookConfig;
use rasura::testing::{JwtClaims, TestService};

const KEY: &str = "bench-idp-secret-0123456789abcdef0123456789";

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let webhook = AuthWebhookConfig::from_json(
        &serde_json::json!({"type": "HS256", "key": KEY, "role_mapping": false,
                            "default_role": "user"})
        .to_string(),
    )
    .unwrap();
    let identity = IdentityConfig {
        webhook: Some(std::sync::Arc::new(webhook)),
        ..IdentityConfig::default()
    };
    let service = TestService::new(
        rasura::Service::with_handlers([])
            .with_config(TestService::config().with_identity(identity)),
    );
    let token = |i: usize| {
        JwtClaims::new()
            .claim("sub", format!("user-{i}"))
            .without_hasura_claim("x-hasura-allowed-roles")
            .sign_hs256(KEY)
            .unwrap()
    };
    let fresh: Vec<String> = (0..n).map(token).collect();
    let same = token(usize::MAX);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for _ in 0..1000 {
            let r = service.auth_webhook_get().bearer(&same).send().await;
            assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        }
        let t = Instant::now();
        for _ in 0..n {
            service.auth_webhook_get().bearer(&same).send().await;
        }
        let cached = t.elapsed().as_nanos() as f64 / n as f64 / 1000.0;
        let t = Instant::now();
        for token in &fresh {
            service.auth_webhook_get().bearer(token).send().await;
        }
        let uncached = t.elapsed().as_nanos() as f64 / n as f64 / 1000.0;
        println!(
            "auth webhook GET, {n} requests: cached {cached:.2} µs, uncached {uncached:.2} µs"
        );
    });
}
