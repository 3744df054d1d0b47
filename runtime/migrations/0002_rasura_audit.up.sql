-- Rasura's audit trail (RASURA_AUDIT_DATABASE=true): who was let in and who was not. Never a
-- token, password, secret or input value.
CREATE SCHEMA IF NOT EXISTS rasura_audit;

CREATE TABLE IF NOT EXISTS rasura_audit.event (
    id bigserial PRIMARY KEY,
    occurred_at timestamptz NOT NULL,
    event text NOT NULL,
    handler text,
    role text,
    user_id text,
    permission text,
    reason text,
    request_id text
);
CREATE INDEX IF NOT EXISTS event_occurred_at ON rasura_audit.event (occurred_at);
CREATE INDEX IF NOT EXISTS event_user_id ON rasura_audit.event (user_id, occurred_at);
