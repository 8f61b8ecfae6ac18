-- +goose Up
-- Adoption: per instance, each principal's latest fetch of the CA bundle
-- (the fingerprints of the CAs it received, as a JSON array), written in
-- batches from each replica's memory. Times are Unix microseconds (UTC).
CREATE TABLE adoptions (
    instance_id  TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    subject      TEXT NOT NULL,
    account_id   TEXT NOT NULL,
    name         TEXT NOT NULL,
    via          TEXT NOT NULL,
    fingerprints TEXT NOT NULL,
    fetched_at   INTEGER NOT NULL,
    fetches      INTEGER NOT NULL,
    PRIMARY KEY (instance_id, subject)
);
CREATE INDEX adoptions_account ON adoptions (account_id, instance_id);

-- Webhooks an admin registers per account; the secret is sealed under the
-- key-encryption key (it signs deliveries, so it must be opened).
CREATE TABLE webhooks (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    url           TEXT NOT NULL,
    sealed_secret BLOB NOT NULL,
    events        TEXT NOT NULL,
    expiry_days   TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX webhooks_account ON webhooks (account_id);

-- The outbox: each event written in the same transaction as its cause. A
-- non-null dedup_key makes an event happen once however many replicas see
-- its cause (an expiry threshold crossed, an adoption completed).
CREATE TABLE outbox (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    type       TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    dedup_key  TEXT UNIQUE
);
CREATE INDEX outbox_account ON outbox (account_id, created_at);

-- One delivery per event and webhook, written with the event. A replica
-- claims due deliveries by setting lease_until; the delivery log is this
-- table with its attempts.
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    webhook_id      TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id        TEXT NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    account_id      TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER NOT NULL,
    last_status     INTEGER NOT NULL,
    last_error      TEXT NOT NULL,
    delivered_at    INTEGER,
    created_at      INTEGER NOT NULL,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, created_at);

CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    status      INTEGER NOT NULL,
    error       TEXT NOT NULL,
    duration_us INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);

-- (On PostgreSQL none of these tables sends change notices: none is cached,
-- and a flush of adoptions must not drop the replicas' read caches.)

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE outbox;
DROP TABLE webhooks;
DROP TABLE adoptions;
