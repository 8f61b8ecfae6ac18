-- +goose Up
-- The expiry gauges and expiry notifications read the CAs and certificates
-- that expire soonest (or before a threshold), not the whole fleet: these
-- indexes let them walk from the soonest expiry on.
CREATE INDEX cas_not_after ON cas (not_after);
CREATE INDEX issued_certs_not_after ON issued_certs (not_after);

-- +goose Down
DROP INDEX issued_certs_not_after;
DROP INDEX cas_not_after;
