-- Written by the `user_role_changed` event handler. Keyed by Hasura's event id: a redelivered
-- event (Hasura delivers at least once) is recorded once.
CREATE TABLE public.user_role_change (
    event_id uuid PRIMARY KEY,
    user_id text NOT NULL,
    old_role text NOT NULL,
    new_role text NOT NULL,
    changed_by_role text,
    changed_at timestamptz NOT NULL
);
