-- +goose Up
-- Astra lists filter credentials by key type and page them in creation
-- order; with this index a page reads only the matching rows.
CREATE INDEX astra_credentials_key_type ON astra_credentials (account_id, key_type, created_at, id);

-- How many credentials each account holds of each key type ('' for none),
-- kept by the same transactions that create, retype and delete them, so
-- that a list's count reads one row instead of counting thousands.
CREATE TABLE astra_credential_counts (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key_type   TEXT NOT NULL,
    n          BIGINT NOT NULL,
    PRIMARY KEY (account_id, key_type)
);
INSERT INTO astra_credential_counts (account_id, key_type, n)
    SELECT account_id, key_type, COUNT(*) FROM astra_credentials GROUP BY account_id, key_type;

-- A value each write to an account's credentials replaces (a random one,
-- so that a restored database cannot repeat a value a reader has seen):
-- servers keep list answers while it stays the same.
CREATE TABLE astra_credential_changes (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    version    BIGINT NOT NULL
);

-- +goose Down
DROP TABLE astra_credential_changes;
DROP TABLE astra_credential_counts;
DROP INDEX astra_credentials_key_type;
