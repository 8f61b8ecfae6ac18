-- +goose Up
-- The key-encryption keys (KEKs) this store's sealed values are sealed under:
-- one 'current' KEK and, while a rotation runs, one 'next' KEK. verifier is a
-- fixed text sealed under the KEK, so that a process can tell before it
-- writes anything whether the KEK it was given is this store's.
CREATE TABLE keks (
    key_id     TEXT PRIMARY KEY,
    state      TEXT NOT NULL UNIQUE CHECK (state IN ('current', 'next')),
    verifier   BLOB NOT NULL,
    created_at BIGINT NOT NULL
);

-- The internal CA that signs the serving certificates of 'dbtrust serve
-- --https': one for every replica that shares this store, its key sealed
-- under the KEK.
CREATE TABLE serving_cas (
    name       TEXT PRIMARY KEY,
    cert_pem   TEXT NOT NULL,
    sealed_key BLOB NOT NULL,
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE serving_cas;
DROP TABLE keks;
