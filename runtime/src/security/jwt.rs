//! JWT verification with Hasura's own configuration format (`HASURA_GRAPHQL_JWT_SECRET`,
//! docs/protocol.md §4.2), so a service verifies exactly the tokens Hasura accepts.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;

use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};

use super::jwks::JwksCache;
use super::token;
use crate::error::ErrorCore;
use crate::protocol::SessionVariables;

/// Hasura's default claims namespace.
pub const DEFAULT_CLAIMS_NAMESPACE: &str = "https://hasura.io/jwt/claims";

/// A problem with a `HASURA_GRAPHQL_JWT_SECRET` value. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JwtConfigError(String);

impl JwtConfigError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

fn config_error(message: impl Into<String>) -> JwtConfigError {
    JwtConfigError(message.into())
}

/// Where the token is read from (`header` option).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenLocation {
    /// `Authorization: Bearer <jwt>` (the default).
    Authorization,
    /// A cookie with this name.
    Cookie(String),
    /// A custom header whose whole value is the token.
    CustomHeader(String),
}

/// How `claims_format` encodes the namespace value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimsFormat {
    /// A JSON object (the default).
    Json,
    /// A string holding a JSON object (Cognito-style providers).
    StringifiedJson,
}

/// A path in Hasura's small JSONPath subset: `$`, `.key`, `['key']`, `[N]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    steps: Vec<PathStep>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PathStep {
    Key(String),
    Index(usize),
}

impl JsonPath {
    /// Parses a path such as `$.hasura.claims`, `$['https://x/claims']` or `$.roles[0]`.
    pub fn parse(text: &str) -> Result<Self, JwtConfigError> {
        let bad = |why: &str| config_error(format!("invalid JSON path `{text}`: {why}"));
        let rest = text
            .strip_prefix('$')
            .ok_or_else(|| bad("it must start with `$`"))?;
        let mut steps = Vec::new();
        let mut chars = rest.char_indices().peekable();
        while let Some((_, c)) = chars.next() {
            match c {
                '.' => {
                    let mut key = String::new();
                    while let Some(&(_, k)) = chars.peek() {
                        if k.is_ascii_alphanumeric() || k == '_' || k == '-' {
                            key.push(k);
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    if key.is_empty() {
                        return Err(bad("expected a key after `.`"));
                    }
                    steps.push(PathStep::Key(key));
                }
                '[' => {
                    if chars.peek().map(|&(_, c)| c) == Some('\'') {
                        chars.next();
                        let mut key = String::new();
                        loop {
                            match chars.next() {
                                Some((_, '\'')) => break,
                                Some((_, k)) => key.push(k),
                                None => return Err(bad("unterminated `['…']`")),
                            }
                        }
                        if chars.next().map(|(_, c)| c) != Some(']') {
                            return Err(bad("expected `]` after `']`"));
                        }
                        steps.push(PathStep::Key(key));
                    } else {
                        let mut digits = String::new();
                        loop {
                            match chars.next() {
                                Some((_, ']')) => break,
                                Some((_, d)) if d.is_ascii_digit() => digits.push(d),
                                _ => return Err(bad("expected `[N]` or `['key']`")),
                            }
                        }
                        let index = digits
                            .parse()
                            .map_err(|_| bad("expected an index in `[N]`"))?;
                        steps.push(PathStep::Index(index));
                    }
                }
                _ => return Err(bad("filters and wildcards are not supported")),
            }
        }
        Ok(Self { steps })
    }

    /// The value at this path in `root`.
    pub fn lookup<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        self.steps.iter().try_fold(root, |v, step| match step {
            PathStep::Key(k) => v.get(k.as_str()),
            PathStep::Index(i) => v.get(*i),
        })
    }
}

/// One `claims_map` entry: a literal value or a path into the token (with a default).
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimMapping {
    /// A fixed value.
    Literal(Value),
    /// A value read from the token's payload.
    Path {
        /// Where to read it.
        path: JsonPath,
        /// Used when the path finds nothing.
        default: Option<Value>,
    },
}

/// Where Hasura's claims live in the token.
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimsSource {
    /// Under a namespace key or path, as JSON or stringified JSON.
    Namespace {
        /// `claims_namespace` (key) or `claims_namespace_path`.
        location: NamespaceLocation,
        /// `claims_format`.
        format: ClaimsFormat,
    },
    /// `claims_map`: each `x-hasura-*` claim mapped from the payload (lower-cased names).
    Map(Vec<(String, ClaimMapping)>),
}

/// `claims_namespace` or `claims_namespace_path`.
#[derive(Debug, Clone, PartialEq)]
pub enum NamespaceLocation {
    /// A top-level key.
    Key(String),
    /// A JSON path.
    Path(JsonPath),
}

/// How tokens are verified.
#[derive(Clone)]
pub(crate) enum KeySource {
    Static {
        algorithm: Algorithm,
        key: super::signature::VerifyingKey,
        /// For HS256/384/512: the key prepared once (see [`token::PreparedHmac`]).
        hmac: Option<Box<token::PreparedHmac>>,
    },
    Jwks(Arc<JwksCache>),
}

/// A parsed `HASURA_GRAPHQL_JWT_SECRET`. Its `Debug` output never shows the key.
#[derive(Clone)]
pub struct JwtConfig {
    pub(crate) keys: KeySource,
    /// Where the claims are.
    pub claims: ClaimsSource,
    /// Accepted audiences (`aud` must match one when set).
    pub audience: Option<Vec<String>>,
    /// Accepted issuer (checked only when the token has `iss`, as Hasura does).
    pub issuer: Option<String>,
    /// Clock skew allowed on `exp`/`nbf`.
    pub allowed_skew: Duration,
    /// Where the token comes from.
    pub header: TokenLocation,
}

impl fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = match &self.keys {
            KeySource::Static { algorithm, .. } => format!("{algorithm:?} key [redacted]"),
            KeySource::Jwks(cache) => format!("jwk_url {}", cache.url()),
        };
        f.debug_struct("JwtConfig")
            .field("keys", &keys)
            .field("claims", &self.claims)
            .field("audience", &self.audience)
            .field("issuer", &self.issuer)
            .field("allowed_skew", &self.allowed_skew)
            .field("header", &self.header)
            .finish()
    }
}

/// Maps Hasura's `type` names to the JWT library's algorithms.
fn hasura_algorithm(name: &str) -> Result<Algorithm, JwtConfigError> {
    Ok(match name {
        "HS256" => Algorithm::HS256,
        "HS384" => Algorithm::HS384,
        "HS512" => Algorithm::HS512,
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "Ed25519" | "EdDSA" => Algorithm::EdDSA,
        "ES512" => {
            return Err(config_error(
                "`type: ES512` is accepted by Hasura but not supported by the JWT library Rasura \
                 uses (jsonwebtoken); use ES256 or ES384, or a JWKS with one of those",
            ));
        }
        other => {
            return Err(config_error(format!(
                "unknown `type` `{other}`; expected one of HS256, HS384, HS512, RS256, RS384, \
                 RS512, Ed25519, ES256, ES384"
            )));
        }
    })
}

fn decoding_key(algorithm: Algorithm, key: &str) -> Result<DecodingKey, JwtConfigError> {
    let pem = key.as_bytes();
    let result = match algorithm {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            if key.len() < 32 {
                return Err(config_error(
                    "the HMAC `key` must be at least 32 characters long (as Hasura requires)",
                ));
            }
            return Ok(DecodingKey::from_secret(pem));
        }
        Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 => DecodingKey::from_rsa_pem(pem),
        Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(pem),
        Algorithm::EdDSA => DecodingKey::from_ed_pem(pem),
        _ => return Err(config_error("unsupported algorithm")),
    };
    result.map_err(|_| {
        config_error(format!(
            "`key` is not a PEM public key or X.509 certificate usable with {algorithm:?}"
        ))
    })
}

fn string_field(obj: &Map<String, Value>, name: &str) -> Result<Option<String>, JwtConfigError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(config_error(format!("`{name}` must be a string"))),
    }
}

impl JwtConfig {
    /// Parses Hasura's JSON configuration (the value of `HASURA_GRAPHQL_JWT_SECRET`).
    pub fn from_json(text: &str) -> Result<Self, JwtConfigError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| config_error(format!("not a JSON object: {e}")))?;
        let obj = value
            .as_object()
            .ok_or_else(|| config_error("not a JSON object"))?;
        Self::from_object(obj)
    }

    pub(crate) fn from_object(obj: &Map<String, Value>) -> Result<Self, JwtConfigError> {
        let key = string_field(obj, "key")?;
        let jwk_url = string_field(obj, "jwk_url")?;
        let keys = match (key, jwk_url) {
            (Some(_), Some(_)) => {
                return Err(config_error("`key` and `jwk_url` cannot both be present"));
            }
            (None, None) => return Err(config_error("`key` and `jwk_url` cannot both be empty")),
            (Some(key), None) => {
                let name = string_field(obj, "type")?
                    .ok_or_else(|| config_error("`type` is required with `key`"))?;
                let algorithm = hasura_algorithm(&name)?;
                KeySource::Static {
                    algorithm,
                    key: super::signature::VerifyingKey::new(
                        decoding_key(algorithm, &key)?,
                        Some(algorithm),
                    ),
                    hmac: token::PreparedHmac::new(algorithm, key.as_bytes()).map(Box::new),
                }
            }
            (None, Some(url)) => {
                if let Some(name) = string_field(obj, "type")? {
                    // Checked for the clear error on ES512; JWKS keys carry their own algorithm.
                    hasura_algorithm(&name)?;
                }
                let url = url
                    .parse::<reqwest::Url>()
                    .map_err(|_| config_error("`jwk_url` is not a URL"))?;
                KeySource::Jwks(Arc::new(JwksCache::new(url)))
            }
        };

        let claims = if let Some(map) = obj.get("claims_map") {
            let map = map
                .as_object()
                .ok_or_else(|| config_error("`claims_map` must be an object"))?;
            let mut entries = Vec::new();
            for (name, spec) in map {
                let mapping = match spec {
                    Value::Object(o) if o.contains_key("path") => ClaimMapping::Path {
                        path: JsonPath::parse(
                            o["path"]
                                .as_str()
                                .ok_or_else(|| config_error("`path` must be a string"))?,
                        )?,
                        default: o.get("default").cloned(),
                    },
                    other => ClaimMapping::Literal(other.clone()),
                };
                entries.push((name.to_ascii_lowercase(), mapping));
            }
            ClaimsSource::Map(entries)
        } else {
            let namespace = string_field(obj, "claims_namespace")?;
            let path = string_field(obj, "claims_namespace_path")?;
            let location = match (namespace, path) {
                (Some(_), Some(_)) => {
                    return Err(config_error(
                        "`claims_namespace` and `claims_namespace_path` cannot both be present",
                    ));
                }
                (Some(key), None) => NamespaceLocation::Key(key),
                (None, Some(path)) => NamespaceLocation::Path(JsonPath::parse(&path)?),
                (None, None) => NamespaceLocation::Key(DEFAULT_CLAIMS_NAMESPACE.to_owned()),
            };
            let format = match string_field(obj, "claims_format")?.as_deref() {
                None | Some("json") => ClaimsFormat::Json,
                Some("stringified_json") => ClaimsFormat::StringifiedJson,
                Some(other) => {
                    return Err(config_error(format!(
                        "unknown `claims_format` `{other}`; expected `json` or `stringified_json`"
                    )));
                }
            };
            ClaimsSource::Namespace { location, format }
        };

        let audience = token::string_or_strings(obj.get("audience"))
            .map_err(|()| config_error("`audience` must be a string or a list of strings"))?;
        let issuer = string_field(obj, "issuer")?;
        let allowed_skew = match obj.get("allowed_skew") {
            None | Some(Value::Null) => Duration::ZERO,
            Some(v) => Duration::from_secs(
                v.as_u64()
                    .ok_or_else(|| config_error("`allowed_skew` must be a number of seconds"))?,
            ),
        };
        let header = match obj.get("header") {
            None | Some(Value::Null) => TokenLocation::Authorization,
            Some(Value::Object(h)) => match (
                string_field(h, "type")?.as_deref(),
                string_field(h, "name")?,
            ) {
                (Some("Authorization"), _) => TokenLocation::Authorization,
                (Some("Cookie"), Some(name)) => TokenLocation::Cookie(name),
                (Some("CustomHeader"), Some(name)) => {
                    http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                        config_error(format!("`header.name` `{name}` is not a header name"))
                    })?;
                    TokenLocation::CustomHeader(name.to_ascii_lowercase())
                }
                (Some("Cookie" | "CustomHeader"), None) => {
                    return Err(config_error(
                        "`header.name` is required for Cookie and CustomHeader",
                    ));
                }
                _ => {
                    return Err(config_error(
                        "`header.type` must be Authorization, Cookie or CustomHeader",
                    ));
                }
            },
            Some(_) => return Err(config_error("`header` must be an object")),
        };
        Ok(Self {
            keys,
            claims,
            audience,
            issuer,
            allowed_skew,
            header,
        })
    }

    /// A configuration verifying HS256 tokens signed with `secret` (default namespace,
    /// `Authorization` header).
    pub fn hs256(secret: &str) -> Result<Self, JwtConfigError> {
        Self::from_json(&serde_json::json!({ "type": "HS256", "key": secret }).to_string())
    }

    /// Sets how long JWKS keys are at least kept between refetches on an unknown `kid`
    /// (default 10 s: a flood of unknown `kid`s cannot make the service hammer the issuer).
    pub fn with_jwks_min_refresh_interval(self, interval: Duration) -> Self {
        if let KeySource::Jwks(cache) = &self.keys {
            cache.set_min_refresh_interval(interval);
        }
        self
    }

    /// The JWKS URL, for `jwk_url` configurations.
    pub fn jwk_url(&self) -> Option<&str> {
        match &self.keys {
            KeySource::Jwks(cache) => Some(cache.url().as_str()),
            KeySource::Static { .. } => None,
        }
    }

    /// Reads, verifies and decodes the caller's token from the request headers.
    pub async fn verify(&self, headers: &HeaderMap) -> Result<VerifiedClaims, JwtError> {
        let token = self.token(headers)?;
        let payload = self.verified_payload(token).await?;
        let invalid = |why: &str| JwtError::invalid(format!("Could not verify JWT: {why}"));
        let now = crate::unix_now();
        let check = |registered: &token::Registered| {
            registered
                .check(
                    self.audience.as_deref(),
                    self.issuer.as_deref(),
                    self.allowed_skew.as_secs(),
                    now,
                )
                .map_err(invalid)
        };
        let malformed = |_| invalid("JWSError (malformed payload)");
        let (registered, claims) = match &self.claims {
            // The common case, parsed in one pass without building a `Value` of the payload.
            ClaimsSource::Namespace {
                location: NamespaceLocation::Key(namespace),
                format,
            } => {
                let mut de = serde_json::Deserializer::from_slice(&payload);
                let parsed = serde::de::DeserializeSeed::deserialize(
                    token::PayloadSeed { namespace },
                    &mut de,
                )
                .map_err(malformed)?;
                check(&parsed.registered)?;
                let claims = match (format, parsed.namespace) {
                    (_, None) => {
                        return Err(JwtError::invalid_claims(format!(
                            "claims key: '{namespace}' not found"
                        )));
                    }
                    (ClaimsFormat::Json, Some(token::Namespace::Claims(claims))) => claims,
                    (
                        ClaimsFormat::StringifiedJson,
                        Some(token::Namespace::Other(Value::String(text))),
                    ) => hasura_claims(stringified_object(&text)?),
                    (ClaimsFormat::Json, Some(_)) => {
                        return Err(JwtError::invalid_claims("claims must be a JSON object"));
                    }
                    (ClaimsFormat::StringifiedJson, Some(_)) => return Err(not_stringified()),
                };
                (parsed.registered, verified_claims(claims)?)
            }
            _ => {
                let payload: Value = serde_json::from_slice(&payload).map_err(malformed)?;
                let registered = token::registered_of(&payload).map_err(invalid)?;
                check(&registered)?;
                (registered, self.claims_of(payload)?)
            }
        };
        Ok(claims.with_registered(&registered))
    }

    /// Verifies `token` (signature, `exp`, `nbf`, `iat`, audience, issuer) and returns its whole
    /// payload, for callers that read claims of their own (the auth webhook's subject claim,
    /// the token exchange). Hasura's claims are then read with [`JwtConfig::claims_of`].
    pub async fn verify_token(&self, token: &str) -> Result<VerifiedToken, JwtError> {
        let payload = self.verified_payload(token).await?;
        let invalid = |why: &str| JwtError::invalid(format!("Could not verify JWT: {why}"));
        let payload: Value = serde_json::from_slice(&payload)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| invalid("JWSError (malformed payload)"))?;
        let registered = token::registered_of(&payload).map_err(invalid)?;
        registered
            .check(
                self.audience.as_deref(),
                self.issuer.as_deref(),
                self.allowed_skew.as_secs(),
                crate::unix_now(),
            )
            .map_err(invalid)?;
        Ok(VerifiedToken {
            expires_at: registered.exp.map(|e| e.max(0.0) as u64),
            token_id: registered.jti,
            payload,
        })
    }

    /// Checks the signature (with the configured key, or the JWKS key of the token's `kid`)
    /// and returns the decoded payload bytes.
    async fn verified_payload(&self, token: &str) -> Result<Vec<u8>, JwtError> {
        let invalid = |why: &str| JwtError::invalid(format!("Could not verify JWT: {why}"));
        let parts = token::split(token).map_err(invalid)?;
        match &self.keys {
            KeySource::Static {
                algorithm,
                key,
                hmac,
            } => {
                // Only the configured algorithm: this is what stops algorithm confusion.
                if parts.alg != *algorithm {
                    return Err(invalid("JWSError (unexpected algorithm)"));
                }
                match hmac {
                    Some(hmac) => parts.verify_hmac(hmac).map_err(invalid)?,
                    None => parts.verify(key).map_err(invalid)?,
                }
            }
            KeySource::Jwks(cache) => {
                // `key_for` only returns a key whose algorithm is `parts.alg`.
                let key = cache.key_for(parts.kid.as_deref(), parts.alg).await?;
                parts.verify(&key).map_err(invalid)?;
            }
        }
        parts.payload().map_err(invalid)
    }

    /// The token in `headers` at the configured place: `Ok(None)` when there is none at all,
    /// an error when the place holds something that is not a token (a malformed
    /// `Authorization` header).
    pub fn find_token<'h>(&self, headers: &'h HeaderMap) -> Result<Option<&'h str>, JwtError> {
        let absent = match &self.header {
            TokenLocation::Authorization => !headers.contains_key(http::header::AUTHORIZATION),
            TokenLocation::Cookie(_) => self.token(headers).is_err(),
            TokenLocation::CustomHeader(name) => !headers.contains_key(name.as_str()),
        };
        if absent {
            Ok(None)
        } else {
            self.token(headers).map(Some)
        }
    }

    fn token<'h>(&self, headers: &'h HeaderMap) -> Result<&'h str, JwtError> {
        let missing = || {
            JwtError::headers(
                "Missing 'Authorization' or 'Cookie' header in JWT authentication mode",
            )
        };
        match &self.header {
            TokenLocation::Authorization => {
                // Bytes, not `to_str` + `split_whitespace`: the header is a few hundred bytes
                // on every call of a `jwt` action.
                let malformed = || JwtError::headers("Malformed Authorization header");
                let value = headers
                    .get(http::header::AUTHORIZATION)
                    .ok_or_else(missing)?
                    .as_bytes()
                    .trim_ascii();
                let split = value
                    .iter()
                    .position(u8::is_ascii_whitespace)
                    .ok_or_else(malformed)?;
                let (scheme, token) = (&value[..split], value[split..].trim_ascii());
                // Hasura splits the header into words and wants exactly `["Bearer", token]`:
                // the scheme is case-sensitive there, so it is here.
                if scheme != b"Bearer"
                    || token.is_empty()
                    || token.iter().any(u8::is_ascii_whitespace)
                {
                    return Err(malformed());
                }
                std::str::from_utf8(token).map_err(|_| malformed())
            }
            TokenLocation::Cookie(name) => headers
                .get_all(http::header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(';'))
                .filter_map(|pair| pair.trim().split_once('='))
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.trim_matches('"'))
                .ok_or_else(|| {
                    JwtError::headers(format!(
                        "Missing cookie '{name}' in JWT authentication mode"
                    ))
                }),
            TokenLocation::CustomHeader(name) => headers
                .get(name.as_str())
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .ok_or_else(|| {
                    JwtError::headers(format!(
                        "Missing '{name}' header in JWT authentication mode"
                    ))
                }),
        }
    }

    /// Extracts Hasura's claims from a verified payload.
    pub fn claims_of(&self, mut payload: Value) -> Result<VerifiedClaims, JwtError> {
        let mut claims: Vec<(String, Value)> = Vec::new();
        match &self.claims {
            ClaimsSource::Namespace { location, format } => {
                let (found, name) = match location {
                    NamespaceLocation::Key(key) => (
                        payload.as_object_mut().and_then(|o| o.remove(key.as_str())),
                        key.as_str(),
                    ),
                    NamespaceLocation::Path(path) => {
                        (path.lookup(&payload).cloned(), "claims_namespace_path")
                    }
                };
                let found = found.ok_or_else(|| {
                    JwtError::invalid_claims(format!("claims key: '{name}' not found"))
                })?;
                let object = match (format, found) {
                    (ClaimsFormat::Json, Value::Object(o)) => o,
                    (ClaimsFormat::StringifiedJson, Value::String(s)) => stringified_object(&s)?,
                    (ClaimsFormat::Json, _) => {
                        return Err(JwtError::invalid_claims("claims must be a JSON object"));
                    }
                    (ClaimsFormat::StringifiedJson, _) => return Err(not_stringified()),
                };
                claims = hasura_claims(object);
            }
            ClaimsSource::Map(entries) => {
                for (name, mapping) in entries {
                    let value = match mapping {
                        ClaimMapping::Literal(v) => v.clone(),
                        ClaimMapping::Path { path, default } => match path.lookup(&payload) {
                            Some(v) => v.clone(),
                            None => match default {
                                Some(d) => d.clone(),
                                None => continue,
                            },
                        },
                    };
                    claims.push((name.clone(), value));
                }
            }
        }

        verified_claims(claims)
    }
}

fn not_stringified() -> JwtError {
    JwtError::invalid_claims(
        "claims must be a string holding JSON (claims_format: stringified_json)",
    )
}

fn stringified_object(text: &str) -> Result<Map<String, Value>, JwtError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(JwtError::invalid_claims(
            "stringified claims are not a JSON object",
        )),
        Err(_) => Err(JwtError::invalid_claims("claims are not stringified JSON")),
    }
}

/// The `x-hasura-*` entries of a claims object, names lower-cased.
fn hasura_claims(object: Map<String, Value>) -> Vec<(String, Value)> {
    object
        .into_iter()
        .filter_map(|(mut k, v)| {
            k.make_ascii_lowercase();
            k.starts_with("x-hasura-").then_some((k, v))
        })
        .collect()
}

/// Checks the role claims and turns the rest into session variables.
fn verified_claims(mut claims: Vec<(String, Value)>) -> Result<VerifiedClaims, JwtError> {
    let take = |name: &str, claims: &mut Vec<(String, Value)>| {
        claims
            .iter()
            .position(|(k, _)| k == name)
            .map(|i| claims.remove(i).1)
    };
    let allowed = take("x-hasura-allowed-roles", &mut claims).ok_or_else(|| {
        JwtError::missing_role_claims("JWT claim does not contain x-hasura-allowed-roles")
    })?;
    let allowed_roles = match allowed {
        Value::Array(roles) => roles
            .into_iter()
            .map(|r| match r {
                Value::String(role) => Some(role),
                _ => None,
            })
            .collect::<Option<Vec<_>>>(),
        _ => None,
    }
    .ok_or_else(|| {
        JwtError::invalid_claims("invalid x-hasura-allowed-roles; should be a list of roles")
    })?;
    let default = take("x-hasura-default-role", &mut claims).ok_or_else(|| {
        JwtError::missing_role_claims("JWT claim does not contain x-hasura-default-role")
    })?;
    let Value::String(default_role) = default else {
        return Err(JwtError::invalid_claims(
            "invalid x-hasura-default-role; should be a role",
        ));
    };
    let mut session = crate::protocol::SessionBuilder::with_capacity(claims.len());
    for (name, value) in claims {
        match value {
            Value::String(s) => session
                .push(crate::protocol::session_key_owned(name), s)
                .map_err(|e| JwtError::invalid_claims(e.to_string()))?,
            _ => {
                return Err(JwtError::invalid_claims(format!(
                    "invalid {name}; x-hasura-* claims must be strings"
                )));
            }
        }
    }
    let session = session.finish();
    Ok(VerifiedClaims {
        allowed_roles,
        default_role,
        session,
        token_id: None,
        expires_at: None,
    })
}

/// [`JwtError::reason_class`] of a refusal's core.
pub(crate) fn reason_class(core: &ErrorCore) -> &'static str {
    let message = core.message().to_ascii_lowercase();
    match core.code() {
        "invalid-headers" => "missing",
        "jwt-missing-role-claims" | "jwt-invalid-claims" => "claims",
        _ if message.contains("no token") || message.contains("needs a token") => "missing",
        _ if message.contains("expired") => "expired",
        _ if message.contains("revoked") => "revoked",
        _ if message.contains("signature") => "bad-signature",
        _ if message.contains("audience") => "audience",
        _ if message.contains("issuer") => "issuer",
        _ if message.contains("claim") => "claims",
        "access-denied" => "session-mismatch",
        _ => "invalid",
    }
}

/// Hasura's claims from a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedClaims {
    /// `x-hasura-allowed-roles`.
    pub allowed_roles: Vec<String>,
    /// `x-hasura-default-role`.
    pub default_role: String,
    /// Every other `x-hasura-*` claim.
    pub session: SessionVariables,
    /// The token's `jti`, when it has one (logout puts it on the deny list).
    pub token_id: Option<String>,
    /// The token's `exp` (seconds since the epoch), when it has one.
    pub expires_at: Option<u64>,
}

/// A verified token's whole payload, for claims beyond Hasura's (see
/// [`JwtConfig::verify_token`]).
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedToken {
    /// The payload.
    pub payload: Value,
    /// `jti`, when present.
    pub token_id: Option<String>,
    /// `exp` (seconds since the epoch), when present.
    pub expires_at: Option<u64>,
}

impl VerifiedClaims {
    fn with_registered(mut self, registered: &token::Registered) -> Self {
        self.token_id.clone_from(&registered.jti);
        self.expires_at = registered.exp.map(|e| e.max(0.0) as u64);
        self
    }

    /// Checks that the session Hasura sent agrees with the token: the role is one the token
    /// allows, and the user id is the token's.
    pub fn agrees_with(&self, session: &SessionVariables) -> Result<(), JwtError> {
        let role = session.role().unwrap_or(&self.default_role);
        if !self.allowed_roles.iter().any(|r| r == role) {
            return Err(JwtError::forbidden(
                "Your requested role is not in allowed roles",
            ));
        }
        if session.user_id() != self.session.user_id() {
            return Err(JwtError::forbidden(
                "x-hasura-user-id in the session does not match the verified token",
            ));
        }
        Ok(())
    }
}

/// Why a token was refused: 401, or 403 when the token is valid but disagrees with the
/// session; its code is Hasura's (`invalid-jwt`, `invalid-headers`, `jwt-missing-role-claims`,
/// `jwt-invalid-claims` or `access-denied`); its message never includes the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} ({})", core.message(), core.code())]
pub struct JwtError {
    core: ErrorCore,
}

impl JwtError {
    fn new(status: http::StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            core: ErrorCore::new(status, code, message.into()),
        }
    }
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(http::StatusCode::UNAUTHORIZED, "invalid-jwt", message)
    }
    fn headers(message: impl Into<String>) -> Self {
        Self::new(http::StatusCode::UNAUTHORIZED, "invalid-headers", message)
    }
    fn missing_role_claims(message: impl Into<String>) -> Self {
        Self::new(
            http::StatusCode::UNAUTHORIZED,
            "jwt-missing-role-claims",
            message,
        )
    }
    fn invalid_claims(message: impl Into<String>) -> Self {
        Self::new(
            http::StatusCode::UNAUTHORIZED,
            "jwt-invalid-claims",
            message,
        )
    }
    fn forbidden(message: impl Into<String>) -> Self {
        Self::new(http::StatusCode::FORBIDDEN, "access-denied", message)
    }

    /// The refusal's class, for the audit trail (never the token or its claims): `missing`,
    /// `expired`, `revoked`, `bad-signature`, `audience`, `issuer`, `claims`,
    /// `session-mismatch` or `invalid`.
    pub fn reason_class(&self) -> &'static str {
        reason_class(&self.core)
    }

    /// 401, or 403 when the token is valid but disagrees with the session.
    pub fn status(&self) -> http::StatusCode {
        self.core.status()
    }

    /// Hasura's code.
    pub fn code(&self) -> &str {
        self.core.code()
    }

    /// The message (never the token).
    pub fn message(&self) -> &str {
        self.core.message()
    }
}

impl From<JwtError> for ErrorCore {
    fn from(e: JwtError) -> Self {
        e.core
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_path_subset() {
        let v = json!({"a": {"b-c": [10, {"https://x/y": "z"}]}});
        let p = JsonPath::parse("$.a.b-c[1]['https://x/y']").unwrap();
        assert_eq!(p.lookup(&v), Some(&json!("z")));
        assert_eq!(JsonPath::parse("$").unwrap().lookup(&v), Some(&v));
        assert!(JsonPath::parse("a.b").is_err());
        assert!(JsonPath::parse("$.a[*]").is_err());
        assert!(JsonPath::parse("$['x").is_err());
    }

    #[test]
    fn config_errors_are_clear() {
        let err = |j: Value| {
            JwtConfig::from_json(&j.to_string())
                .unwrap_err()
                .to_string()
        };
        assert!(err(json!({"type": "HS256"})).contains("cannot both be empty"));
        assert!(err(json!({"type": "ES512", "key": "x"})).contains("ES512"));
        assert!(err(json!({"type": "HS256", "key": "short"})).contains("32"));
        assert!(err(json!({"type": "RS256", "key": "not pem"})).contains("PEM"));
        assert!(err(json!({"type": "XX1", "key": "x"})).contains("unknown `type`"));
        assert!(
            err(
                json!({"key": "0123456789abcdef0123456789abcdef", "type": "HS256",
                       "claims_namespace": "a", "claims_namespace_path": "$.a"})
            )
            .contains("cannot both")
        );
        assert!(
            err(
                json!({"key": "0123456789abcdef0123456789abcdef", "type": "HS256",
                       "header": {"type": "Cookie"}})
            )
            .contains("header.name")
        );
    }

    #[test]
    fn debug_never_shows_the_key() {
        let c = JwtConfig::hs256("a-very-secret-key-that-is-long-enough").unwrap();
        assert!(!format!("{c:?}").contains("a-very-secret"));
    }
}
