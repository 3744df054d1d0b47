-- Rasura's delivery bookkeeping:
-- * processed_delivery: the deliveries whose effects committed (`ctx.once`, `once`), so a
--   redelivery by Hasura is acknowledged without running the work again;
-- * delivery_attempt: failed attempts of cron and scheduled deliveries, which carry no retry
--   counter of their own;
-- * dead_letter: deliveries whose last attempt failed (`dead_letter`), kept to be replayed.
CREATE SCHEMA IF NOT EXISTS rasura;

CREATE TABLE IF NOT EXISTS rasura.processed_delivery (
    handler text NOT NULL,
    id text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (handler, id)
);
CREATE INDEX IF NOT EXISTS processed_delivery_processed_at
    ON rasura.processed_delivery (processed_at);

CREATE TABLE IF NOT EXISTS rasura.delivery_attempt (
    handler text NOT NULL,
    id text NOT NULL,
    attempts integer NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (handler, id)
);
CREATE INDEX IF NOT EXISTS delivery_attempt_updated_at
    ON rasura.delivery_attempt (updated_at);

CREATE TABLE IF NOT EXISTS rasura.dead_letter (
    id text PRIMARY KEY,
    handler text NOT NULL,
    payload jsonb NOT NULL,
    error text NOT NULL,
    attempts integer NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS dead_letter_handler ON rasura.dead_letter (handler, failed_at);
