-- +goose Up
-- The audit log becomes a hash chain: each event carries its position (seq),
-- the hash of its predecessor and its own hash (SHA-256 over a canonical
-- encoding, dbtrust.AuditHash). audit_head holds the last position and hash
-- (its one row is made by the first append, so that a new store is empty for
-- copies and restores), and every append takes it in the writing transaction, so that the chain
-- has one order whatever the number of writers. Events written before this
-- migration keep seq NULL: they predate the chain.
-- count and source aggregate refused requests (denied actions, failed
-- authentications) per principal or address and interval.
ALTER TABLE audit ADD COLUMN seq BIGINT;
ALTER TABLE audit ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN count BIGINT NOT NULL DEFAULT 1;
ALTER TABLE audit ADD COLUMN source TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX audit_seq ON audit (seq);
CREATE INDEX audit_time ON audit (time);
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);

-- Request counts per rate-limit key and window, shared by every replica:
-- each replica reserves a share of a window's budget at a time.
CREATE TABLE rate_windows (
    key          TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    used         BIGINT NOT NULL,
    PRIMARY KEY (key, window_start)
);

-- +goose Down
DROP TABLE rate_windows;
DROP TABLE audit_head;
DROP INDEX audit_time;
DROP INDEX audit_seq;
ALTER TABLE audit DROP COLUMN source;
ALTER TABLE audit DROP COLUMN count;
ALTER TABLE audit DROP COLUMN hash;
ALTER TABLE audit DROP COLUMN prev_hash;
ALTER TABLE audit DROP COLUMN seq;
