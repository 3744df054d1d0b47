-- Rasura's delivery bookkeeping: the deliveries whose effects committed (`ctx.once`), so a
-- redelivery by Hasura is acknowledged without running the work again.
CREATE SCHEMA IF NOT EXISTS rasura;

CREATE TABLE IF NOT EXISTS rasura.processed_delivery (
    handler text NOT NULL,
    id text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (handler, id)
);
CREATE INDEX IF NOT EXISTS processed_delivery_processed_at
    ON rasura.processed_delivery (processed_at);
