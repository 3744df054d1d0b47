-- Rasura's identity tables: role mapping for the auth webhook and token exchange, refresh-token
-- families, and the deny list of logged-out access tokens.
CREATE SCHEMA IF NOT EXISTS rasura_auth;

-- One row per (subject, role): the roles a verified subject may use. `is_default` marks the role
-- answered when the client requests none; `session_variables` holds extra Hasura session
-- variables (`{"x-hasura-region": "eu"}`) answered with that role.
CREATE TABLE IF NOT EXISTS rasura_auth.role_mapping (
    subject text NOT NULL,
    role text NOT NULL,
    is_default boolean NOT NULL DEFAULT false,
    session_variables jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (subject, role),
    CHECK (jsonb_typeof(session_variables) = 'object')
);
-- At most one default role per subject.
CREATE UNIQUE INDEX IF NOT EXISTS role_mapping_one_default
    ON rasura_auth.role_mapping (subject) WHERE is_default;

-- Refresh tokens, stored only as a SHA-256 hash. Every refresh rotates the token inside its
-- family; presenting a used token revokes the whole family (reuse detection).
CREATE TABLE IF NOT EXISTS rasura_auth.refresh_token (
    token_hash bytea PRIMARY KEY,
    family uuid NOT NULL,
    subject text NOT NULL,
    claims jsonb NOT NULL,
    issued_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX IF NOT EXISTS refresh_token_family ON rasura_auth.refresh_token (family);

-- Access tokens revoked by logout, by `jti`, kept until they expire.
CREATE TABLE IF NOT EXISTS rasura_auth.revoked_token (
    jti text PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS revoked_token_expires ON rasura_auth.revoked_token (expires_at);
