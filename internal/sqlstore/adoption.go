package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/dbtrust/dbtrust"
)

const adoptionCols = `instance_id, subject, account_id, name, via, fingerprints, fetched_at, fetches`

func scanAdoption(sc interface{ Scan(...any) error }) (dbtrust.Adoption, error) {
	var a dbtrust.Adoption
	var fps string
	var at int64
	if err := sc.Scan(&a.InstanceID, &a.Subject, &a.AccountID, &a.Name, &a.Via, &fps, &at, &a.Fetches); err != nil {
		return a, err
	}
	a.FetchedAt = fromUS(at)
	if err := json.Unmarshal([]byte(fps), &a.Fingerprints); err != nil {
		return a, fmt.Errorf("adoption %s/%s: fingerprints: %w", a.InstanceID, a.Subject, err)
	}
	return a, nil
}

// recordAdoption upserts one record: it keeps the newer fetch and adds up
// the counts, and drops a record whose instance is gone.
const recordAdoption = `INSERT INTO adoptions (` + adoptionCols + `)
	SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE EXISTS (SELECT 1 FROM instances WHERE id = $1 AND account_id = $3)
	ON CONFLICT (instance_id, subject) DO UPDATE SET
		name = CASE WHEN excluded.fetched_at >= adoptions.fetched_at THEN excluded.name ELSE adoptions.name END,
		via = CASE WHEN excluded.fetched_at >= adoptions.fetched_at THEN excluded.via ELSE adoptions.via END,
		fingerprints = CASE WHEN excluded.fetched_at >= adoptions.fetched_at THEN excluded.fingerprints ELSE adoptions.fingerprints END,
		fetched_at = CASE WHEN excluded.fetched_at >= adoptions.fetched_at THEN excluded.fetched_at ELSE adoptions.fetched_at END,
		fetches = adoptions.fetches + excluded.fetches`

// RecordAdoptions upserts the records in one transaction, through one
// prepared statement: a flush after random fetches across a large fleet
// holds a record per instance fetched, and parsing the upsert for each was
// most of its cost.
func (s *DB) RecordAdoptions(ctx context.Context, list []dbtrust.Adoption) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		exec := func(args ...any) error { _, err := tx.ExecContext(ctx, recordAdoption, args...); return err }
		if st := s.txStmt(ctx, tx, recordAdoption); st != nil {
			exec = func(args ...any) error { _, err := st.ExecContext(ctx, args...); return err }
		}
		for _, a := range list {
			if err := exec(a.InstanceID, a.Subject, a.AccountID, a.Name, a.Via, jsonText(orEmpty(a.Fingerprints)), us(a.FetchedAt), a.Fetches); err != nil {
				return err
			}
		}
		return nil
	})
}

// ListAdoptions returns the records of one instance of the account; with an
// empty accountID, those of every instance of every account (for metrics).
func (s *DB) ListAdoptions(ctx context.Context, accountID, instanceID string) ([]dbtrust.Adoption, error) {
	if accountID == "" {
		return queryAll(ctx, s, scanAdoption, `SELECT `+adoptionCols+` FROM adoptions ORDER BY instance_id, subject`)
	}
	return queryAll(ctx, s, scanAdoption, `SELECT `+adoptionCols+` FROM adoptions WHERE account_id = $1 AND instance_id = $2 ORDER BY subject`,
		accountID, instanceID)
}
