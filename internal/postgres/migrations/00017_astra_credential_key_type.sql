-- +goose Up
-- Astra lists filter credentials by key type and page them in creation
-- order; with this index a page and its count read only the matching rows.
CREATE INDEX astra_credentials_key_type ON astra_credentials (account_id, key_type, created_at, id);

-- +goose Down
DROP INDEX astra_credentials_key_type;
