//! One-pass JWT decoding: split, check `alg`, verify the signature with `jsonwebtoken`'s crypto,
//! then parse the payload once, keeping only what Hasura reads.
//!
//! Why not `jsonwebtoken::decode`: it decodes the header twice and the payload twice (once for
//! its own checks, once for the caller) into a `serde_json::Value`, which made verification the
//! largest cost of a `jwt` action. The checks it would make are made here with the same rules:
//! `exp`/`nbf`/`iat` with the allowed skew (`iat` in the future is refused, as Hasura does), `aud` required and matched when configured, `iss` matched
//! when configured and present.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::signature::VerifyingKey;

/// A token split into its parts, with the header read.
pub(crate) struct Parts<'t> {
    pub alg: Algorithm,
    pub kid: Option<String>,
    message: &'t str,
    payload: &'t str,
    signature: &'t str,
}

#[derive(Deserialize)]
struct RawHeader<'a> {
    #[serde(borrow)]
    alg: std::borrow::Cow<'a, str>,
    #[serde(default)]
    kid: Option<String>,
}

/// Splits `header.payload.signature` and reads `alg` (`none` and unknown algorithms fail here).
pub(crate) fn split(token: &str) -> Result<Parts<'_>, &'static str> {
    let mut it = token.splitn(3, '.');
    let (Some(header), Some(payload), Some(signature)) = (it.next(), it.next(), it.next()) else {
        return Err("JWSError (malformed token)");
    };
    if signature.contains('.') {
        return Err("JWSError (malformed token)");
    }
    let header_json = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| "JWSError (malformed token)")?;
    let raw: RawHeader<'_> =
        serde_json::from_slice(&header_json).map_err(|_| "JWSError (malformed token)")?;
    let alg = raw
        .alg
        .parse::<Algorithm>()
        .map_err(|_| "JWSError (unsupported algorithm)")?;
    let message = &token[..header.len() + 1 + payload.len()];
    Ok(Parts {
        alg,
        kid: raw.kid,
        message,
        payload,
        signature,
    })
}

impl Parts<'_> {
    /// Verifies the signature with `key` for `alg`, which the caller has already checked is
    /// the configured (or the key's) algorithm.
    pub(crate) fn verify(&self, key: &VerifyingKey) -> Result<(), &'static str> {
        let message = self.message.as_bytes();
        if let Some(valid) = key.verify(self.alg, message, self.signature) {
            return if valid {
                Ok(())
            } else {
                Err("JWSError JWSInvalidSignature")
            };
        }
        let key = key.decoding();
        match jsonwebtoken::crypto::verify(self.signature, self.message.as_bytes(), key, self.alg) {
            Ok(true) => Ok(()),
            Ok(false) => Err("JWSError JWSInvalidSignature"),
            Err(_) => Err("JWSError (the key does not fit the algorithm)"),
        }
    }

    /// Verifies an HMAC signature with a prepared key (same algorithm checked by the caller).
    pub(crate) fn verify_hmac(&self, key: &PreparedHmac) -> Result<(), &'static str> {
        key.verify(self.message.as_bytes(), self.signature)
    }

    /// The payload's bytes (only after [`Parts::verify`]).
    pub(crate) fn payload(&self) -> Result<Vec<u8>, &'static str> {
        URL_SAFE_NO_PAD
            .decode(self.payload)
            .map_err(|_| "JWSError (malformed token)")
    }
}

/// An HMAC key whose inner and outer pads are hashed once, at configuration: each token then
/// costs a clone of that state instead of two more compressions. `jsonwebtoken` rebuilds the
/// key on every verification.
#[derive(Clone)]
pub(crate) enum PreparedHmac {
    Hs256(hmac::Hmac<sha2::Sha256>),
    Hs384(hmac::Hmac<sha2::Sha384>),
    Hs512(hmac::Hmac<sha2::Sha512>),
}

impl PreparedHmac {
    /// The prepared key for an HMAC algorithm (`None` for any other).
    pub(crate) fn new(alg: Algorithm, secret: &[u8]) -> Option<Self> {
        use hmac::Mac;
        match alg {
            Algorithm::HS256 => hmac::Hmac::new_from_slice(secret).ok().map(Self::Hs256),
            Algorithm::HS384 => hmac::Hmac::new_from_slice(secret).ok().map(Self::Hs384),
            Algorithm::HS512 => hmac::Hmac::new_from_slice(secret).ok().map(Self::Hs512),
            _ => None,
        }
    }

    /// Checks `signature` (base64url) over `message`, in constant time.
    fn verify(&self, message: &[u8], signature: &str) -> Result<(), &'static str> {
        use hmac::Mac;
        // The longest HMAC tag is 64 bytes; decoding into the stack spares an allocation.
        let mut tag = [0u8; 64];
        let len = URL_SAFE_NO_PAD
            .decode_slice(signature, &mut tag)
            .map_err(|_| "JWSError JWSInvalidSignature")?;
        let tag = &tag[..len];
        let valid = match self {
            Self::Hs256(key) => {
                let mut mac = key.clone();
                mac.update(message);
                mac.verify_slice(tag).is_ok()
            }
            Self::Hs384(key) => {
                let mut mac = key.clone();
                mac.update(message);
                mac.verify_slice(tag).is_ok()
            }
            Self::Hs512(key) => {
                let mut mac = key.clone();
                mac.update(message);
                mac.verify_slice(tag).is_ok()
            }
        };
        if valid {
            Ok(())
        } else {
            Err("JWSError JWSInvalidSignature")
        }
    }
}

/// The registered claims Hasura checks.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Registered {
    pub exp: Option<f64>,
    pub nbf: Option<f64>,
    pub iat: Option<f64>,
    pub aud: Option<Vec<String>>,
    pub iss: Option<String>,
    /// `jti`, for deny lists (logout).
    pub jti: Option<String>,
}

impl Registered {
    /// The same checks as `jsonwebtoken::Validation` with Hasura's settings.
    pub(crate) fn check(
        &self,
        audience: Option<&[String]>,
        issuer: Option<&str>,
        skew_secs: u64,
        now: u64,
    ) -> Result<(), &'static str> {
        let (now, skew) = (now as f64, skew_secs as f64);
        if self.exp.is_some_and(|exp| exp < now - skew) {
            return Err("JWTExpired");
        }
        if self.nbf.is_some_and(|nbf| nbf > now + skew) {
            return Err("JWTNotYetValid");
        }
        // Hasura's JWT library refuses a token issued in the future, with the same skew.
        if self.iat.is_some_and(|iat| iat > now + skew) {
            return Err("JWTIssuedAtFuture");
        }
        if let Some(accepted) = audience {
            let ok = self
                .aud
                .as_ref()
                .is_some_and(|aud| aud.iter().any(|a| accepted.contains(a)));
            if !ok {
                return Err("JWTNotInAudience");
            }
        }
        if let (Some(expected), Some(iss)) = (issuer, &self.iss) {
            if expected != iss {
                return Err("JWTNotInIssuer");
            }
        }
        Ok(())
    }
}

/// `aud`: a string or a list of strings.
struct Audience(Vec<String>);

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        Ok(Audience(match OneOrMany::deserialize(d)? {
            OneOrMany::One(a) => vec![a],
            OneOrMany::Many(a) => a,
        }))
    }
}

/// What the payload parse yields: the registered claims and the namespace value, if asked for.
pub(crate) struct Payload {
    pub registered: Registered,
    /// The namespace's `x-hasura-*` claims (lower-cased names), when the namespace was a JSON
    /// object; the raw value otherwise (a string under `stringified_json`, or a wrong type).
    pub namespace: Option<Namespace>,
}

pub(crate) enum Namespace {
    Claims(Vec<(String, Value)>),
    Other(Value),
}

/// Parses the payload once: registered claims plus the `namespace` key's claims.
pub(crate) struct PayloadSeed<'a> {
    pub namespace: &'a str,
}

impl<'de> DeserializeSeed<'de> for PayloadSeed<'_> {
    type Value = Payload;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Payload, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PayloadSeed<'_> {
    type Value = Payload;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JWT payload object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Payload, A::Error> {
        let mut registered = Registered::default();
        let mut namespace = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "exp" => registered.exp = Some(map.next_value()?),
                "nbf" => registered.nbf = Some(map.next_value()?),
                "iat" => registered.iat = map.next_value()?,
                "aud" => registered.aud = Some(map.next_value::<Audience>()?.0),
                "iss" => registered.iss = Some(map.next_value()?),
                "jti" => registered.jti = map.next_value()?,
                k if k == self.namespace => namespace = Some(map.next_value_seed(NamespaceSeed)?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Payload {
            registered,
            namespace,
        })
    }
}

struct NamespaceSeed;

impl<'de> DeserializeSeed<'de> for NamespaceSeed {
    type Value = Namespace;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Namespace, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NamespaceSeed {
    type Value = Namespace;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Hasura claims")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Namespace, A::Error> {
        let mut claims = Vec::with_capacity(4);
        while let Some(mut key) = map.next_key::<String>()? {
            key.make_ascii_lowercase();
            if key.starts_with("x-hasura-") {
                claims.push((key, map.next_value::<Value>()?));
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Namespace::Claims(claims))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Namespace, E> {
        Ok(Namespace::Other(Value::String(v.to_owned())))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Namespace, E> {
        Ok(Namespace::Other(Value::String(v)))
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Namespace, E> {
        Ok(Namespace::Other(Value::Bool(v)))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Namespace, E> {
        Ok(Namespace::Other(Value::from(v)))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Namespace, E> {
        Ok(Namespace::Other(Value::from(v)))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Namespace, E> {
        Ok(Namespace::Other(Value::from(v)))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Namespace, E> {
        Ok(Namespace::Other(Value::Null))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Namespace, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Namespace::Other(Value::Array(Vec::new())))
    }
}

/// A string or a list of strings (`aud`, and the `audience` setting); `None` when absent or null.
pub(crate) fn string_or_strings(value: Option<&Value>) -> Result<Option<Vec<String>>, ()> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(one)) => Ok(Some(vec![one.clone()])),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or(()),
        Some(_) => Err(()),
    }
}

/// The registered claims of a payload already parsed as a `Value` (for `claims_map` and
/// `claims_namespace_path`, which read arbitrary paths).
pub(crate) fn registered_of(payload: &Value) -> Result<Registered, &'static str> {
    let number = |k: &str| match payload.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or("JWSError (invalid registered claim)"),
    };
    let aud = string_or_strings(payload.get("aud")).map_err(|()| "JWSError (invalid aud)")?;
    let iss = match payload.get("iss") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err("JWSError (invalid iss)"),
    };
    let jti = match payload.get("jti") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err("JWSError (invalid jti)"),
    };
    Ok(Registered {
        exp: number("exp")?,
        nbf: number("nbf")?,
        iat: number("iat")?,
        aud,
        iss,
        jti,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_claim_rules() {
        let r = |exp: Option<f64>, nbf: Option<f64>| Registered {
            exp,
            nbf,
            iat: None,
            aud: None,
            iss: None,
            jti: None,
        };
        assert_eq!(
            r(Some(99.0), None).check(None, None, 0, 100),
            Err("JWTExpired")
        );
        assert_eq!(r(Some(99.0), None).check(None, None, 5, 100), Ok(()));
        assert_eq!(
            r(None, Some(101.0)).check(None, None, 0, 100),
            Err("JWTNotYetValid")
        );
        assert_eq!(r(None, Some(101.0)).check(None, None, 1, 100), Ok(()));
        assert_eq!(r(None, None).check(None, None, 0, 100), Ok(()));
        let aud = ["a".to_owned()];
        assert_eq!(
            r(None, None).check(Some(&aud), None, 0, 100),
            Err("JWTNotInAudience")
        );
        let with = |aud: &str, iss: &str| Registered {
            exp: None,
            nbf: None,
            iat: None,
            aud: Some(vec![aud.into()]),
            iss: Some(iss.into()),
            jti: None,
        };
        assert_eq!(with("a", "i").check(Some(&aud), Some("i"), 0, 100), Ok(()));
        assert_eq!(
            with("b", "i").check(Some(&aud), Some("i"), 0, 100),
            Err("JWTNotInAudience")
        );
        assert_eq!(
            with("a", "j").check(Some(&aud), Some("i"), 0, 100),
            Err("JWTNotInIssuer")
        );
    }

    #[test]
    fn split_refuses_malformed_and_none() {
        assert!(split("a.b").is_err());
        assert!(split("a.b.c.d").is_err());
        let none = format!("{}.e30.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#));
        assert_eq!(split(&none).err(), Some("JWSError (unsupported algorithm)"));
    }

    #[test]
    fn payload_seed_keeps_registered_and_hasura_claims_only() {
        let json = r#"{"sub":"1","exp":10,"aud":["x","y"],"ns":{"X-Hasura-Role":"u","other":1},"big":[1,2,3]}"#;
        let p = PayloadSeed { namespace: "ns" }
            .deserialize(&mut serde_json::Deserializer::from_str(json))
            .unwrap();
        assert_eq!(p.registered.exp, Some(10.0));
        assert_eq!(p.registered.aud, Some(vec!["x".into(), "y".into()]));
        match p.namespace {
            Some(Namespace::Claims(c)) => {
                assert_eq!(c, vec![("x-hasura-role".to_owned(), Value::from("u"))])
            }
            _ => panic!("claims expected"),
        }
    }
}
