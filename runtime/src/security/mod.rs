//! Who may call a handler: the webhook secret shared with Hasura, the caller's role, and
//! (for `jwt` actions) the caller's own token.

pub mod issue;
mod jwks;
pub mod jwt;
pub mod mint;
mod secret;
mod signature;
mod token;

pub use secret::{WEBHOOK_SECRET_HEADER, WebhookSecrets};

/// Whether `role` may call a handler that allows `allowed`. `admin` always may; an empty list
/// means admin only (Hasura's default for actions).
pub fn role_allowed(role: &str, allowed: &[&str]) -> bool {
    role == "admin" || allowed.contains(&role)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_is_always_allowed_and_empty_means_admin_only() {
        assert!(role_allowed("admin", &[]));
        assert!(!role_allowed("user", &[]));
        assert!(role_allowed("user", &["user"]));
        assert!(!role_allowed("User", &["user"]));
    }
}
