//! RSA and ECDSA token signatures checked with `ring`.
//!
//! Why not only `jsonwebtoken`'s crypto: its RustCrypto backend checks an RS256 signature in
//! about 400 µs of CPU here (`num-bigint-dig`'s Montgomery multiplication took 69% of the
//! uncached auth webhook's profile), `ring` in about 20 µs; ECDSA gains several times too.
//! `ring` is already in the build (rustls, token signing), and its verdict is final for every
//! key it accepts. Keys it refuses by shape (RSA moduli outside 2048–8192 bits, unusual
//! exponents, compressed EC points) go on to `jsonwebtoken` as before, with the same answers.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use jsonwebtoken::{DecodingKey, DecodingKeyKind};
use ring::signature::{self as ring_sig, RsaPublicKeyComponents, UnparsedPublicKey};

/// `Some(verdict)` when `ring` can check `signature` (base64url) over `message` with `key` for
/// `alg`; `None` when the algorithm, key family or key shape is not one it takes.
pub(crate) fn verify(
    alg: Algorithm,
    key: &DecodingKey,
    message: &[u8],
    signature: &str,
) -> Option<bool> {
    use jsonwebtoken::AlgorithmFamily;
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
            let signature = URL_SAFE_NO_PAD.decode(signature).ok();
            // Undecodable base64 is a bad signature, whatever the key.
            let Some(signature) = signature else {
                return Some(false);
            };
            Some(
                RsaPublicKeyComponents { n, e }
                    .verify(params, message, &signature)
                    .is_ok(),
            )
        }
        (Algorithm::ES256 | Algorithm::ES384, AlgorithmFamily::Ec) => {
            let DecodingKeyKind::SecretOrDer(point) = key.kind() else {
                return None;
            };
            let (params, len): (&'static ring_sig::EcdsaVerificationAlgorithm, usize) = match alg {
                Algorithm::ES256 => (&ring_sig::ECDSA_P256_SHA256_FIXED, 65),
                _ => (&ring_sig::ECDSA_P384_SHA384_FIXED, 97),
            };
            // Uncompressed points only (what JWKs and `from_ec_components` give).
            if point.len() != len || point.first() != Some(&0x04) {
                return None;
            }
            let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
                return Some(false);
            };
            Some(
                UnparsedPublicKey::new(params, point)
                    .verify(message, &signature)
                    .is_ok(),
            )
        }
        _ => None,
    }
}

fn rsa_params(alg: Algorithm) -> Option<&'static ring_sig::RsaParameters> {
    Some(match alg {
        Algorithm::RS256 => &ring_sig::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &ring_sig::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &ring_sig::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &ring_sig::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &ring_sig::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &ring_sig::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

/// The key's modulus and exponent (big-endian, no leading zeros) when `ring` takes them: a
/// 2048–8192-bit modulus and an odd exponent from 3 to 2³³ − 1.
fn rsa_components(key: &DecodingKey) -> Option<(&[u8], &[u8])> {
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
    ((2048..=8192).contains(&n_bits) && e_odd && e_at_least_3 && e_bits <= 33).then_some((n, e))
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

    /// `ring` decides (`Some`) for every RSA and ECDSA key shape Rasura loads, and agrees with
    /// `jsonwebtoken`'s own crypto on good, tampered and foreign signatures.
    #[test]
    fn ring_decides_and_agrees_with_jsonwebtoken() {
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
            (Algorithm::PS256, &rsa, &rsa_other, rsa_pem.clone()),
            (Algorithm::PS512, &rsa, &rsa_other, jwk("rsa-1")),
            (Algorithm::ES256, &ec, &rsa_other, ec_pem),
            (Algorithm::ES256, &ec, &rsa_other, jwk("ec-1")),
        ];
        for (alg, private, other, public) in cases {
            let (message, signature) = sign(alg, private);
            let reference = |m: &str, s: &str| {
                jsonwebtoken::crypto::verify(s, m.as_bytes(), &public, alg).unwrap_or(false)
            };
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
                (message.as_str(), "not*base64", false),
            ] {
                let verdict = verify(alg, &public, m.as_bytes(), s);
                assert_eq!(verdict, Some(expected), "{alg:?} {m} {s}");
                assert_eq!(reference(m, s), expected, "{alg:?}: jsonwebtoken disagrees");
            }
        }
        // Not ring's: HMAC, EdDSA, and a key of the wrong family (jsonwebtoken refuses those).
        let hmac = DecodingKey::from_secret(b"secret");
        assert_eq!(verify(Algorithm::HS256, &hmac, b"m", "c2ln"), None);
        assert_eq!(verify(Algorithm::RS256, &hmac, b"m", "c2ln"), None);
        assert_eq!(verify(Algorithm::ES256, &rsa_pem, b"m", "c2ln"), None);
        let ed = DecodingKey::from_ed_pem(&read("ed_public.pem")).unwrap();
        assert_eq!(verify(Algorithm::EdDSA, &ed, b"m", "c2ln"), None);
    }

    #[test]
    fn bit_lengths_and_exponents() {
        assert_eq!(bit_length(&[0x01, 0x00, 0x01]), 17);
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(trim_zeros(&[0, 0, 5]), &[5]);
        let key = |n: Vec<u8>, e: Vec<u8>| DecodingKey::from_rsa_raw_components(&n, &e);
        let n2048 = [vec![0x00, 0x80], vec![0x11; 255]].concat();
        assert!(rsa_components(&key(n2048.clone(), vec![1, 0, 1])).is_some());
        // ring's limits: too short, even or tiny exponents go to jsonwebtoken.
        assert!(rsa_components(&key(vec![0xff; 128], vec![1, 0, 1])).is_none());
        assert!(rsa_components(&key(n2048.clone(), vec![1, 0, 0])).is_none());
        assert!(rsa_components(&key(n2048.clone(), vec![1])).is_none());
        assert!(rsa_components(&key(n2048, vec![3])).is_some());
    }
}
