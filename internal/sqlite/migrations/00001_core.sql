-- +goose Up
-- Times are Unix microseconds (UTC). Booleans are 0/1.
CREATE TABLE accounts (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    project_id TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE tokens (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('viewer', 'member', 'admin', 'owner')),
    secret_hash BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX tokens_account ON tokens (account_id);

CREATE TABLE instances (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    engine     TEXT NOT NULL,
    version    TEXT NOT NULL,
    region     TEXT NOT NULL,
    size       TEXT NOT NULL,
    num_nodes  INTEGER NOT NULL,
    tls        INTEGER NOT NULL,
    status     TEXT NOT NULL,
    tags       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE cas (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    account_id  TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('next', 'current', 'previous', 'retired')),
    key_type    TEXT NOT NULL,
    cert_pem    TEXT NOT NULL,
    sealed_key  BLOB NOT NULL,
    serial      TEXT NOT NULL,
    fingerprint TEXT NOT NULL UNIQUE,
    not_before  INTEGER NOT NULL,
    not_after   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX cas_instance ON cas (account_id, instance_id);
-- At most one current, one next and one previous CA per instance.
CREATE UNIQUE INDEX cas_one_current ON cas (instance_id) WHERE state = 'current';
CREATE UNIQUE INDEX cas_one_next ON cas (instance_id) WHERE state = 'next';
CREATE UNIQUE INDEX cas_one_previous ON cas (instance_id) WHERE state = 'previous';

CREATE TABLE audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    time       INTEGER NOT NULL,
    account_id TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    resource   TEXT NOT NULL,
    outcome    TEXT NOT NULL
);
CREATE INDEX audit_account ON audit (account_id, id);

-- +goose Down
DROP TABLE audit;
DROP TABLE cas;
DROP TABLE instances;
DROP TABLE tokens;
DROP TABLE accounts;
