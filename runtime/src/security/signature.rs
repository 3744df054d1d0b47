//! RSA and ECDSA token signatures checked with `ring`.
//!
//! Why not only `jsonwebtoken`'s crypto: its RustCrypto backend (`num-bigint-dig`'s Montgomery
//! multiplication) was 69% of the uncached auth webhook's CPU profile; with `ring` the whole
//! request costs about a third of the hand-written axum peer's, which still uses it
//! (BENCHMARKS.md).
//! `ring` is already in the build (rustls, token signing), and its verdict is final for every
//! key it is given here: the keys both it and `jsonwebtoken` take. The rest (RSA moduli outside
//! 2048–4096 bits, where `ring` would accept up to 8192 and the `rsa` crate refuses above 4096;
//! unusual exponents; compressed EC points) and signatures that are not base64url go on to
//! `jsonwebtoken` as before, with its answers.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use jsonwebtoken::{DecodingKey, DecodingKeyKind};
use ring::signature::{self as ring_sig, RsaPublicKeyComponents, UnparsedPublicKey};

/// `Some(verdict)` when `ring` can check `signature` (base64url) over `message` with `key` for
/// `alg`; `None` when the algorithm, key family, key shape or signature encoding is not one it
/// is given.
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
            let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
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
            let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
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

/// The key's modulus and exponent (big-endian, no leading zeros) when `ring` and the `rsa`
/// crate both take them: a 2048–4096-bit modulus and an odd exponent from 3 to 2³³ − 1.
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
            (Algorithm::RS384, &rsa, &rsa_other, jwk("rsa-1")),
            (Algorithm::PS256, &rsa, &rsa_other, rsa_pem.clone()),
            (Algorithm::PS384, &rsa, &rsa_other, jwk("rsa-1")),
            (Algorithm::PS512, &rsa, &rsa_other, jwk("rsa-1")),
            (Algorithm::ES256, &ec, &rsa_other, ec_pem),
            (Algorithm::ES256, &ec, &rsa_other, jwk("ec-1")),
        ];
        for (alg, private, other, public) in cases {
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
                assert_eq!(
                    reference(m, s).unwrap(),
                    expected,
                    "{alg:?}: jsonwebtoken disagrees"
                );
            }
            // Not base64url: jsonwebtoken's answer (an error), as before.
            assert_eq!(verify(alg, &public, message.as_bytes(), "not*base64"), None);
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
            for bad in ["", "AA", huge.as_str()] {
                assert_eq!(
                    verify(alg, &key, b"m", bad),
                    Some(false),
                    "{alg:?} {}",
                    bad.len()
                );
            }
            assert_eq!(verify(alg, &key, b"m", "AAAA=="), None);
        }
        // Not ring's: HMAC, EdDSA, and a key of the wrong family (jsonwebtoken refuses those).
        let hmac = DecodingKey::from_secret(b"secret");
        assert_eq!(verify(Algorithm::HS256, &hmac, b"m", "c2ln"), None);
        assert_eq!(verify(Algorithm::RS256, &hmac, b"m", "c2ln"), None);
        assert_eq!(verify(Algorithm::ES256, &rsa_pem, b"m", "c2ln"), None);
        let ed = DecodingKey::from_ed_pem(&read("ed_public.pem")).unwrap();
        assert_eq!(verify(Algorithm::EdDSA, &ed, b"m", "c2ln"), None);
    }

    /// ES384 (no P-384 key among the test keys: one made by `ring`), checked by `ring` and by
    /// `jsonwebtoken` alike.
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
    }

    /// A key `ring` is not given (a compressed P-256 point) is still checked, by
    /// `jsonwebtoken`, through the token path.
    #[test]
    fn keys_ring_is_not_given_fall_back_to_jsonwebtoken() {
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
        // ring's limits: too short, even or tiny exponents go to jsonwebtoken.
        assert!(rsa_components(&key(vec![0xff; 128], vec![1, 0, 1])).is_none());
        assert!(rsa_components(&key(n2048.clone(), vec![1, 0, 0])).is_none());
        assert!(rsa_components(&key(n2048.clone(), vec![1])).is_none());
        assert!(rsa_components(&key(n2048, vec![3])).is_some());
        // Above 4096 bits the rsa crate refuses the key (ring would take it): jsonwebtoken says.
        let n4096 = [vec![0x80], vec![0x11; 511]].concat();
        assert!(rsa_components(&key(n4096, vec![1, 0, 1])).is_some());
        let n4104 = [vec![0x80], vec![0x11; 512]].concat();
        assert!(rsa_components(&key(n4104, vec![1, 0, 1])).is_none());
    }
}
