//! Issuing Hasura-shaped JWTs (`ctx.tokens()`), refresh tokens rotated on every use with reuse
//! detection, and logout (a revoked refresh family and a deny-listed access token).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::{Deserialize, Serialize};
use serde_json::{Map, json};
use sha2::Digest as _;

use super::AuthState;
use crate::security::jwt::{DEFAULT_CLAIMS_NAMESPACE, VerifiedClaims};

/// `iat` is set this far in the past: Hasura refuses a future `iat` beyond its skew (default 0),
/// and replicas' clocks differ slightly.
const IAT_BACKDATE_SECS: u64 = 5;

/// Who a token is for: subject, roles and extra `x-hasura-*` claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// `sub`, and `x-hasura-user-id`.
    pub subject: String,
    /// `x-hasura-allowed-roles`.
    pub allowed_roles: Vec<String>,
    /// `x-hasura-default-role`.
    pub default_role: String,
    /// Further `x-hasura-*` claims (string values, as Hasura requires).
    pub claims: Vec<(String, String)>,
}

impl Grant {
    /// A grant of `default_role` (the only allowed role until [`Grant::allow`]) to `subject`.
    pub fn new(subject: impl Into<String>, default_role: impl Into<String>) -> Self {
        let default_role = default_role.into();
        Self {
            subject: subject.into(),
            allowed_roles: vec![default_role.clone()],
            default_role,
            claims: Vec::new(),
        }
    }

    /// Allows another role.
    pub fn allow(mut self, role: impl Into<String>) -> Self {
        let role = role.into();
        if !self.allowed_roles.contains(&role) {
            self.allowed_roles.push(role);
        }
        self
    }

    /// Adds an `x-hasura-*` claim (the prefix is added when missing).
    pub fn claim(mut self, name: &str, value: impl Into<String>) -> Self {
        let lower = name.to_ascii_lowercase();
        let name = if lower.starts_with("x-hasura-") {
            lower
        } else {
            format!("x-hasura-{lower}")
        };
        self.claims.push((name, value.into()));
        self
    }
}

/// An access token and a refresh token, as the example's `TokenOutput` answers them.
#[derive(Clone, PartialEq, Eq, Serialize, crate::CustomType)]
pub struct TokenPair {
    /// The signed JWT.
    pub access_token: String,
    /// The opaque refresh token.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"[redacted]")
            .field("refresh_token", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Why a token operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The refresh token is unknown, expired, revoked or was used before (then its whole family
    /// is revoked).
    #[error("the refresh token is invalid")]
    InvalidRefreshToken,
    /// The external provider's token was refused, or its subject has no role mapping (401
    /// `invalid-jwt`). The reason is logged at debug level, never the token.
    #[error("the identity token is invalid: {0}")]
    InvalidToken(String),
    /// No signing keys (`RASURA_TOKEN_KEYS`) or no database.
    #[error("{0} is not configured")]
    NotConfigured(&'static str),
    /// The database failed.
    #[error("token store: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<TokenError> for crate::ActionError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::InvalidRefreshToken => crate::ActionError::new(
                http::StatusCode::UNAUTHORIZED,
                "invalid-refresh-token",
                "the refresh token is invalid",
            ),
            TokenError::InvalidToken(why) => {
                tracing::debug!(reason = %why, "token exchange refused");
                crate::ActionError::new(
                    http::StatusCode::UNAUTHORIZED,
                    "invalid-jwt",
                    "the identity token is invalid",
                )
            }
            TokenError::NotConfigured(what) => crate::ActionError::bad_request(
                "not-configured",
                format!("{what} is not configured"),
            ),
            TokenError::Database(e) => {
                tracing::error!(error = %e, "token store failed");
                crate::ActionError::bad_request("unexpected", "the token store failed")
            }
        }
    }
}

/// `ctx.tokens()`: issues, refreshes and revokes the service's tokens.
pub struct Tokens<'a> {
    pub(crate) auth: &'a AuthState,
    pub(crate) db: Option<&'a sqlx::PgPool>,
    /// The handler's context, for the audit trail.
    pub(crate) ctx: &'a crate::Ctx,
}

impl std::fmt::Debug for Tokens<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").finish_non_exhaustive()
    }
}

use crate::audit::{AuditEvent, AuditKind};

fn digest(token: &str) -> Vec<u8> {
    sha2::Sha256::digest(token.as_bytes()).to_vec()
}

fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::Rng::fill(&mut rand::rng(), &mut bytes[..]);
    B64.encode(bytes)
}

impl Tokens<'_> {
    fn audit(&self, kind: AuditKind, subject: Option<&str>) {
        let mut event = AuditEvent::new(kind);
        if let Some(subject) = subject {
            event = event.user_id(subject);
        }
        self.ctx.audit(event);
    }

    fn db(&self) -> Result<&sqlx::PgPool, TokenError> {
        self.db.ok_or(TokenError::NotConfigured("DATABASE_URL"))
    }

    /// Signs an access token for `grant`: `sub`, `iat` (a few seconds back), `exp`, `jti`,
    /// `aud`/`iss` when configured, and Hasura's claims namespace. Returns the token and its
    /// lifetime in seconds.
    pub fn access_token(&self, grant: &Grant) -> Result<(String, u64), TokenError> {
        let keys = self
            .auth
            .config
            .signing_keys
            .as_ref()
            .ok_or(TokenError::NotConfigured("RASURA_TOKEN_KEYS"))?;
        let config = &self.auth.config;
        let now = crate::unix_now();
        let lifetime = config.token_lifetime.as_secs();
        let mut hasura = Map::new();
        hasura.insert("x-hasura-allowed-roles".into(), json!(grant.allowed_roles));
        hasura.insert("x-hasura-default-role".into(), json!(grant.default_role));
        hasura.insert("x-hasura-user-id".into(), json!(grant.subject));
        for (name, value) in &grant.claims {
            hasura.entry(name.clone()).or_insert_with(|| json!(value));
        }
        let mut claims = json!({
            "sub": grant.subject,
            "iat": now.saturating_sub(IAT_BACKDATE_SECS),
            "exp": now + lifetime,
            "jti": uuid::Uuid::new_v4().to_string(),
            DEFAULT_CLAIMS_NAMESPACE: hasura,
        });
        if let Some(aud) = &config.audience {
            claims["aud"] = json!(aud);
        }
        if let Some(iss) = &config.issuer {
            claims["iss"] = json!(iss);
        }
        Ok((keys.signing_key().sign(&claims), lifetime))
    }

    /// Issues an access token and a refresh token of a new family.
    pub async fn issue(&self, grant: &Grant) -> Result<TokenPair, TokenError> {
        let (access_token, expires_in) = self.access_token(grant)?;
        let refresh_token = new_refresh_token();
        self.store_refresh(self.db()?, &refresh_token, uuid::Uuid::new_v4(), grant)
            .await?;
        self.audit(AuditKind::TokenIssued, Some(&grant.subject));
        Ok(TokenPair {
            access_token,
            refresh_token,
            token_type: "Bearer",
            expires_in,
        })
    }

    async fn store_refresh<'e>(
        &self,
        db: impl sqlx::PgExecutor<'e>,
        token: &str,
        family: uuid::Uuid,
        grant: &Grant,
    ) -> Result<(), TokenError> {
        let lifetime = self.auth.config.refresh_token_lifetime.as_secs() as f64;
        sqlx::query(
            "INSERT INTO rasura_auth.refresh_token (token_hash, family, subject, claims, expires_at) \
             VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))",
        )
        .bind(digest(token))
        .bind(family)
        .bind(&grant.subject)
        .bind(sqlx::types::Json(grant))
        .bind(lifetime)
        .execute(db)
        .await?;
        Ok(())
    }

    /// Exchanges a refresh token for a new pair (same family; the old token is spent). A token
    /// presented a second time revokes its whole family: whoever holds either copy must log in
    /// again.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, TokenError> {
        let db = self.db()?;
        let mut tx = crate::db::begin_plain(db).await?;
        type Row = (uuid::Uuid, sqlx::types::Json<Grant>, bool, bool, bool);
        // The audit names the family's subject (never the token).
        let row: Option<Row> = sqlx::query_as(
            "SELECT family, claims, used_at IS NOT NULL, revoked_at IS NOT NULL, expires_at < now() \
             FROM rasura_auth.refresh_token WHERE token_hash = $1 FOR UPDATE",
        )
        .bind(digest(refresh_token))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((family, grant, used, revoked, expired)) = row else {
            return Err(TokenError::InvalidRefreshToken);
        };
        if used && !revoked {
            revoke_family(&mut tx, family).await?;
            tx.commit().await?;
            tracing::warn!(%family, "refresh token reused: family revoked");
            self.audit(AuditKind::RefreshReuseDetected, Some(&grant.0.subject));
            return Err(TokenError::InvalidRefreshToken);
        }
        if used || revoked || expired {
            return Err(TokenError::InvalidRefreshToken);
        }
        sqlx::query("UPDATE rasura_auth.refresh_token SET used_at = now() WHERE token_hash = $1")
            .bind(digest(refresh_token))
            .execute(&mut *tx)
            .await?;
        let next = new_refresh_token();
        self.store_refresh(&mut *tx, &next, family, &grant.0)
            .await?;
        let (access_token, expires_in) = self.access_token(&grant.0)?;
        tx.commit().await?;
        self.audit(AuditKind::TokenRefreshed, Some(&grant.0.subject));
        Ok(TokenPair {
            access_token,
            refresh_token: next,
            token_type: "Bearer",
            expires_in,
        })
    }

    /// Logs out: revokes the refresh token's family and, when given, puts the caller's access
    /// token (`jti`) on the deny list until it expires. Rasura's own verification honours the
    /// deny list; Hasura in JWT mode cannot, so the access token stays valid there until `exp`.
    pub async fn logout(
        &self,
        refresh_token: &str,
        access: Option<&VerifiedClaims>,
    ) -> Result<(), TokenError> {
        let db = self.db()?;
        let mut tx = crate::db::begin_plain(db).await?;
        let family: Option<(uuid::Uuid, String)> = sqlx::query_as(
            "SELECT family, subject FROM rasura_auth.refresh_token WHERE token_hash = $1",
        )
        .bind(digest(refresh_token))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((family, subject)) = family else {
            return Err(TokenError::InvalidRefreshToken);
        };
        revoke_family(&mut tx, family).await?;
        if let Some(claims) = access {
            if let Some(jti) = &claims.token_id {
                let exp = claims.expires_at.unwrap_or_else(|| {
                    crate::unix_now() + self.auth.config.token_lifetime.as_secs()
                });
                sqlx::query(
                    "INSERT INTO rasura_auth.revoked_token (jti, expires_at) \
                     VALUES ($1, to_timestamp($2)) ON CONFLICT (jti) DO NOTHING",
                )
                .bind(jti)
                .bind(exp as f64)
                .execute(&mut *tx)
                .await?;
                self.auth.mark_revoked(jti);
            }
        }
        // Expired deny-list entries are no longer needed: a token past `exp` fails anyway.
        sqlx::query("DELETE FROM rasura_auth.revoked_token WHERE expires_at < now()")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.audit(AuditKind::Logout, Some(&subject));
        Ok(())
    }

    /// Exchanges an external provider's token (`RASURA_EXCHANGE_PROVIDER`, e.g. Firebase or
    /// Azure AD) for the service's own pair. The provider's subject (`sub`) becomes the user id;
    /// the allowed roles are its `rasura_auth.role_mapping` rows, the default role its
    /// `is_default` row (or its only row), and that row's session variables become
    /// `x-hasura-*` claims. A refused token and a subject without rows are
    /// [`TokenError::InvalidToken`].
    pub async fn exchange(&self, id_token: &str) -> Result<TokenPair, TokenError> {
        let provider = self
            .auth
            .config
            .exchange_provider
            .as_ref()
            .ok_or(TokenError::NotConfigured("RASURA_EXCHANGE_PROVIDER"))?;
        let connections = self
            .ctx
            .shared
            .connections()
            .map_err(|_| TokenError::NotConfigured("DATABASE_URL"))?;
        let verified = provider
            .verify_token(id_token)
            .await
            .map_err(|e| TokenError::InvalidToken(e.message().to_owned()))?;
        let subject = match verified.payload.get("sub") {
            Some(serde_json::Value::String(s)) if !s.is_empty() => s.clone(),
            _ => return Err(TokenError::InvalidToken("no `sub` claim".into())),
        };
        let rows = super::webhook::fetch_role_rows(connections, &subject).await?;
        let default = rows
            .iter()
            .find(|r| r.is_default)
            .or_else(|| (rows.len() == 1).then(|| &rows[0]))
            .ok_or_else(|| {
                TokenError::InvalidToken("the subject has no (default) role mapping".into())
            })?;
        let mut grant = Grant::new(subject, default.role.clone());
        for row in &rows {
            grant = grant.allow(row.role.clone());
        }
        for (name, value) in &default.variables {
            let lower = name.to_ascii_lowercase();
            if lower.starts_with("x-hasura-") && lower != "x-hasura-user-id" {
                grant = grant.claim(&lower, value.clone());
            }
        }
        self.issue(&grant).await
    }

    /// Whether the access token `jti` was revoked (cached for `RASURA_AUTH_CACHE_SECONDS`).
    pub async fn is_revoked(&self, jti: &str) -> Result<bool, TokenError> {
        Ok(self
            .auth
            .is_revoked(self.ctx.shared.connections().ok(), jti)
            .await?)
    }
}

async fn revoke_family(
    conn: &mut sqlx::PgConnection,
    family: uuid::Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE rasura_auth.refresh_token SET revoked_at = now() \
         WHERE family = $1 AND revoked_at IS NULL",
    )
    .bind(family)
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_builds_hasura_claims() {
        let g = Grant::new("u1", "user")
            .allow("editor")
            .allow("user")
            .claim("Org-Id", "7");
        assert_eq!(g.allowed_roles, ["user", "editor"]);
        assert_eq!(g.claims, [("x-hasura-org-id".to_owned(), "7".to_owned())]);
    }

    #[test]
    fn pair_debug_hides_tokens() {
        let pair = TokenPair {
            access_token: "secret-a".into(),
            refresh_token: "secret-r".into(),
            token_type: "Bearer",
            expires_in: 900,
        };
        let shown = format!("{pair:?}");
        assert!(!shown.contains("secret-a") && !shown.contains("secret-r"));
    }
}
