-- Credentials for the example's signup and login. Not tracked by Hasura: password hashes are
-- never exposed through GraphQL; only the service reads this table.
CREATE TABLE public.account (
    user_id text PRIMARY KEY REFERENCES public."user" (user_id)
        ON UPDATE CASCADE ON DELETE CASCADE,
    username text UNIQUE NOT NULL,
    password_hash text NOT NULL,
    created_at timestamptz DEFAULT now()
);
