//! The webhook secret Hasura sends in a configured header (docs/protocol.md §1.1: Hasura does not sign
//! requests, so a shared secret is the only proof a call comes from Hasura).

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

/// The header that carries the webhook secret: `X-Rasura-Webhook-Secret`.
pub const WEBHOOK_SECRET_HEADER: &str = "x-rasura-webhook-secret";

/// The accepted webhook secrets (several, so a secret can be rotated without downtime).
///
/// Only SHA-256 digests are kept: comparing digests makes the comparison independent of the
/// secrets' lengths, and every accepted secret is compared without an early return.
#[derive(Clone)]
pub struct WebhookSecrets {
    digests: Vec<[u8; 32]>,
}

impl WebhookSecrets {
    /// Accepts each of `secrets`. Empty strings are ignored.
    pub fn new<I, S>(secrets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let digests = secrets
            .into_iter()
            .filter(|s| !s.as_ref().is_empty())
            .map(|s| Sha256::digest(s.as_ref().as_bytes()).into())
            .collect();
        Self { digests }
    }

    /// Parses `RASURA_WEBHOOK_SECRET`: one or more comma-separated secrets (surrounding spaces
    /// are trimmed).
    pub fn from_list(list: &str) -> Self {
        Self::new(list.split(',').map(str::trim))
    }

    /// Number of accepted secrets.
    pub fn len(&self) -> usize {
        self.digests.len()
    }

    /// Whether no secret is accepted (such a service refuses to start).
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// A 32-byte key for `purpose`, derived from the first accepted secret (HMAC-SHA256), for
    /// features that need a key of their own when none is configured.
    pub(crate) fn derive_key(&self, purpose: &str) -> Option<[u8; 32]> {
        use hmac::Mac;
        let first = self.digests.first()?;
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(first).ok()?;
        mac.update(purpose.as_bytes());
        Some(mac.finalize().into_bytes().into())
    }

    /// Whether `presented` (the header's value, if any) is one of the accepted secrets, in
    /// constant time with respect to the secrets.
    pub fn verify(&self, presented: Option<&[u8]>) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.unwrap_or_default()).into();
        let mut matched = Choice::from(0);
        for accepted in &self.digests {
            matched |= accepted.ct_eq(&digest);
        }
        presented.is_some() && bool::from(matched)
    }
}

impl fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookSecrets([redacted; {}])", self.digests.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_listed_secret_and_nothing_else() {
        let s = WebhookSecrets::from_list("old-secret, new-secret");
        assert_eq!(s.len(), 2);
        assert!(s.verify(Some(b"old-secret")));
        assert!(s.verify(Some(b"new-secret")));
        assert!(!s.verify(Some(b"new-secre")));
        assert!(!s.verify(Some(b"")));
        assert!(!s.verify(None));
        assert!(!format!("{s:?}").contains("secret,"));
        assert!(WebhookSecrets::from_list(" , ").is_empty());
    }
}
