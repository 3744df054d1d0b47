//! Identity: signup, login, refresh and logout with the service's own tokens, and the exchange
//! of an external provider's token (Firebase, Azure AD) for them.
//!
//! Credentials live in `public.account` (a Hasura CLI migration, not tracked by Hasura); signup
//! also creates the Pysura-model `user` row. Signed-up users get the allowed roles `["user"]`,
//! default role `user`, and `sub` = `x-hasura-user-id` = their `user_id`.

use rasura::audit::{AuditEvent, AuditKind};
use rasura::auth::{Grant, password};
use rasura::db::sqlx;
use rasura::{ActionError, Ctx, action};

use crate::hasura::actions::{ExchangeTokenArgs, LoginArgs, LogoutArgs, RefreshArgs, SignupArgs};
use crate::hasura::types::{LogoutOutput, TokenOutput};

/// Usernames are 3–64 characters.
pub const USERNAME_LENGTH: std::ops::RangeInclusive<usize> = 3..=64;
/// Passwords are at least 12 characters.
pub const MIN_PASSWORD_LENGTH: usize = 12;
/// The longest password accepted (Argon2 takes any length; this bounds the work per request).
pub const MAX_PASSWORD_LENGTH: usize = 1024;

fn token_output(pair: rasura::auth::TokenPair) -> TokenOutput {
    TokenOutput {
        access_token: pair.access_token,
        refresh_token: pair.refresh_token,
        token_type: pair.token_type.to_owned(),
        expires_in: i32::try_from(pair.expires_in).unwrap_or(i32::MAX),
    }
}

fn grant_for(user_id: String) -> Grant {
    Grant::new(user_id, "user")
}

fn invalid_credentials() -> ActionError {
    ActionError::new(
        rasura::http::StatusCode::UNAUTHORIZED,
        "invalid-credentials",
        "invalid username or password",
    )
}

fn check_password_length(password: &str) -> Result<(), ActionError> {
    let n = password.chars().count();
    if !(MIN_PASSWORD_LENGTH..=MAX_PASSWORD_LENGTH).contains(&n) {
        return Err(ActionError::bad_request(
            "invalid-password",
            format!(
                "the password must have {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
            ),
        ));
    }
    Ok(())
}

/// Creates an account (and its `user` row) and answers the first tokens.
#[action(mutation, roles = ["anonymous"], rate = "20/min")]
pub async fn signup(ctx: Ctx, input: SignupArgs) -> Result<TokenOutput, ActionError> {
    let username = input.username.trim();
    if !USERNAME_LENGTH.contains(&username.chars().count())
        || username.chars().any(char::is_control)
    {
        return Err(ActionError::bad_request(
            "invalid-username",
            "the username must have 3 to 64 characters, none of them control characters",
        ));
    }
    check_password_length(&input.password)?;
    let hash = password::hash(&input.password)
        .await
        .map_err(|_| ActionError::bad_request("unexpected", "password hashing failed"))?;
    let user_id = rasura::types::Uuid::new_v4().to_string();
    let mut tx = ctx.db()?.begin().await?;
    sqlx::query(r#"INSERT INTO public."user" (user_id, role, user_phone) VALUES ($1, 'user', '')"#)
        .bind(&user_id)
        .execute(&mut *tx)
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO public.account (user_id, username, password_hash) VALUES ($1, $2, $3) \
         ON CONFLICT (username) DO NOTHING",
    )
    .bind(&user_id)
    .bind(username)
    .bind(&hash)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(ActionError::new(
            rasura::http::StatusCode::CONFLICT,
            "username-taken",
            "this username is taken",
        ));
    }
    tx.commit().await?;
    let pair = ctx.tokens()?.issue(&grant_for(user_id)).await?;
    Ok(token_output(pair))
}

/// Checks a username and password and answers tokens. A wrong password and an unknown user
/// give the same error in the same time.
#[action(mutation, roles = ["anonymous"], rate = "5/min, burst 5", rate_key = "username")]
pub async fn login(ctx: Ctx, input: LoginArgs) -> Result<TokenOutput, ActionError> {
    if input.password.chars().count() > MAX_PASSWORD_LENGTH {
        return Err(invalid_credentials());
    }
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT user_id, password_hash FROM public.account WHERE username = $1")
            .bind(input.username.trim())
            .fetch_optional(ctx.db()?)
            .await?;
    let Some((user_id, hash)) = row else {
        password::verify_nothing(&input.password).await;
        ctx.audit(AuditEvent::new(AuditKind::LoginFailed).reason("unknown-user"));
        return Err(invalid_credentials());
    };
    if password::verify(&input.password, &hash).await.is_err() {
        ctx.audit(
            AuditEvent::new(AuditKind::LoginFailed)
                .user_id(&user_id)
                .reason("bad-password"),
        );
        return Err(invalid_credentials());
    }
    ctx.audit(AuditEvent::new(AuditKind::LoginSucceeded).user_id(&user_id));
    // Hashes made with weaker parameters are replaced while the password is at hand.
    let rehashed = if password::needs_rehash(&hash) {
        password::hash(&input.password).await.ok()
    } else {
        None
    };
    if let Some(new_hash) = rehashed {
        sqlx::query("UPDATE public.account SET password_hash = $2 WHERE user_id = $1")
            .bind(&user_id)
            .bind(new_hash)
            .execute(ctx.db()?)
            .await?;
    }
    let pair = ctx.tokens()?.issue(&grant_for(user_id)).await?;
    Ok(token_output(pair))
}

/// Exchanges a refresh token for a new pair (the old one is spent; a reused one revokes its
/// family).
#[action(mutation, roles = ["anonymous"])]
pub async fn refresh(ctx: Ctx, input: RefreshArgs) -> Result<TokenOutput, ActionError> {
    let pair = ctx.tokens()?.refresh(&input.refresh_token).await?;
    Ok(token_output(pair))
}

/// Logs out: revokes the refresh token's family and the caller's access token (Rasura refuses
/// it from now on; Hasura in JWT mode accepts it until it expires).
#[action(mutation, roles = ["user"], jwt)]
pub async fn logout(ctx: Ctx, input: LogoutArgs) -> Result<LogoutOutput, ActionError> {
    ctx.tokens()?
        .logout(&input.refresh_token, ctx.jwt_claims())
        .await?;
    Ok(LogoutOutput { ok: true })
}

/// Exchanges an external provider's token (`RASURA_EXCHANGE_PROVIDER`) for the service's own,
/// with roles from `rasura_auth.role_mapping`.
#[action(mutation, roles = ["anonymous"])]
pub async fn exchange_token(
    ctx: Ctx,
    input: ExchangeTokenArgs,
) -> Result<TokenOutput, ActionError> {
    let pair = ctx.tokens()?.exchange(&input.id_token).await?;
    Ok(token_output(pair))
}
