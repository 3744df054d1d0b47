//! `Service::development_defaults()`: generated secrets for local runs, printed once to stderr
//! (outside the log stream) so they can be pasted into `.env` and Hasura's configuration.

use std::fmt::Write as _;

use rand::RngCore;

use crate::config::{self, Config, ConfigError};

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    buf.iter()
        .fold(String::with_capacity(bytes * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// How the printed development JWT is signed: like the generated `HASURA_GRAPHQL_JWT_SECRET`.
enum DevSigner {
    Hmac(String),
    Key(Box<crate::auth::SigningKey>),
}

fn unset(name: &str) -> bool {
    std::env::var(name).map_or(true, |v| v.trim().is_empty())
}

/// Loads the configuration from the environment, generating what is missing: the webhook
/// secret, an Ed25519 signing key (`RASURA_TOKEN_KEYS`), and a JWT configuration. When the key
/// was generated and the port is known, `HASURA_GRAPHQL_JWT_SECRET` points at the service's own
/// `/.well-known/jwks.json`, so tokens from the example's `login` work for its `jwt` actions
/// (and for a Hasura given the same line); otherwise it is a generated HS256 key.
pub(crate) fn load() -> Result<Config, ConfigError> {
    let mut generated: Vec<(&str, String)> = Vec::new();
    if unset(config::WEBHOOK_SECRET) {
        generated.push((config::WEBHOOK_SECRET, random_hex(32)));
    }
    let mut dev_key = None;
    if unset(crate::auth::TOKEN_KEYS) {
        if let Ok(jwk) = crate::auth::SigningKey::generate(
            crate::auth::SigningAlgorithm::EdDsa,
            &format!("dev-{}", random_hex(4)),
        ) {
            generated.push((
                crate::auth::TOKEN_KEYS,
                serde_json::json!({ "keys": [jwk] }).to_string(),
            ));
            dev_key = crate::auth::SigningKey::from_jwk(&jwk).ok();
        }
    }
    let mut signer = None;
    if unset(config::JWT_SECRET) {
        let listen = std::env::var(config::LISTEN)
            .ok()
            .and_then(|l| l.trim().parse::<std::net::SocketAddr>().ok())
            .or_else(|| config::DEFAULT_LISTEN.parse().ok());
        match (dev_key, listen.filter(|l| l.port() != 0)) {
            (Some(key), Some(mut listen)) => {
                if listen.ip().is_unspecified() {
                    listen.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
                }
                let jwks = format!("http://{listen}/.well-known/jwks.json");
                generated.push((
                    config::JWT_SECRET,
                    serde_json::json!({ "jwk_url": jwks }).to_string(),
                ));
                signer = Some(DevSigner::Key(Box::new(key)));
            }
            _ => {
                let key = random_hex(32);
                generated.push((
                    config::JWT_SECRET,
                    serde_json::json!({ "type": "HS256", "key": key }).to_string(),
                ));
                signer = Some(DevSigner::Hmac(key));
            }
        }
    }
    // A short secret set by hand is tolerated here (local runs), with a warning.
    let config = Config::parse(
        |name| {
            generated
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
                .or_else(|| std::env::var(name).ok())
        },
        true,
    )?;
    let short = std::env::var(config::WEBHOOK_SECRET).is_ok_and(|list| {
        list.split(',')
            .map(str::trim)
            .any(|s| !s.is_empty() && s.len() < config::MIN_WEBHOOK_SECRET_BYTES)
    });
    if short {
        eprintln!(
            "rasura: development defaults: {} holds a secret shorter than {} bytes; outside development defaults the service refuses to start with it",
            config::WEBHOOK_SECRET,
            config::MIN_WEBHOOK_SECRET_BYTES
        );
    }
    if !generated.is_empty() {
        let mut text = String::from(
            "rasura: development defaults: generated settings (not for production). Paste into .env and Hasura's env:\n",
        );
        for (name, value) in &generated {
            if name.starts_with("HASURA") || value.starts_with('{') {
                let _ = writeln!(text, "{name}='{value}'");
            } else {
                let _ = writeln!(text, "{name}={value}");
            }
        }
        if let Some(signer) = signer {
            let claims = crate::security::issue::JwtClaims::new()
                .allowed_roles(["user", "admin"])
                .default_role("user")
                .user_id("1")
                .expires_in(std::time::Duration::from_secs(24 * 3600));
            let token = match signer {
                DevSigner::Hmac(key) => claims.sign_hs256(&key).ok(),
                DevSigner::Key(key) => Some(key.sign(&claims.payload())),
            };
            if let Some(token) = token {
                let _ = writeln!(
                    text,
                    "# a development JWT (role user, user id 1, valid 24 h):"
                );
                let _ = writeln!(text, "RASURA_DEV_JWT={token}");
            }
        }
        eprint!("{text}");
    }
    Ok(config)
}
