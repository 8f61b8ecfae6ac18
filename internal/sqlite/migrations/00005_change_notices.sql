-- +goose Up
-- PostgreSQL's 00005 adds change-notice triggers for replicas. One SQLite
-- file has one server, which watches PRAGMA data_version instead, so there is
-- nothing to do here; the version exists so that both stores stay at the
-- same schema version (dbtrust store copy requires it).
SELECT 1;

-- +goose Down
SELECT 1;
