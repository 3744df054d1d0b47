//! Identity: `signup`, `login`, `refresh` (role `anonymous`) and `logout` (role `user`) with the
//! service's own tokens. Credentials live in `public.account` (a Hasura CLI migration, not
//! tracked by Hasura); the signing keys are `RASURA_TOKEN_KEYS`, published at
//! `/.well-known/jwks.json` for Hasura's `HASURA_GRAPHQL_JWT_SECRET={"jwk_url": …}`.

use rasura::auth::{Grant, TokenPair, password};
use rasura::db::sqlx;
use rasura::http::StatusCode;
use rasura::{ActionError, Ctx, action};

use crate::hasura::actions::{LoginArgs, LogoutArgs, RefreshArgs, SignupArgs};
use crate::hasura::types::{LogoutOutput, TokenOutput};

/// Passwords are 12 to 1024 characters (the upper bound caps the hashing work per request).
const PASSWORD_LENGTH: std::ops::RangeInclusive<usize> = 12..=1024;

fn tokens(pair: TokenPair) -> TokenOutput {
    TokenOutput {
        access_token: pair.access_token,
        refresh_token: pair.refresh_token,
        expires_in: i32::try_from(pair.expires_in).unwrap_or(i32::MAX),
    }
}

fn invalid_credentials() -> ActionError {
    ActionError::new(
        StatusCode::UNAUTHORIZED,
        "invalid-credentials",
        "invalid username or password",
    )
}

/// Creates an account and answers its first tokens.
#[action(mutation, roles = ["anonymous"], rate = "20/min")]
pub async fn signup(ctx: Ctx, input: SignupArgs) -> Result<TokenOutput, ActionError> {
    let username = input.username.trim();
    if !(3..=64).contains(&username.chars().count()) || username.chars().any(char::is_control) {
        return Err(ActionError::bad_request(
            "invalid-username",
            "the username must have 3 to 64 characters, none of them control characters",
        ));
    }
    if !PASSWORD_LENGTH.contains(&input.password.chars().count()) {
        return Err(ActionError::bad_request(
            "invalid-password",
            "the password must have 12 to 1024 characters",
        ));
    }
    let hash = password::hash(&input.password)
        .await
        .map_err(|_| ActionError::bad_request("unexpected", "password hashing failed"))?;
    let user_id: String = sqlx::query_scalar(
        "INSERT INTO public.account (username, password_hash) VALUES ($1, $2) \
         ON CONFLICT (username) DO NOTHING RETURNING user_id::text",
    )
    .bind(username)
    .bind(&hash)
    .fetch_optional(ctx.db()?)
    .await?
    .ok_or_else(|| {
        ActionError::new(
            StatusCode::CONFLICT,
            "username-taken",
            "this username is taken",
        )
    })?;
    let pair = ctx.tokens()?.issue(&Grant::new(user_id, "user")).await?;
    Ok(tokens(pair))
}

/// Checks a username and password and answers tokens. An unknown user and a wrong password get
/// the same answer in the same time.
#[action(mutation, roles = ["anonymous"], rate = "5/min, burst 5", rate_key = "username")]
pub async fn login(ctx: Ctx, input: LoginArgs) -> Result<TokenOutput, ActionError> {
    if input.password.chars().count() > *PASSWORD_LENGTH.end() {
        return Err(invalid_credentials());
    }
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT user_id::text, password_hash FROM public.account WHERE username = $1",
    )
    .bind(input.username.trim())
    .fetch_optional(ctx.db()?)
    .await?;
    let Some((user_id, hash)) = row else {
        password::verify_nothing(&input.password).await;
        return Err(invalid_credentials());
    };
    if password::verify(&input.password, &hash).await.is_err() {
        return Err(invalid_credentials());
    }
    let pair = ctx.tokens()?.issue(&Grant::new(user_id, "user")).await?;
    Ok(tokens(pair))
}

/// Exchanges a refresh token for a new pair (a reused one revokes its whole family).
#[action(mutation, roles = ["anonymous"])]
pub async fn refresh(ctx: Ctx, input: RefreshArgs) -> Result<TokenOutput, ActionError> {
    Ok(tokens(ctx.tokens()?.refresh(&input.refresh_token).await?))
}

/// Revokes the refresh token's family and the caller's access token.
#[action(mutation, roles = ["user"], jwt)]
pub async fn logout(ctx: Ctx, input: LogoutArgs) -> Result<LogoutOutput, ActionError> {
    ctx.tokens()?
        .logout(&input.refresh_token, ctx.jwt_claims())
        .await?;
    Ok(LogoutOutput { ok: true })
}

#[cfg(test)]
mod tests {
    use rasura::db::sqlx;
    use rasura::testing::{TestDatabase, TestService};
    use rasura::{Service, handler};
    use serde_json::{Value, json};

    /// Needs PostgreSQL: DATABASE_URL (a server where databases can be created).
    #[tokio::test]
    async fn signup_login_refresh_logout() {
        let db = TestDatabase::with_migrations(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/hasura/migrations/default"
        ))
        .await;
        let config = TestService::config()
            .with_identity(TestService::identity())
            .with_database_url(db.url());
        let hasura = TestService::start(
            Service::with_handlers([
                handler!(super::signup),
                handler!(super::login),
                handler!(super::refresh),
                handler!(super::logout),
            ])
            .with_config(config),
        )
        .await;
        let credentials = json!({"username": "ada", "password": "correct horse battery"});
        let signed_up = hasura
            .action("signup")
            .role("anonymous")
            .input(credentials.clone())
            .send()
            .await;
        signed_up.assert_status(200);
        hasura
            .action("signup")
            .role("anonymous")
            .input(credentials.clone())
            .send()
            .await
            .assert_error(409, "username-taken");
        hasura
            .action("login")
            .role("anonymous")
            .input(json!({"username": "ada", "password": "wrong password!"}))
            .send()
            .await
            .assert_error(401, "invalid-credentials");
        let login = hasura
            .action("login")
            .role("anonymous")
            .input(credentials)
            .send()
            .await;
        login.assert_status(200);
        let pair: Value = login.json();
        let refreshed = hasura
            .action("refresh")
            .role("anonymous")
            .input(json!({"refresh_token": pair["refresh_token"]}))
            .send()
            .await;
        refreshed.assert_status(200);
        let pair: Value = refreshed.json();
        let access = pair["access_token"].as_str().unwrap();
        // Hasura's session for that token: the user id is its subject, the account's id.
        let user_id: String =
            sqlx::query_scalar("SELECT user_id::text FROM public.account WHERE username = 'ada'")
                .fetch_one(db.pool())
                .await
                .unwrap();
        hasura
            .action("logout")
            .role("user")
            .user_id(&user_id)
            .bearer(access)
            .input(json!({"refresh_token": pair["refresh_token"]}))
            .send()
            .await
            .assert_status(200);
        // Logged out: the refresh token is spent.
        hasura
            .action("refresh")
            .role("anonymous")
            .input(json!({"refresh_token": pair["refresh_token"]}))
            .send()
            .await
            .assert_status(401);
    }
}
