-- +goose Up
-- Replicas cache hot reads (tokens, CA lists) and drop their caches when
-- another replica changes the data: every change to a table below sends a
-- notice on the channel dbtrust_changes, delivered when its transaction
-- commits, and each replica LISTENs on it (postgres.Store.WatchChanges).
-- A table added by a later migration gets the same trigger there:
--   CREATE TRIGGER <table>_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON <table>
--       FOR EACH STATEMENT EXECUTE FUNCTION dbtrust_notify_change();
-- +goose StatementBegin
CREATE FUNCTION dbtrust_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('dbtrust_changes', TG_TABLE_NAME);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- Every table so far, except goose's own and the append-only audit log.
-- +goose StatementBegin
DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT table_name FROM information_schema.tables
              WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
                AND table_name NOT IN ('goose_db_version', 'audit')
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION dbtrust_notify_change()', t || '_notify', t);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION dbtrust_notify_change() CASCADE;
