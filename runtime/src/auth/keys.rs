//! The service's signing keys: a JWK set of private keys (`RASURA_TOKEN_KEYS`), the one that
//! signs (`RASURA_TOKEN_SIGNING_KID`), and the public JWK set published at
//! `/.well-known/jwks.json`.
//!
//! Signing goes through constant-time implementations only: Ed25519 with `ed25519-dalek`, ES256
//! with `p256`, RS256 with `ring` (blinded; the `rsa` crate is variable-time, RUSTSEC-2023-0071),
//! HS256 with `hmac`. A `jsonwebtoken::EncodingKey` would route RS256 through `rsa`, so tokens are
//! assembled here: the JWS compact form is three base64url parts and one signature.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Map, Value, json};

/// Why a key set cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(String);

fn key_error(message: impl Into<String>) -> KeyError {
    KeyError(message.into())
}

/// A signing algorithm Rasura issues tokens with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningAlgorithm {
    /// Ed25519 (JWK `kty: OKP`, `crv: Ed25519`). The default: small, fast, constant-time.
    EdDsa,
    /// ECDSA P-256 with SHA-256 (JWK `kty: EC`, `crv: P-256`).
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (JWK `kty: RSA`), signed by `ring`.
    Rs256,
    /// HMAC SHA-256 (JWK `kty: oct`): a key shared with Hasura, never published.
    Hs256,
}

impl SigningAlgorithm {
    /// The JWS `alg` name.
    pub fn name(self) -> &'static str {
        match self {
            Self::EdDsa => "EdDSA",
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
            Self::Hs256 => "HS256",
        }
    }

    /// Parses a JWS `alg` name (`Ed25519` is accepted for `EdDSA`, as Hasura names it).
    pub fn parse(name: &str) -> Result<Self, KeyError> {
        match name {
            "EdDSA" | "Ed25519" => Ok(Self::EdDsa),
            "ES256" => Ok(Self::Es256),
            "RS256" => Ok(Self::Rs256),
            "HS256" => Ok(Self::Hs256),
            other => Err(key_error(format!(
                "unsupported `alg` `{other}`; expected EdDSA, ES256, RS256 or HS256"
            ))),
        }
    }
}

enum Signer {
    Ed25519(ed25519_dalek::SigningKey),
    Es256(p256::ecdsa::SigningKey),
    Rs256(Box<ring::signature::RsaKeyPair>),
    Hs256(Vec<u8>),
}

/// One private key with its `kid`. `Debug` shows the `kid` and algorithm only.
pub struct SigningKey {
    kid: String,
    algorithm: SigningAlgorithm,
    signer: Signer,
    /// The public JWK (`None` for HMAC keys, which are never published).
    public: Option<Value>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.algorithm.name())
            .finish_non_exhaustive()
    }
}

fn field<'a>(jwk: &'a Map<String, Value>, name: &str, kid: &str) -> Result<&'a str, KeyError> {
    jwk.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| key_error(format!("key `{kid}`: `{name}` is missing or not a string")))
}

fn bytes(jwk: &Map<String, Value>, name: &str, kid: &str) -> Result<Vec<u8>, KeyError> {
    B64.decode(field(jwk, name, kid)?)
        .map_err(|_| key_error(format!("key `{kid}`: `{name}` is not base64url")))
}

impl SigningKey {
    /// Reads one private JWK (`kid` and `alg` required).
    pub fn from_jwk(jwk: &Value) -> Result<Self, KeyError> {
        let jwk = jwk
            .as_object()
            .ok_or_else(|| key_error("a key is not a JSON object"))?;
        let kid = jwk
            .get("kid")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| key_error("every key needs a non-empty `kid`"))?
            .to_owned();
        let alg = field(jwk, "alg", &kid)?;
        let algorithm =
            SigningAlgorithm::parse(alg).map_err(|e| key_error(format!("key `{kid}`: {e}")))?;
        let kty = field(jwk, "kty", &kid)?;
        let expected = match algorithm {
            SigningAlgorithm::EdDsa => "OKP",
            SigningAlgorithm::Es256 => "EC",
            SigningAlgorithm::Rs256 => "RSA",
            SigningAlgorithm::Hs256 => "oct",
        };
        if kty != expected {
            return Err(key_error(format!(
                "key `{kid}`: `alg: {alg}` needs `kty: {expected}`, not `{kty}`"
            )));
        }
        let private = |name| bytes(jwk, name, &kid);
        let (signer, public) = match algorithm {
            SigningAlgorithm::EdDsa => {
                if field(jwk, "crv", &kid)? != "Ed25519" {
                    return Err(key_error(format!(
                        "key `{kid}`: EdDSA needs `crv: Ed25519`"
                    )));
                }
                let seed: [u8; 32] = private("d")?
                    .try_into()
                    .map_err(|_| key_error(format!("key `{kid}`: `d` is not 32 bytes")))?;
                let key = ed25519_dalek::SigningKey::from_bytes(&seed);
                let x = B64.encode(key.verifying_key().as_bytes());
                if jwk
                    .get("x")
                    .and_then(Value::as_str)
                    .is_some_and(|given| given != x)
                {
                    return Err(key_error(format!("key `{kid}`: `x` does not match `d`")));
                }
                let public = json!({"kty": "OKP", "crv": "Ed25519", "x": x});
                (Signer::Ed25519(key), Some(public))
            }
            SigningAlgorithm::Es256 => {
                if field(jwk, "crv", &kid)? != "P-256" {
                    return Err(key_error(format!("key `{kid}`: ES256 needs `crv: P-256`")));
                }
                let key = p256::ecdsa::SigningKey::from_slice(&private("d")?)
                    .map_err(|_| key_error(format!("key `{kid}`: `d` is not a P-256 scalar")))?;
                let point = key.verifying_key().to_encoded_point(false);
                let (Some(x), Some(y)) = (point.x(), point.y()) else {
                    return Err(key_error(format!("key `{kid}`: not a P-256 point")));
                };
                let public =
                    json!({"kty": "EC", "crv": "P-256", "x": B64.encode(x), "y": B64.encode(y)});
                (Signer::Es256(key), Some(public))
            }
            SigningAlgorithm::Rs256 => {
                let (n, e) = (private("n")?, private("e")?);
                let components = ring::rsa::KeyPairComponents {
                    public_key: ring::rsa::PublicKeyComponents { n: &n, e: &e },
                    d: private("d")?,
                    p: private("p")?,
                    q: private("q")?,
                    dP: private("dp")?,
                    dQ: private("dq")?,
                    qInv: private("qi")?,
                };
                let pair = ring::signature::RsaKeyPair::from_components(&components)
                    .map_err(|why| key_error(format!("key `{kid}`: invalid RSA key ({why})")))?;
                let public = json!({"kty": "RSA", "n": B64.encode(&n), "e": B64.encode(&e)});
                (Signer::Rs256(Box::new(pair)), Some(public))
            }
            SigningAlgorithm::Hs256 => {
                let k = private("k")?;
                if k.len() < 32 {
                    return Err(key_error(format!(
                        "key `{kid}`: an HS256 key needs at least 32 bytes (as Hasura requires)"
                    )));
                }
                (Signer::Hs256(k), None)
            }
        };
        let public = public.map(|mut p| {
            p["kid"] = Value::from(kid.clone());
            p["alg"] = Value::from(algorithm.name());
            p["use"] = Value::from("sig");
            p
        });
        Ok(Self {
            kid,
            algorithm,
            signer,
            public,
        })
    }

    /// Generates a new private key and returns it as a JWK (what `<service> keys generate`
    /// prints). RS256 keys are not generated here (no constant-time RSA key generation in the
    /// crates Rasura uses): make one with `openssl genpkey -algorithm RSA` and convert it.
    pub fn generate(algorithm: SigningAlgorithm, kid: &str) -> Result<Value, KeyError> {
        let mut seed = [0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut seed[..]);
        let mut jwk = match algorithm {
            SigningAlgorithm::EdDsa => {
                let key = ed25519_dalek::SigningKey::from_bytes(&seed);
                json!({"kty": "OKP", "crv": "Ed25519", "d": B64.encode(seed),
                       "x": B64.encode(key.verifying_key().as_bytes())})
            }
            SigningAlgorithm::Es256 => {
                // A random 32-byte string is a valid scalar except with probability ~2^-32.
                let key = loop {
                    if let Ok(key) = p256::ecdsa::SigningKey::from_slice(&seed) {
                        break key;
                    }
                    rand::Rng::fill(&mut rand::rng(), &mut seed[..]);
                };
                let point = key.verifying_key().to_encoded_point(false);
                let (Some(x), Some(y)) = (point.x(), point.y()) else {
                    unreachable!("an uncompressed point has both coordinates")
                };
                json!({"kty": "EC", "crv": "P-256", "d": B64.encode(key.to_bytes()),
                       "x": B64.encode(x), "y": B64.encode(y)})
            }
            SigningAlgorithm::Hs256 => json!({"kty": "oct", "k": B64.encode(seed)}),
            SigningAlgorithm::Rs256 => {
                return Err(key_error(
                    "RS256 keys are not generated by Rasura; prefer EdDSA or ES256, or convert \
                     an `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048` key to a JWK",
                ));
            }
        };
        jwk["kid"] = Value::from(kid);
        jwk["alg"] = Value::from(algorithm.name());
        Ok(jwk)
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    /// The public JWK (`None` for HMAC keys).
    pub fn public_jwk(&self) -> Option<&Value> {
        self.public.as_ref()
    }

    /// Signs `claims` as a compact JWS with this key's `alg` and `kid` in the header.
    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({"alg": self.algorithm.name(), "typ": "JWT", "kid": self.kid});
        let mut token = B64.encode(header.to_string());
        token.push('.');
        token.push_str(&B64.encode(claims.to_string()));
        let signature = self.signature(token.as_bytes());
        token.push('.');
        token.push_str(&B64.encode(signature));
        token
    }

    fn signature(&self, message: &[u8]) -> Vec<u8> {
        match &self.signer {
            Signer::Ed25519(key) => ed25519_dalek::Signer::sign(key, message)
                .to_bytes()
                .to_vec(),
            Signer::Es256(key) => {
                let signature: p256::ecdsa::Signature =
                    p256::ecdsa::signature::Signer::sign(key, message);
                signature.to_bytes().to_vec()
            }
            Signer::Rs256(pair) => {
                let mut out = vec![0; pair.public().modulus_len()];
                // ring only fails on an output buffer of the wrong size, sized just above.
                if pair
                    .sign(
                        &ring::signature::RSA_PKCS1_SHA256,
                        &ring::rand::SystemRandom::new(),
                        message,
                        &mut out,
                    )
                    .is_err()
                {
                    out.clear();
                }
                out
            }
            Signer::Hs256(key) => {
                use hmac::Mac as _;
                let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(key)
                    .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
                mac.update(message);
                mac.finalize().into_bytes().to_vec()
            }
        }
    }
}

/// Every configured private key and the one that signs. `Debug` never shows key material.
#[derive(Debug)]
pub struct SigningKeys {
    keys: Vec<SigningKey>,
    signing: usize,
}

impl SigningKeys {
    /// Parses `RASURA_TOKEN_KEYS` (a JWK set `{"keys": [...]}`, or one JWK) and picks the key
    /// `signing_kid` (required when there are several keys).
    pub fn from_json(text: &str, signing_kid: Option<&str>) -> Result<Self, KeyError> {
        let value: Value =
            serde_json::from_str(text).map_err(|_| key_error("not JSON (a JWK set or a JWK)"))?;
        let list = match value.get("keys") {
            Some(Value::Array(keys)) => keys.clone(),
            Some(_) => return Err(key_error("`keys` must be an array")),
            None => vec![value],
        };
        let keys = list
            .iter()
            .map(SigningKey::from_jwk)
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(keys, signing_kid)
    }

    /// A key set from parsed keys.
    pub fn new(keys: Vec<SigningKey>, signing_kid: Option<&str>) -> Result<Self, KeyError> {
        if keys.is_empty() {
            return Err(key_error("the key set is empty"));
        }
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].iter().any(|other| other.kid == k.kid) {
                return Err(key_error(format!("two keys share the kid `{}`", k.kid)));
            }
        }
        let signing = match signing_kid {
            Some(kid) => keys.iter().position(|k| k.kid == kid).ok_or_else(|| {
                let known: Vec<_> = keys.iter().map(|k| format!("`{}`", k.kid)).collect();
                key_error(format!(
                    "no key has the signing kid `{kid}`; the keys are {}",
                    known.join(", ")
                ))
            })?,
            None if keys.len() == 1 => 0,
            None => {
                return Err(key_error(
                    "several keys: set RASURA_TOKEN_SIGNING_KID to the one that signs",
                ));
            }
        };
        Ok(Self { keys, signing })
    }

    /// The key that signs new tokens.
    pub fn signing_key(&self) -> &SigningKey {
        &self.keys[self.signing]
    }

    /// Every key.
    pub fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    /// The public JWK set: every asymmetric key's public part (never a private part, never an
    /// HMAC key).
    pub fn public_jwks(&self) -> Value {
        let keys: Vec<&Value> = self
            .keys
            .iter()
            .filter_map(SigningKey::public_jwk)
            .collect();
        json!({ "keys": keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(algorithm: SigningAlgorithm) -> (SigningKeys, String) {
        let jwk = SigningKey::generate(algorithm, "k1").unwrap();
        let keys = SigningKeys::from_json(&json!({"keys": [jwk]}).to_string(), None).unwrap();
        let token = keys.signing_key().sign(&json!({"sub": "u1"}));
        (keys, token)
    }

    fn verify_with_public(keys: &SigningKeys, token: &str, alg: jsonwebtoken::Algorithm) {
        let jwk: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(keys.public_jwks()["keys"][0].clone()).unwrap();
        let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
        let mut validation = jsonwebtoken::Validation::new(alg);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        let data = jsonwebtoken::decode::<Value>(token, &key, &validation).unwrap();
        assert_eq!(data.claims["sub"], "u1");
        assert_eq!(data.header.kid.as_deref(), Some("k1"));
    }

    #[test]
    fn generated_eddsa_and_es256_keys_sign_tokens_their_public_jwk_verifies() {
        let (keys, token) = roundtrip(SigningAlgorithm::EdDsa);
        verify_with_public(&keys, &token, jsonwebtoken::Algorithm::EdDSA);
        let (keys, token) = roundtrip(SigningAlgorithm::Es256);
        verify_with_public(&keys, &token, jsonwebtoken::Algorithm::ES256);
    }

    #[test]
    fn rs256_keys_sign_with_ring_and_verify_with_their_public_jwk() {
        // A test-only key (generated with `openssl genpkey -algorithm RSA`, converted to a JWK).
        let jwk: Value = serde_json::from_str(include_str!("testdata/rsa-2048.jwk.json")).unwrap();
        let keys = SigningKeys::from_json(&json!({"keys": [jwk]}).to_string(), None).unwrap();
        assert_eq!(keys.signing_key().algorithm(), SigningAlgorithm::Rs256);
        let public = &keys.public_jwks()["keys"][0];
        assert!(public.get("d").is_none() && public.get("p").is_none());
        let token = keys.signing_key().sign(&json!({"sub": "u1"}));
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(public.clone()).unwrap();
        let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        let data = jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap();
        assert_eq!(data.claims["sub"], "u1");
        // A broken private part is refused at configuration, not at the first signature.
        let mut broken: Value =
            serde_json::from_str(include_str!("testdata/rsa-2048.jwk.json")).unwrap();
        broken["q"] = broken["p"].clone();
        assert!(
            SigningKey::from_jwk(&broken)
                .unwrap_err()
                .to_string()
                .contains("invalid RSA key")
        );
    }

    #[test]
    fn public_set_never_has_private_parts_or_hmac_keys() {
        let ed = SigningKey::generate(SigningAlgorithm::EdDsa, "ed").unwrap();
        let hs = SigningKey::generate(SigningAlgorithm::Hs256, "hs").unwrap();
        let keys =
            SigningKeys::from_json(&json!({"keys": [ed, hs]}).to_string(), Some("ed")).unwrap();
        let public = keys.public_jwks();
        assert_eq!(public["keys"].as_array().unwrap().len(), 1);
        assert!(public["keys"][0].get("d").is_none());
        assert!(!public.to_string().contains("\"k\""));
        assert!(!format!("{keys:?}").contains(ed["d"].as_str().unwrap()));
    }

    #[test]
    fn bad_key_sets_are_explained() {
        let err = |v: Value, kid: Option<&str>| {
            SigningKeys::from_json(&v.to_string(), kid)
                .unwrap_err()
                .to_string()
        };
        let ed = SigningKey::generate(SigningAlgorithm::EdDsa, "a").unwrap();
        let mut other = SigningKey::generate(SigningAlgorithm::EdDsa, "b").unwrap();
        assert!(err(json!({"keys": [ed, other]}), None).contains("RASURA_TOKEN_SIGNING_KID"));
        assert!(err(json!({"keys": [ed, other]}), Some("c")).contains("`a`, `b`"));
        assert!(err(json!({"keys": [ed, ed]}), None).contains("share the kid"));
        other["d"] = json!("AAAA");
        assert!(err(json!({"keys": [other]}), None).contains("32 bytes"));
        let mut wrong = SigningKey::generate(SigningAlgorithm::EdDsa, "w").unwrap();
        wrong["kty"] = json!("EC");
        assert!(err(json!({"keys": [wrong]}), None).contains("needs `kty: OKP`"));
        assert!(err(json!({"keys": []}), None).contains("empty"));
        assert!(
            err(
                json!({"kty": "oct", "k": "c2hvcnQ", "alg": "HS256", "kid": "h"}),
                None
            )
            .contains("32 bytes")
        );
        assert!(
            err(json!({"kty": "oct", "alg": "none", "kid": "n"}), None).contains("unsupported")
        );
        // A wrong public part is caught, not silently published.
        let mut mismatched = SigningKey::generate(SigningAlgorithm::EdDsa, "m").unwrap();
        mismatched["x"] = SigningKey::generate(SigningAlgorithm::EdDsa, "x").unwrap()["x"].clone();
        assert!(err(json!({"keys": [mismatched]}), None).contains("does not match"));
    }
}
