-- Answering: outgoing webhooks, one row per event to deliver (kept as the delivery log).

CREATE TABLE webhook_deliveries (
    id                   uuid PRIMARY KEY,
    user_id              uuid NOT NULL,
    event                text NOT NULL,
    url                  text NOT NULL,
    payload              jsonb NOT NULL,
    status               text NOT NULL DEFAULT 'pending',
    attempts             integer NOT NULL DEFAULT 0,
    last_status_code     integer,
    last_error           text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    delivered_at         timestamptz,
    CONSTRAINT webhook_deliveries_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT webhook_deliveries_status_valid CHECK (status IN ('pending', 'delivered', 'failed')),
    CONSTRAINT webhook_deliveries_event_format CHECK (event ~ '^[a-z_]+(\.[a-z_]+)*$'),
    CONSTRAINT webhook_deliveries_attempts_nonnegative CHECK (attempts >= 0)
);
CREATE INDEX webhook_deliveries_user_idx ON webhook_deliveries (user_id, created_at DESC);
