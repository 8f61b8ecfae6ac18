-- +goose Up
-- Settings that managed-database APIs keep on a cluster beside its TLS
-- trust (DigitalOcean's maintenance window, storage autoscale, firewall
-- rules). A NULL part has never been set; the service supplies its default.
CREATE TABLE cluster_settings (
    instance_id           TEXT PRIMARY KEY REFERENCES instances (id) ON DELETE CASCADE,
    account_id            TEXT NOT NULL,
    maintenance_day       TEXT,
    maintenance_hour      TEXT,
    autoscale_enabled     BOOLEAN,
    autoscale_threshold   INTEGER,
    autoscale_increment   INTEGER,
    firewall_rules        TEXT
);
CREATE INDEX cluster_settings_account ON cluster_settings (account_id);
CREATE TRIGGER cluster_settings_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON cluster_settings
    FOR EACH STATEMENT EXECUTE FUNCTION dbtrust_notify_change();

-- +goose Down
DROP TABLE cluster_settings;
