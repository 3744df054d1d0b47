//! `<service> jwt mint`: a development token valid for the service's own JWT configuration,
//! signed with `HASURA_GRAPHQL_JWT_SECRET`'s HMAC key, or with the service's signing key
//! (`RASURA_TOKEN_KEYS`) when `jwk_url` points at the service's own JWK set. Configurations it
//! cannot sign for (a public key, another issuer's JWK set, `claims_map`) are refused with the
//! reason.

use std::time::Duration;

use serde_json::{Map, Value};

use super::issue::JwtClaims;
use super::jwt::{ClaimsFormat, ClaimsSource, JwtConfig, NamespaceLocation};

/// What to put in the token.
#[derive(Debug, Clone)]
pub struct MintRequest {
    /// `x-hasura-default-role`.
    pub role: String,
    /// `x-hasura-user-id` (and `sub`).
    pub user_id: Option<String>,
    /// `x-hasura-allowed-roles` (default: the role alone).
    pub allowed_roles: Vec<String>,
    /// Extra `x-hasura-*` claims.
    pub claims: Map<String, Value>,
    /// Until `exp`.
    pub lifetime: Duration,
}

/// The longest `--lifetime`: ten years.
const MAX_LIFETIME_SECS: u64 = 10 * 366 * 86_400;

/// Parses `90s`, `15m`, `1h`, `7d` (or plain seconds), at most ten years.
pub fn parse_lifetime(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (digits, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, ""), |i| text.split_at(i));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("invalid lifetime `{text}`: expected e.g. 90s, 15m, 1h or 7d"))?;
    let seconds = match unit {
        "" | "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86_400),
        _ => {
            return Err(format!(
                "invalid lifetime `{text}`: unknown unit `{unit}` (s, m, h or d)"
            ));
        }
    };
    if seconds == 0 {
        return Err("the lifetime must be positive".into());
    }
    if seconds > MAX_LIFETIME_SECS {
        return Err(format!(
            "lifetime `{text}` is more than 10 years: a development token should expire"
        ));
    }
    Ok(Duration::from_secs(seconds))
}

/// Parses `--claims`: a JSON object of `x-hasura-*` claims.
pub fn parse_claims(text: &str) -> Result<Map<String, Value>, String> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| format!("--claims is not JSON ({e}): expected an object such as '{{\"x-hasura-org-id\": \"7\"}}'"))?;
    let Value::Object(claims) = value else {
        return Err("--claims must be a JSON object of x-hasura-* claims".into());
    };
    for key in claims.keys() {
        if !key.to_ascii_lowercase().starts_with("x-hasura-") {
            return Err(format!(
                "--claims: `{key}` is not an x-hasura-* claim (Hasura reads only those from its namespace)"
            ));
        }
    }
    Ok(claims
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect())
}

/// Mints a token for `jwt_secret` (the text of `HASURA_GRAPHQL_JWT_SECRET`), with the service's
/// signing keys (`RASURA_TOKEN_KEYS` and `RASURA_TOKEN_SIGNING_KID`) when it names a JWK set.
///
/// `published` is the JWK set fetched from `jwk_url`, when it could be: the service's signing
/// key must be in it, or the set is another issuer's.
pub fn mint(
    jwt_secret: &str,
    token_keys: Option<&str>,
    signing_kid: Option<&str>,
    published: Option<&Value>,
    request: &MintRequest,
) -> Result<String, String> {
    let config =
        JwtConfig::from_json(jwt_secret).map_err(|e| format!("HASURA_GRAPHQL_JWT_SECRET: {e}"))?;
    let raw: Value = serde_json::from_str(jwt_secret).unwrap_or_default();
    let mut allowed = request.allowed_roles.clone();
    if allowed.is_empty() {
        allowed.push(request.role.clone());
    }
    if !allowed.contains(&request.role) {
        return Err(format!(
            "--role {} is not in --allowed-roles {}: Hasura would refuse the token",
            request.role,
            allowed.join(",")
        ));
    }
    let mut claims = JwtClaims::new()
        .allowed_roles(allowed)
        .default_role(&request.role)
        .expires_in(request.lifetime);
    if let Some(id) = &request.user_id {
        claims = claims.user_id(id);
    }
    for (k, v) in &request.claims {
        claims = claims.hasura_claim(k, v.clone());
    }
    match &config.claims {
        ClaimsSource::Namespace { location, format } => {
            match location {
                NamespaceLocation::Key(key) => claims = claims.namespace(key),
                NamespaceLocation::Path(_) => {
                    return Err("HASURA_GRAPHQL_JWT_SECRET uses claims_namespace_path: `jwt mint` writes the claims under a namespace key only".into());
                }
            }
            if *format == ClaimsFormat::StringifiedJson {
                claims = claims.stringified();
            }
        }
        ClaimsSource::Map(_) => {
            return Err("HASURA_GRAPHQL_JWT_SECRET uses claims_map: the claims come from the identity provider's own token layout, which `jwt mint` does not write; mint with the provider instead".into());
        }
    }
    if let Some(audience) = config.audience.as_ref().and_then(|a| a.first()) {
        claims = claims.claim("aud", audience.as_str());
    }
    if let Some(issuer) = &config.issuer {
        claims = claims.claim("iss", issuer.as_str());
    }
    if let Some(url) = raw.get("jwk_url").and_then(Value::as_str) {
        let Some(keys) = token_keys else {
            return Err(format!(
                "HASURA_GRAPHQL_JWT_SECRET's jwk_url ({url}) names a JWK set, and RASURA_TOKEN_KEYS (the service's own signing keys) is not set: only the holder of that set's private keys can sign"
            ));
        };
        if !url
            .trim_end_matches('/')
            .ends_with("/.well-known/jwks.json")
        {
            return Err(format!(
                "HASURA_GRAPHQL_JWT_SECRET's jwk_url ({url}) is not a service's /.well-known/jwks.json: its tokens come from that issuer, not from this service"
            ));
        }
        let keys = crate::auth::SigningKeys::from_json(keys, signing_kid)
            .map_err(|e| format!("RASURA_TOKEN_KEYS: {e}"))?;
        let key = keys.signing_key();
        if let Some(set) = published {
            let listed = set["keys"]
                .as_array()
                .is_some_and(|keys| keys.iter().any(|k| k["kid"] == key.kid()));
            if !listed {
                return Err(format!(
                    "the JWK set at {url} does not publish this service's signing key `{}`: it is another issuer's set (or RASURA_TOKEN_KEYS differs from the running service's)",
                    key.kid()
                ));
            }
        }
        return Ok(key.sign(&claims.kid(key.kid()).payload()));
    }
    let algorithm = raw.get("type").and_then(Value::as_str).unwrap_or_default();
    let key = raw.get("key").and_then(Value::as_str).unwrap_or_default();
    let algorithm = match algorithm {
        "HS256" => jsonwebtoken::Algorithm::HS256,
        "HS384" => jsonwebtoken::Algorithm::HS384,
        "HS512" => jsonwebtoken::Algorithm::HS512,
        other => {
            return Err(format!(
                "HASURA_GRAPHQL_JWT_SECRET holds a {other} public key: tokens are signed with its private key, which the service does not have; mint them where that key lives"
            ));
        }
    };
    claims
        .sign(
            algorithm,
            &jsonwebtoken::EncodingKey::from_secret(key.as_bytes()),
        )
        .map_err(|e| format!("signing failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> MintRequest {
        MintRequest {
            role: "user".into(),
            user_id: Some("42".into()),
            allowed_roles: vec![],
            claims: Map::new(),
            lifetime: Duration::from_secs(3600),
        }
    }

    #[test]
    fn lifetimes_and_claims_parse_or_say_why() {
        assert_eq!(parse_lifetime("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_lifetime("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_lifetime("2d"), Ok(Duration::from_secs(172_800)));
        assert!(parse_lifetime("1w").unwrap_err().contains("unknown unit"));
        assert!(parse_lifetime("0s").is_err());
        assert!(
            parse_lifetime("18446744073709551615")
                .unwrap_err()
                .contains("10 years")
        );
        assert!(parse_lifetime("99999999999999d").is_err());
        assert!(parse_lifetime("").is_err());
        assert!(
            parse_claims(r#"{"X-Hasura-Org-Id": "7"}"#)
                .unwrap()
                .contains_key("x-hasura-org-id")
        );
        assert!(
            parse_claims(r#"{"sub": "7"}"#)
                .unwrap_err()
                .contains("not an x-hasura-*")
        );
        assert!(parse_claims("[1]").is_err());
        assert!(parse_claims("{").is_err());
    }

    #[test]
    fn refuses_what_it_cannot_sign() {
        let public = serde_json::json!({"type": "Ed25519", "key": "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAoCs6n7ELD6Kz21Kzg0DwZy+xYKhQsvDNyp2xRl0WWeA=\n-----END PUBLIC KEY-----\n"}).to_string();
        assert!(
            mint(&public, None, None, None, &request())
                .unwrap_err()
                .contains("public key")
        );
        let other = r#"{"jwk_url": "https://issuer.example/keys"}"#;
        assert!(
            mint(other, Some("{}"), None, None, &request())
                .unwrap_err()
                .contains("not a service's")
        );
        let own = r#"{"jwk_url": "http://127.0.0.1:3300/.well-known/jwks.json"}"#;
        assert!(
            mint(own, None, None, None, &request())
                .unwrap_err()
                .contains("RASURA_TOKEN_KEYS")
        );
        let map = r#"{"type": "HS256", "key": "0123456789abcdef0123456789abcdef", "claims_map": {"x-hasura-allowed-roles": {"path": "$.roles"}, "x-hasura-default-role": {"path": "$.role"}}}"#;
        assert!(
            mint(map, None, None, None, &request())
                .unwrap_err()
                .contains("claims_map")
        );
        let mut r = request();
        r.allowed_roles = vec!["admin".into()];
        let hmac = r#"{"type": "HS256", "key": "0123456789abcdef0123456789abcdef"}"#;
        assert!(
            mint(hmac, None, None, None, &r)
                .unwrap_err()
                .contains("not in --allowed-roles")
        );
    }
}
