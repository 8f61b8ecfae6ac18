-- +goose Up
-- Every server certificate issued from an instance's CAs, and revocations.
-- Times are Unix microseconds (UTC).
CREATE TABLE issued_certs (
    serial            TEXT PRIMARY KEY,
    instance_id       TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    account_id        TEXT NOT NULL,
    ca_id             TEXT NOT NULL REFERENCES cas (id) ON DELETE CASCADE,
    common_name       TEXT NOT NULL,
    dns_names         TEXT NOT NULL,
    ips               TEXT NOT NULL,
    key_type          TEXT NOT NULL,
    fingerprint       TEXT NOT NULL UNIQUE,
    cert_pem          TEXT NOT NULL,
    not_before        INTEGER NOT NULL,
    not_after         INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    revoked_at        INTEGER,
    revocation_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX issued_certs_instance ON issued_certs (account_id, instance_id, created_at);
CREATE INDEX issued_certs_ca ON issued_certs (ca_id, revoked_at);

-- The automatic rotation policy of an instance (none: manual rotation only).
CREATE TABLE rotation_policies (
    instance_id     TEXT PRIMARY KEY REFERENCES instances (id) ON DELETE CASCADE,
    account_id      TEXT NOT NULL,
    enabled         INTEGER NOT NULL,
    start_before_us INTEGER NOT NULL,
    finish_after_us INTEGER NOT NULL,
    retire_after_us INTEGER NOT NULL,
    key_type        TEXT NOT NULL DEFAULT '',
    updated_at      INTEGER NOT NULL
);

-- +goose Down
DROP TABLE rotation_policies;
DROP TABLE issued_certs;
