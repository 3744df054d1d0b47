//! Token issuing: Hasura-format JWT claims, signed with `jsonwebtoken`. Development defaults
//! sign their development token with it, the test kit re-exports it, and token issuing builds
//! on it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value};

/// Claims of a token to mint: Hasura's claims under the default namespace, plus any other claim.
///
/// ```
/// let token = rasura::security::issue::JwtClaims::new()
///     .allowed_roles(["user"]).default_role("user").user_id("42")
///     .sign_hs256("a-secret-of-at-least-32-characters!!").unwrap();
/// assert_eq!(token.split('.').count(), 3);
/// ```
#[derive(Debug, Clone)]
pub struct JwtClaims {
    payload: Map<String, Value>,
    namespace: String,
    hasura: Map<String, Value>,
    stringified: bool,
    kid: Option<String>,
}

impl Default for JwtClaims {
    fn default() -> Self {
        Self::new()
    }
}

impl JwtClaims {
    /// Empty claims expiring in one hour, under the default namespace.
    pub fn new() -> Self {
        let mut claims = Self {
            payload: Map::new(),
            namespace: crate::security::jwt::DEFAULT_CLAIMS_NAMESPACE.into(),
            hasura: Map::new(),
            stringified: false,
            kid: None,
        };
        claims = claims.expires_in(Duration::from_secs(3600));
        claims
    }

    /// `x-hasura-allowed-roles`.
    pub fn allowed_roles<I: IntoIterator<Item = S>, S: Into<String>>(mut self, roles: I) -> Self {
        let roles: Vec<Value> = roles.into_iter().map(|r| Value::String(r.into())).collect();
        self.hasura
            .insert("x-hasura-allowed-roles".into(), Value::Array(roles));
        self
    }

    /// `x-hasura-default-role`.
    pub fn default_role(self, role: &str) -> Self {
        self.hasura_claim("x-hasura-default-role", role)
    }

    /// `x-hasura-user-id` (and `sub`).
    pub fn user_id(mut self, id: &str) -> Self {
        self.payload.insert("sub".into(), Value::String(id.into()));
        self.hasura_claim("x-hasura-user-id", id)
    }

    /// Any claim inside the Hasura namespace.
    pub fn hasura_claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.hasura.insert(name.into(), value.into());
        self
    }

    /// Removes a claim from the Hasura namespace.
    pub fn without_hasura_claim(mut self, name: &str) -> Self {
        self.hasura.remove(name);
        self
    }

    /// Any top-level claim (`aud`, `iss`, `nbf`, custom claims for `claims_map`, …).
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.payload.insert(name.into(), value.into());
        self
    }

    /// Puts the Hasura claims under another namespace key.
    pub fn namespace(mut self, key: &str) -> Self {
        self.namespace = key.into();
        self
    }

    /// Encodes the Hasura claims as a JSON string (`claims_format: stringified_json`).
    pub fn stringified(mut self) -> Self {
        self.stringified = true;
        self
    }

    /// `exp` = now + `d`.
    pub fn expires_in(self, d: Duration) -> Self {
        let exp = now() + d.as_secs();
        self.claim("exp", exp)
    }

    /// `exp` in the past by `d`.
    pub fn expired_since(self, d: Duration) -> Self {
        let exp = now().saturating_sub(d.as_secs());
        self.claim("exp", exp)
    }

    /// The `kid` header.
    pub fn kid(mut self, kid: &str) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The payload as JSON.
    pub fn payload(&self) -> Value {
        let mut payload = self.payload.clone();
        let hasura = Value::Object(self.hasura.clone());
        let hasura = if self.stringified {
            Value::String(hasura.to_string())
        } else {
            hasura
        };
        if !self.hasura.is_empty() {
            payload.insert(self.namespace.clone(), hasura);
        }
        Value::Object(payload)
    }

    /// Signs with any algorithm and key.
    pub fn sign(
        &self,
        algorithm: Algorithm,
        key: &EncodingKey,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(algorithm);
        header.kid = self.kid.clone();
        jsonwebtoken::encode(&header, &self.payload(), key)
    }

    /// Signs with HS256 and `secret`.
    pub fn sign_hs256(&self, secret: &str) -> Result<String, jsonwebtoken::errors::Error> {
        self.sign(
            Algorithm::HS256,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
    }

    /// Signs with a PEM private key (RSA, EC or Ed25519, per `algorithm`).
    pub fn sign_pem(
        &self,
        algorithm: Algorithm,
        pem: &[u8],
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let key = match algorithm {
            Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(pem)?,
            Algorithm::EdDSA => EncodingKey::from_ed_pem(pem)?,
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => EncodingKey::from_secret(pem),
            _ => EncodingKey::from_rsa_pem(pem)?,
        };
        self.sign(algorithm, &key)
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}
