-- +goose Up
-- Change notices say what changed, so that each replica drops just those
-- entries of its read cache (postgres.Store.WatchChanges): the payload is
-- "kind:key" as in dbtrust.Change ("instance:<id>", "token:<id>",
-- "project:<project id>", "accesskey:<id>"), sent per changed row of the
-- tables the caches read, and "" (anything may have changed) on TRUNCATE.
-- Tables no cache reads send nothing any more: the statement triggers of
-- 00005 and later (every table's <table>_notify) are dropped. Inserts send
-- nothing either: a cache never holds a key that did not exist, nor an empty
-- CA list, so only a CA added to an instance that already had some is sent.
-- A table a later migration adds needs a trigger only if a cache reads it:
--   CREATE TRIGGER <table>_change AFTER UPDATE OR DELETE ON <table>
--       FOR EACH ROW EXECUTE FUNCTION dbtrust_notify_key('<kind>', '<key column>');
-- +goose StatementBegin
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT t.tgname, t.tgrelid::regclass AS tbl FROM pg_trigger t
              WHERE t.tgfoid = 'dbtrust_notify_change'::regproc
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', r.tgname, r.tbl);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- dbtrust_notify_key(kind, column) sends kind:<the row's column> for the
-- old row and, when it differs, the new one.
-- +goose StatementBegin
CREATE FUNCTION dbtrust_notify_key() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_key text;
    new_key text;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_key := to_jsonb(OLD) ->> TG_ARGV[1];
        PERFORM pg_notify('dbtrust_changes', TG_ARGV[0] || ':' || old_key);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_key := to_jsonb(NEW) ->> TG_ARGV[1];
        IF new_key IS DISTINCT FROM old_key THEN
            PERFORM pg_notify('dbtrust_changes', TG_ARGV[0] || ':' || new_key);
        END IF;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION dbtrust_notify_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('dbtrust_changes', '');
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- A CA added to an instance that had CAs already (a rotation's next CA).
-- +goose StatementBegin
CREATE FUNCTION dbtrust_notify_ca_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM cas WHERE account_id = NEW.account_id AND instance_id = NEW.instance_id AND id <> NEW.id) THEN
        PERFORM pg_notify('dbtrust_changes', 'instance:' || NEW.instance_id);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER cas_change_insert AFTER INSERT ON cas FOR EACH ROW EXECUTE FUNCTION dbtrust_notify_ca_insert();
CREATE TRIGGER cas_change AFTER UPDATE OR DELETE ON cas FOR EACH ROW EXECUTE FUNCTION dbtrust_notify_key('instance', 'instance_id');
CREATE TRIGGER instances_change AFTER DELETE ON instances FOR EACH ROW EXECUTE FUNCTION dbtrust_notify_key('instance', 'id');
CREATE TRIGGER tokens_change AFTER UPDATE OR DELETE ON tokens FOR EACH ROW EXECUTE FUNCTION dbtrust_notify_key('token', 'id');
CREATE TRIGGER accounts_change AFTER UPDATE OR DELETE ON accounts FOR EACH ROW EXECUTE FUNCTION dbtrust_notify_key('project', 'project_id');
CREATE TRIGGER access_keys_change AFTER UPDATE OR DELETE ON access_keys FOR EACH ROW EXECUTE FUNCTION dbtrust_notify_key('accesskey', 'id');
CREATE TRIGGER cas_truncate AFTER TRUNCATE ON cas FOR EACH STATEMENT EXECUTE FUNCTION dbtrust_notify_all();
CREATE TRIGGER instances_truncate AFTER TRUNCATE ON instances FOR EACH STATEMENT EXECUTE FUNCTION dbtrust_notify_all();
CREATE TRIGGER tokens_truncate AFTER TRUNCATE ON tokens FOR EACH STATEMENT EXECUTE FUNCTION dbtrust_notify_all();
CREATE TRIGGER accounts_truncate AFTER TRUNCATE ON accounts FOR EACH STATEMENT EXECUTE FUNCTION dbtrust_notify_all();
CREATE TRIGGER access_keys_truncate AFTER TRUNCATE ON access_keys FOR EACH STATEMENT EXECUTE FUNCTION dbtrust_notify_all();

-- +goose Down
DROP FUNCTION dbtrust_notify_key() CASCADE;
DROP FUNCTION dbtrust_notify_all() CASCADE;
DROP FUNCTION dbtrust_notify_ca_insert() CASCADE;
-- The statement triggers of 00005: every table but goose's own and audit.
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
