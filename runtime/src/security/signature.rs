//! RSA and ECDSA token signatures checked with `aws-lc-rs`, on keys parsed once.
//!
//! Why not only `jsonwebtoken`'s crypto: its RustCrypto backend (`num-bigint-dig`'s Montgomery
//! multiplication) was 69% of the uncached auth webhook's CPU profile. Why `aws-lc-rs` rather
//! than `ring` (used until then, and still in the build for TLS and token signing): `ring` has no
//! parsed public key, so every RSA check recomputed the modulus's Montgomery constants, a third
//! of its cost; `aws-lc-rs`'s `ParsedPublicKey` keeps them (an RS256 check: 24 µs with `ring`,
//! 18 µs on a parsed key, on the benchmark machine). A [`VerifyingKey`] is parsed once, for the
//! algorithm it is loaded for; another algorithm on the same key is checked on the unparsed key.
//!
//! Its verdict is final for every key it is given here: the keys both it and `jsonwebtoken`
//! take. The rest (RSA moduli outside 2048–4096 bits, where `aws-lc-rs` would accept up to 8192
//! and the `rsa` crate refuses above 4096; unusual exponents; compressed EC points) and
//! signatures that are not base64url go on to `jsonwebtoken` as before, with its answers.

use std::sync::Arc;

use aws_lc_rs::signature::{
    self as lc, ParsedPublicKey, RsaPublicKeyComponents, UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind};

/// A public key that checks token signatures: `jsonwebtoken`'s key, and `aws-lc-rs`'s parsed
/// form of it for the algorithm it is expected to check. Cloning shares the parsed form.
#[derive(Clone)]
pub(crate) struct VerifyingKey {
    decoding: DecodingKey,
    parsed: Option<Arc<(Algorithm, ParsedPublicKey)>>,
}

impl VerifyingKey {
    /// Prepares `decoding` for `alg`: a static key's configured algorithm or a JWK's `alg`.
    /// Without one (a JWK that names none), RSA keys are prepared for RS256, by far the most
    /// used, and EC keys for their curve's algorithm.
    pub(crate) fn new(decoding: DecodingKey, alg: Option<Algorithm>) -> Self {
        let alg = alg.or_else(|| match decoding.family() {
            AlgorithmFamily::Rsa => Some(Algorithm::RS256),
            AlgorithmFamily::Ec => ec_point(&decoding).map(|(alg, _)| alg),
            _ => None,
        });
        let parsed = alg
            .and_then(|alg| Some((alg, parse(alg, &decoding)?)))
            .map(Arc::new);
        Self { decoding, parsed }
    }

    /// `jsonwebtoken`'s key (for the checks `aws-lc-rs` is not given).
    pub(crate) fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }

    /// `Some(verdict)` when `aws-lc-rs` can check `signature` (base64url) over `message` for
    /// `alg`; `None` when the algorithm, key family, key shape or signature encoding is not one
    /// it is given.
    pub(crate) fn verify(&self, alg: Algorithm, message: &[u8], signature: &str) -> Option<bool> {
        match self.parsed.as_deref() {
            Some((prepared, key)) if *prepared == alg => with_signature(signature, |signature| {
                key.verify_sig(message, signature).is_ok()
            }),
            _ => verify(alg, &self.decoding, message, signature),
        }
    }
}

/// The parsed key for `alg`, when `aws-lc-rs` is given this key for it.
fn parse(alg: Algorithm, key: &DecodingKey) -> Option<ParsedPublicKey> {
    if let Some(params) = rsa_params(alg) {
        let (n, e) = rsa_components(key)?;
        RsaPublicKeyComponents { n, e }
            .to_parsed_public_key(params)
            .ok()
    } else {
        let (curve_alg, point) = ec_point(key)?;
        (curve_alg == alg)
            .then(|| ParsedPublicKey::new(ec_params(alg)?, point).ok())
            .flatten()
    }
}

/// Decodes a base64url signature onto the stack (the longest, RSA-4096's, is 512 bytes) and
/// checks it; a longer one is simply wrong, and one that is not base64url is not decided here.
fn with_signature(signature: &str, check: impl FnOnce(&[u8]) -> bool) -> Option<bool> {
    let mut bytes = [0u8; 512];
    match URL_SAFE_NO_PAD.decode_slice(signature, &mut bytes) {
        Ok(len) => Some(check(&bytes[..len])),
        Err(base64::DecodeSliceError::OutputSliceTooSmall) => Some(false),
        Err(base64::DecodeSliceError::DecodeError(_)) => None,
    }
}

/// `Some(verdict)` when `aws-lc-rs` can check `signature` (base64url) over `message` with
/// `key` for `alg`, parsing the key for this one check; `None` when the algorithm, key family,
/// key shape or signature encoding is not one it is given.
pub(crate) fn verify(
    alg: Algorithm,
    key: &DecodingKey,
    message: &[u8],
    signature: &str,
) -> Option<bool> {
    match (alg, key.family()) {
        (
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512,
            AlgorithmFamily::Rsa,
        ) => {
            let (n, e) = rsa_components(key)?;
            let params = rsa_params(alg)?;
            with_signature(signature, |signature| {
                RsaPublicKeyComponents { n, e }
                    .verify(params, message, signature)
                    .is_ok()
            })
        }
        (Algorithm::ES256 | Algorithm::ES384, AlgorithmFamily::Ec) => {
            let (curve_alg, point) = ec_point(key)?;
            if curve_alg != alg {
                return None;
            }
            let params = ec_params(alg)?;
            with_signature(signature, |signature| {
                UnparsedPublicKey::new(params, point)
                    .verify(message, signature)
                    .is_ok()
            })
        }
        _ => None,
    }
}

fn rsa_params(alg: Algorithm) -> Option<&'static lc::RsaParameters> {
    Some(match alg {
        Algorithm::RS256 => &lc::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &lc::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &lc::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &lc::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &lc::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &lc::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

fn ec_params(alg: Algorithm) -> Option<&'static lc::EcdsaVerificationAlgorithm> {
    match alg {
        Algorithm::ES256 => Some(&lc::ECDSA_P256_SHA256_FIXED),
        Algorithm::ES384 => Some(&lc::ECDSA_P384_SHA384_FIXED),
        _ => None,
    }
}

/// An EC key's uncompressed point (what JWKs and `from_ec_components` give) and the algorithm
/// of its curve, told by its length.
fn ec_point(key: &DecodingKey) -> Option<(Algorithm, &[u8])> {
    if key.family() != AlgorithmFamily::Ec {
        return None;
    }
    let DecodingKeyKind::SecretOrDer(point) = key.kind() else {
        return None;
    };
    let alg = match point.len() {
        65 => Algorithm::ES256,
        97 => Algorithm::ES384,
        _ => return None,
    };
    (point.first() == Some(&0x04)).then_some((alg, point.as_slice()))
}

/// The key's modulus and exponent (big-endian, no leading zeros) when `aws-lc-rs` and the `rsa`
/// crate both take them: a 2048–4096-bit modulus and an odd exponent from 3 to 2³³ − 1.
fn rsa_components(key: &DecodingKey) -> Option<(&[u8], &[u8])> {
    if key.family() != AlgorithmFamily::Rsa {
        return None;
    }
    let (n, e) = match key.kind() {
        DecodingKeyKind::RsaModulusExponent { n, e } => (n.as_slice(), e.as_slice()),
        // PKCS#1 `RSAPublicKey` (from a PEM or DER key).
        DecodingKeyKind::SecretOrDer(der) => {
            let parsed = pkcs1::RsaPublicKey::try_from(der.as_slice()).ok()?;
            (parsed.modulus.as_bytes(), parsed.public_exponent.as_bytes())
        }
    };
    let (n, e) = (trim_zeros(n), trim_zeros(e));
    let n_bits = bit_length(n);
    let e_bits = bit_length(e);
    let e_odd = e.last().is_some_and(|b| b & 1 == 1);
    let e_at_least_3 = e_bits > 2 || e.last().is_some_and(|b| *b >= 3);
    ((2048..=4096).contains(&n_bits) && e_odd && e_at_least_3 && e_bits <= 33).then_some((n, e))
}

fn trim_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

fn bit_length(bytes: &[u8]) -> usize {
    match bytes.first() {
        Some(top) => bytes.len() * 8 - top.leading_zeros() as usize,
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};

    const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/keys/");

    fn read(name: &str) -> Vec<u8> {
        std::fs::read(format!("{KEYS}{name}")).unwrap()
    }

    fn sign(alg: Algorithm, private: &EncodingKey) -> (String, String) {
        let token =
            jsonwebtoken::encode(&Header::new(alg), &serde_json::json!({"sub": "1"}), private)
                .unwrap();
        let (message, signature) = token.rsplit_once('.').unwrap();
        (message.to_owned(), signature.to_owned())
    }

    /// `aws-lc-rs` decides (`Some`) for every RSA and ECDSA key shape Rasura loads, on a key
    /// parsed for the algorithm, on one parsed for another and on the unparsed key alike, and
    /// agrees with `jsonwebtoken`'s own crypto on good, tampered and foreign signatures.
    #[test]
    fn aws_lc_decides_and_agrees_with_jsonwebtoken() {
        let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_slice(&read("jwks.json")).unwrap();
        let jwk = |kid: &str| DecodingKey::from_jwk(jwks.find(kid).unwrap()).unwrap();
        let rsa = EncodingKey::from_rsa_pem(&read("rsa_private.pem")).unwrap();
        let rsa_other = EncodingKey::from_rsa_pem(&read("rsa_other_private.pem")).unwrap();
        let ec = EncodingKey::from_ec_pem(&read("ec_private.pem")).unwrap();
        let rsa_pem = DecodingKey::from_rsa_pem(&read("rsa_public.pem")).unwrap();
        let ec_pem = DecodingKey::from_ec_pem(&read("ec_public.pem")).unwrap();
        let cases = [
            (Algorithm::RS256, &rsa, &rsa_other, rsa_pem.clone()),
            (Algorithm::RS256, &rsa, &rsa_other, jwk("rsa-1")),
            (Algorithm::RS384, &rsa, &rsa_other, rsa_pem.clone()),
            (Algorithm::RS512, &rsa, &rsa_other, jwk("rsa-1")),
            (Algorithm::RS384, &rsa, &rsa_other, jwk("rsa-1")),
            (Algorithm::PS256, &rsa, &rsa_other, rsa_pem.clone()),
            (Algorithm::PS384, &rsa, &rsa_other, jwk("rsa-1")),
            (Algorithm::PS512, &rsa, &rsa_other, jwk("rsa-1")),
            (Algorithm::ES256, &ec, &rsa_other, ec_pem),
            (Algorithm::ES256, &ec, &rsa_other, jwk("ec-1")),
        ];
        for (alg, private, other, public) in cases {
            let prepared = VerifyingKey::new(public.clone(), Some(alg));
            assert!(
                prepared.parsed.as_deref().is_some_and(|(a, _)| *a == alg),
                "{alg:?}: parsed"
            );
            // Parsed for another algorithm (or, for EC, for its curve's only one).
            let other_alg = match alg {
                Algorithm::RS256 => Algorithm::PS256,
                Algorithm::ES256 => Algorithm::ES256,
                _ => Algorithm::RS256,
            };
            let prepared_other = VerifyingKey::new(public.clone(), Some(other_alg));
            let (message, signature) = sign(alg, private);
            let reference =
                |m: &str, s: &str| jsonwebtoken::crypto::verify(s, m.as_bytes(), &public, alg);
            let tampered = format!("{message}x");
            let foreign = if alg == Algorithm::ES256 {
                // No second key of the curve at hand: the signature with one character changed.
                let mut altered = signature.clone().into_bytes();
                altered[10] = if altered[10] == b'A' { b'B' } else { b'A' };
                String::from_utf8(altered).unwrap()
            } else {
                sign(alg, other).1
            };
            for (m, s, expected) in [
                (message.as_str(), signature.as_str(), true),
                (tampered.as_str(), signature.as_str(), false),
                (message.as_str(), foreign.as_str(), false),
            ] {
                let verdict = verify(alg, &public, m.as_bytes(), s);
                assert_eq!(verdict, Some(expected), "{alg:?} {m} {s}");
                let verdict = prepared.verify(alg, m.as_bytes(), s);
                assert_eq!(verdict, Some(expected), "{alg:?} parsed: {m} {s}");
                let verdict = prepared_other.verify(alg, m.as_bytes(), s);
                assert_eq!(verdict, Some(expected), "{alg:?} parsed for {other_alg:?}");
                assert_eq!(
                    reference(m, s).unwrap(),
                    expected,
                    "{alg:?}: jsonwebtoken disagrees"
                );
            }
            // Not base64url: jsonwebtoken's answer (an error), as before.
            assert_eq!(verify(alg, &public, message.as_bytes(), "not*base64"), None);
            assert_eq!(prepared.verify(alg, message.as_bytes(), "not*base64"), None);
            assert!(reference(&message, "not*base64").is_err());
        }
        // Hostile signatures: empty, oversized or of the wrong length are refused; padded
        // base64 is not base64url, so jsonwebtoken answers.
        let huge = "A".repeat(100_000);
        for alg in [Algorithm::RS256, Algorithm::PS256, Algorithm::ES256] {
            let key = if alg == Algorithm::ES256 {
                jwk("ec-1")
            } else {
                rsa_pem.clone()
            };
            let prepared = VerifyingKey::new(key.clone(), None);
            assert!(prepared.parsed.is_some(), "{alg:?}: parsed without `alg`");
            // Just past the longest signature the stack buffer takes (512 bytes).
            let long = "A".repeat(684);
            for bad in ["", "AA", long.as_str(), huge.as_str()] {
                assert_eq!(
                    verify(alg, &key, b"m", bad),
                    Some(false),
                    "{alg:?} {}",
                    bad.len()
                );
                assert_eq!(prepared.verify(alg, b"m", bad), Some(false));
            }
            assert_eq!(verify(alg, &key, b"m", "AAAA=="), None);
            assert_eq!(prepared.verify(alg, b"m", "AAAA=="), None);
        }
        // Not aws-lc's: HMAC, EdDSA, and a key of the wrong family (jsonwebtoken refuses those).
        let hmac = DecodingKey::from_secret(b"secret");
        assert_eq!(verify(Algorithm::HS256, &hmac, b"m", "c2ln"), None);
        assert_eq!(verify(Algorithm::RS256, &hmac, b"m", "c2ln"), None);
        assert_eq!(verify(Algorithm::ES256, &rsa_pem, b"m", "c2ln"), None);
        let ed = DecodingKey::from_ed_pem(&read("ed_public.pem")).unwrap();
        assert_eq!(verify(Algorithm::EdDSA, &ed, b"m", "c2ln"), None);
    }

    /// ES384 (no P-384 key among the test keys: one made by `ring`), checked by `aws-lc-rs`
    /// and by `jsonwebtoken` alike.
    #[test]
    fn es384_with_a_fresh_key() {
        use ring::signature::{ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let public = DecodingKey::from_ec_der(pair.public_key().as_ref());
        let message = b"header.payload";
        let signature = URL_SAFE_NO_PAD.encode(pair.sign(&rng, message).unwrap());
        assert_eq!(
            verify(Algorithm::ES384, &public, message, &signature),
            Some(true)
        );
        assert_eq!(
            verify(Algorithm::ES384, &public, b"header.other", &signature),
            Some(false)
        );
        let reference =
            jsonwebtoken::crypto::verify(&signature, message, &public, Algorithm::ES384);
        assert!(reference.unwrap());
        // A P-384 point is not a P-256 key: jsonwebtoken refuses it.
        assert_eq!(verify(Algorithm::ES256, &public, message, &signature), None);
        // Without `alg`, the key is parsed for its curve's algorithm.
        let prepared = VerifyingKey::new(public, None);
        assert!(
            prepared
                .parsed
                .as_deref()
                .is_some_and(|(a, _)| *a == Algorithm::ES384)
        );
        assert_eq!(
            prepared.verify(Algorithm::ES384, message, &signature),
            Some(true)
        );
        assert_eq!(
            prepared.verify(Algorithm::ES384, b"header.other", &signature),
            Some(false)
        );
        assert_eq!(prepared.verify(Algorithm::ES256, message, &signature), None);
    }

    /// A key `aws-lc-rs` is not given (a compressed P-256 point) is still checked, by
    /// `jsonwebtoken`, through the token path.
    #[test]
    fn keys_aws_lc_is_not_given_fall_back_to_jsonwebtoken() {
        let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_slice(&read("jwks.json")).unwrap();
        let jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(ec) =
            &jwks.find("ec-1").unwrap().algorithm
        else {
            panic!("ec-1 is an EC key");
        };
        let x = URL_SAFE_NO_PAD.decode(&ec.x).unwrap();
        let y = URL_SAFE_NO_PAD.decode(&ec.y).unwrap();
        let compressed = [&[0x02 | (y[31] & 1)][..], &x].concat();
        let public = DecodingKey::from_ec_der(&compressed);
        let private = EncodingKey::from_ec_pem(&read("ec_private.pem")).unwrap();
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::ES256),
            &serde_json::json!({}),
            &private,
        )
        .unwrap();
        let (message, signature) = token.rsplit_once('.').unwrap();
        assert_eq!(
            verify(Algorithm::ES256, &public, message.as_bytes(), signature),
            None
        );
        let public = VerifyingKey::new(public, None);
        assert!(public.parsed.is_none());
        let parts = super::super::token::split(&token).unwrap();
        assert_eq!(parts.verify(&public), Ok(()));
        let mut altered = signature.as_bytes().to_vec();
        altered[10] = if altered[10] == b'A' { b'B' } else { b'A' };
        let forged = format!("{message}.{}", String::from_utf8(altered).unwrap());
        let parts = super::super::token::split(&forged).unwrap();
        assert!(parts.verify(&public).is_err());
    }

    #[test]
    fn bit_lengths_and_exponents() {
        assert_eq!(bit_length(&[0x01, 0x00, 0x01]), 17);
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(trim_zeros(&[0, 0, 5]), &[5]);
        let key = |n: Vec<u8>, e: Vec<u8>| DecodingKey::from_rsa_raw_components(&n, &e);
        let n2048 = [vec![0x00, 0x80], vec![0x11; 255]].concat();
        assert!(rsa_components(&key(n2048.clone(), vec![1, 0, 1])).is_some());
        // aws-lc-rs's limits: too short, even or tiny exponents go to jsonwebtoken.
        assert!(rsa_components(&key(vec![0xff; 128], vec![1, 0, 1])).is_none());
        assert!(rsa_components(&key(n2048.clone(), vec![1, 0, 0])).is_none());
        assert!(rsa_components(&key(n2048.clone(), vec![1])).is_none());
        assert!(rsa_components(&key(n2048, vec![3])).is_some());
        // Above 4096 bits the rsa crate refuses the key (aws-lc-rs would take it): jsonwebtoken says.
        let n4096 = [vec![0x80], vec![0x11; 511]].concat();
        assert!(rsa_components(&key(n4096, vec![1, 0, 1])).is_some());
        let n4104 = [vec![0x80], vec![0x11; 512]].concat();
        assert!(rsa_components(&key(n4104, vec![1, 0, 1])).is_none());
    }
}
