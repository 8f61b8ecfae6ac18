-- +goose Up
-- Sign-ins of the web console. The browser holds the session's secret; only
-- its SHA-256 (the id) is kept. Sessions are read from here at every use and
-- never cached, so this table needs no change notice.
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_id   TEXT NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- +goose Down
DROP TABLE sessions;
