-- Credentials for signup and login (not tracked by Hasura: no GraphQL access to hashes).
CREATE TABLE public.account (
    user_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
