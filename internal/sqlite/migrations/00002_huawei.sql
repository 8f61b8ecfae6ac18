-- +goose Up
-- Huawei-style AK/SK access keys (the SK sealed under the KEK) and server-side
-- signing keys (e.g. the key of presigned download links).
CREATE TABLE access_keys (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'member', 'admin', 'owner')),
    sealed_secret BLOB NOT NULL,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER
);
CREATE INDEX access_keys_account ON access_keys (account_id);

CREATE TABLE signing_keys (
    name       TEXT PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    sealed_key BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE access_keys;
