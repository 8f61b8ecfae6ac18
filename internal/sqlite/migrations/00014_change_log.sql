-- +goose Up
-- The change log says which cached reads a commit made stale, so that a
-- server watching the file (sqlite.Store.WatchChanges) drops just those
-- entries of its read cache when another process (the CLI, say) or another
-- of its own connections commits, instead of its whole cache. The triggers
-- below fill it in the changing transaction; kind and key are those of
-- dbtrust.Change. Tables no cache reads (audit, adoptions, rate windows,
-- outbox, ...) log nothing. Inserts log nothing either: a cache never holds
-- a key that did not exist, nor an empty CA list, so only a CA added to an
-- instance that already had some is logged. The log keeps the last 10000
-- rows; a watcher that fell further behind drops its whole cache.
CREATE TABLE change_log (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    key  TEXT NOT NULL
);

-- +goose StatementBegin
CREATE TRIGGER change_log_prune AFTER INSERT ON change_log BEGIN
    DELETE FROM change_log WHERE seq <= NEW.seq - 10000;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER cas_change_insert AFTER INSERT ON cas
WHEN EXISTS (SELECT 1 FROM cas WHERE account_id = NEW.account_id AND instance_id = NEW.instance_id AND id <> NEW.id)
BEGIN
    INSERT INTO change_log (kind, key) VALUES ('instance', NEW.instance_id);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER cas_change_update AFTER UPDATE ON cas BEGIN
    INSERT INTO change_log (kind, key) SELECT 'instance', OLD.instance_id
        UNION SELECT 'instance', NEW.instance_id;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER cas_change_delete AFTER DELETE ON cas BEGIN
    INSERT INTO change_log (kind, key) VALUES ('instance', OLD.instance_id);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER instances_change_delete AFTER DELETE ON instances BEGIN
    INSERT INTO change_log (kind, key) VALUES ('instance', OLD.id);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER tokens_change_update AFTER UPDATE ON tokens BEGIN
    INSERT INTO change_log (kind, key) SELECT 'token', OLD.id UNION SELECT 'token', NEW.id;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER tokens_change_delete AFTER DELETE ON tokens BEGIN
    INSERT INTO change_log (kind, key) VALUES ('token', OLD.id);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER accounts_change_update AFTER UPDATE ON accounts BEGIN
    INSERT INTO change_log (kind, key) SELECT 'project', OLD.project_id UNION SELECT 'project', NEW.project_id;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER accounts_change_delete AFTER DELETE ON accounts BEGIN
    INSERT INTO change_log (kind, key) VALUES ('project', OLD.project_id);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER access_keys_change_update AFTER UPDATE ON access_keys BEGIN
    INSERT INTO change_log (kind, key) SELECT 'accesskey', OLD.id UNION SELECT 'accesskey', NEW.id;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER access_keys_change_delete AFTER DELETE ON access_keys BEGIN
    INSERT INTO change_log (kind, key) VALUES ('accesskey', OLD.id);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER access_keys_change_delete;
DROP TRIGGER access_keys_change_update;
DROP TRIGGER accounts_change_delete;
DROP TRIGGER accounts_change_update;
DROP TRIGGER tokens_change_delete;
DROP TRIGGER tokens_change_update;
DROP TRIGGER instances_change_delete;
DROP TRIGGER cas_change_delete;
DROP TRIGGER cas_change_update;
DROP TRIGGER cas_change_insert;
DROP TABLE change_log;
