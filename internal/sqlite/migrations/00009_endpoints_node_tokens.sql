-- +goose Up
-- An instance's endpoints (host:port, optional role) as a JSON array; '[]'
-- means the generated default host.
ALTER TABLE instances ADD COLUMN endpoints TEXT NOT NULL DEFAULT '[]';
-- A node token is scoped to one instance: it goes when its instance goes.
ALTER TABLE tokens ADD COLUMN instance_id TEXT REFERENCES instances (id) ON DELETE CASCADE;

-- +goose Down
ALTER TABLE tokens DROP COLUMN instance_id;
ALTER TABLE instances DROP COLUMN endpoints;
