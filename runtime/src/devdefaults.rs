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

/// Loads the configuration from the environment, generating the webhook secret and an HS256 JWT
/// configuration when they are missing.
pub(crate) fn load() -> Result<Config, ConfigError> {
    let mut generated: Vec<(&str, String)> = Vec::new();
    if std::env::var(config::WEBHOOK_SECRET).map_or(true, |v| v.trim().is_empty()) {
        generated.push((config::WEBHOOK_SECRET, random_hex(32)));
    }
    let mut jwt_key = None;
    if std::env::var(config::JWT_SECRET).map_or(true, |v| v.trim().is_empty()) {
        let key = random_hex(32);
        generated.push((
            config::JWT_SECRET,
            serde_json::json!({ "type": "HS256", "key": key }).to_string(),
        ));
        jwt_key = Some(key);
    }
    if std::env::var(crate::auth::TOKEN_KEYS).map_or(true, |v| v.trim().is_empty()) {
        if let Ok(jwk) = crate::auth::SigningKey::generate(
            crate::auth::SigningAlgorithm::EdDsa,
            &format!("dev-{}", random_hex(4)),
        ) {
            generated.push((
                crate::auth::TOKEN_KEYS,
                serde_json::json!({ "keys": [jwk] }).to_string(),
            ));
        }
    }
    let config = Config::from_lookup(|name| {
        generated
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var(name).ok())
    })?;
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
        if let Some(key) = jwt_key {
            let token = crate::security::issue::JwtClaims::new()
                .allowed_roles(["user", "admin"])
                .default_role("user")
                .user_id("1")
                .expires_in(std::time::Duration::from_secs(24 * 3600))
                .sign_hs256(&key);
            if let Ok(token) = token {
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
