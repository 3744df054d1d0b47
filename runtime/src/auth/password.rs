//! Password hashing with Argon2id (the `argon2` crate) at OWASP's parameters (19 MiB, 2
//! passes, 1 lane), run on a blocking thread so a login never stalls the runtime.
//!
//! ```no_run
//! # async fn f() {
//! use rasura::auth::password;
//! let hash = password::hash("correct horse battery staple").await.unwrap();
//! assert!(password::verify("correct horse battery staple", &hash).await.is_ok());
//! # }
//! ```

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// OWASP's Argon2id recommendation: m = 19 MiB, t = 2, p = 1.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

/// Why a password operation failed. Never holds the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// The password does not match the hash.
    #[error("the password does not match")]
    Mismatch,
    /// The stored hash is not a PHC string this module can read.
    #[error("the stored password hash is malformed")]
    MalformedHash,
    /// Hashing failed (or its thread was lost).
    #[error("password hashing failed")]
    Hashing,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None)
        .unwrap_or_else(|_| unreachable!("OWASP's parameters are valid"));
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes `password` into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub async fn hash(password: &str) -> Result<String, PasswordError> {
    let password = zeroizing(password);
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        rand::Rng::fill(&mut rand::rng(), &mut salt[..]);
        let salt = SaltString::encode_b64(&salt).map_err(|_| PasswordError::Hashing)?;
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|_| PasswordError::Hashing)
    })
    .await
    .map_err(|_| PasswordError::Hashing)?
}

/// Verifies `password` against a PHC `hash`, in constant time (the `argon2` crate compares the
/// outputs with `subtle`).
pub async fn verify(password: &str, hash: &str) -> Result<(), PasswordError> {
    let password = zeroizing(password);
    let hash = hash.to_owned();
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash).map_err(|_| PasswordError::MalformedHash)?;
        argon2()
            .verify_password(password.as_bytes(), &parsed)
            .map_err(|e| match e {
                argon2::password_hash::Error::Password => PasswordError::Mismatch,
                _ => PasswordError::MalformedHash,
            })
    })
    .await
    .map_err(|_| PasswordError::Hashing)?
}

/// Burns the same time as a verification, for an unknown user: a wrong password and an unknown
/// user then cost the same, so response times do not tell which usernames exist.
pub async fn verify_nothing(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = match DUMMY.get() {
        Some(h) => h.clone(),
        None => match hash("rasura timing equaliser").await {
            Ok(h) => DUMMY.get_or_init(|| h).clone(),
            Err(_) => return,
        },
    };
    let _ = verify(password, &dummy).await;
}

/// Whether `hash` was made with weaker (or other) parameters than today's and should be
/// replaced by [`hash`] after the next successful verification.
pub fn needs_rehash(hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return true;
    };
    if parsed.algorithm != Algorithm::Argon2id.ident() {
        return true;
    }
    match Params::try_from(&parsed) {
        Ok(p) => p.m_cost() < MEMORY_KIB || p.t_cost() < PASSES || p.p_cost() < LANES,
        Err(_) => true,
    }
}

/// An owned copy of the password for the blocking thread, wiped when dropped.
fn zeroizing(password: &str) -> Zeroizing {
    Zeroizing(password.as_bytes().to_vec())
}

struct Zeroizing(Vec<u8>);

impl Zeroizing {
    fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Zeroizing {
    fn drop(&mut self) {
        // Volatile-free but not optimised away in practice: the buffer is freed right after.
        self.0.iter_mut().for_each(|b| *b = 0);
        std::hint::black_box(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_refuse_wrong_passwords() {
        let h = hash("a long enough password").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(verify("a long enough password", &h).await, Ok(()));
        assert_eq!(
            verify("a long enough passworD", &h).await,
            Err(PasswordError::Mismatch)
        );
        assert_eq!(
            verify("x", "not a hash").await,
            Err(PasswordError::MalformedHash)
        );
        assert!(!needs_rehash(&h));
        let weak = "$argon2id$v=19$m=4096,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$W5yZk7CmS0o9GqJ0nO4c5TUOZCCGlaRGyuSH0wmfV2Y";
        assert!(needs_rehash(weak));
        assert!(needs_rehash("garbage"));
        verify_nothing("anything").await;
    }
}
