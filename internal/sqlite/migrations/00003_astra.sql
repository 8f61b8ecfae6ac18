-- +goose Up
-- NetApp Astra certificates and credentials. Times are Unix microseconds (UTC).
CREATE TABLE astra_certificates (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    version       TEXT NOT NULL,
    cert_use      TEXT NOT NULL CHECK (cert_use IN ('rootCA', 'intermediateCA')),
    cert_pem      TEXT NOT NULL,
    cn            TEXT NOT NULL,
    not_after     INTEGER NOT NULL,
    self_signed   INTEGER NOT NULL,
    trust_desired TEXT NOT NULL CHECK (trust_desired IN ('trusted', 'untrusted')),
    labels        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    modified_at   INTEGER NOT NULL,
    created_by    TEXT NOT NULL,
    modified_by   TEXT NOT NULL,
    revision      INTEGER NOT NULL
);
CREATE INDEX astra_certificates_account ON astra_certificates (account_id, created_at, id);

-- sealed_key_store is AES-256-GCM under the key-encryption key; never clear text.
CREATE TABLE astra_credentials (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    version          TEXT NOT NULL,
    name             TEXT NOT NULL,
    key_type         TEXT NOT NULL,
    valid            INTEGER NOT NULL,
    valid_from       INTEGER,
    valid_until      INTEGER,
    sealed_key_store BLOB NOT NULL,
    unique_key       TEXT,
    labels           TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    modified_at      INTEGER NOT NULL,
    created_by       TEXT NOT NULL,
    modified_by      TEXT NOT NULL,
    revision         INTEGER NOT NULL,
    UNIQUE (account_id, unique_key)
);
CREATE INDEX astra_credentials_account ON astra_credentials (account_id, created_at, id);

-- +goose Down
DROP TABLE astra_credentials;
DROP TABLE astra_certificates;
