package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"github.com/dbtrust/dbtrust"
)

// batchRows bounds the rows of one multi-row statement. Both engines'
// limits on bound parameters are far off (SQLite 32766, PostgreSQL 65535);
// the bound is SQLite's driver, which looks each numbered parameter up by
// name in a list of them all, so that a statement's cost grows with the
// square of its parameters (a 1000-event audit insert spent a third of an
// import's CPU there).
const batchRows = 10

// CreateInstances inserts the batch's instances and CAs with multi-row
// statements, and appends events to the audit chain, in one transaction.
// A taken name or ID is found before anything is written, so that the
// Conflict can name the instance (*dbtrust.ImportConflict).
func (s *DB) CreateInstances(ctx context.Context, batch []dbtrust.NewInstance, events []dbtrust.AuditEvent) error {
	err := s.createInstances(ctx, batch, events)
	if err == nil && s.be.Checkpoint != nil {
		// Best effort: a checkpoint that cannot run now (the store busy past
		// its timeout) leaves the log to the next batch's.
		_ = s.be.Checkpoint(ctx, s.db)
	}
	return err
}

func (s *DB) createInstances(ctx context.Context, batch []dbtrust.NewInstance, events []dbtrust.AuditEvent) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if i, err := firstTaken(ctx, tx, batch); err != nil || i >= 0 {
			if err == nil {
				err = dbtrust.Wrap(dbtrust.Conflict, &dbtrust.ImportConflict{Index: i}, "already exists")
			}
			return err
		}
		insts := make([][]any, len(batch))
		cas := make([][]any, len(batch))
		for k, n := range batch {
			i, c := n.Instance, n.CA
			if i.Tags == nil {
				i.Tags = []string{}
			}
			insts[k] = []any{i.ID, i.AccountID, i.Name, string(i.Engine), i.Version, i.Region, i.Size, i.NumNodes, i.TLS, i.Status,
				jsonText(i.Tags), us(i.CreatedAt), endpointsJSON(i.Endpoints)}
			cas[k] = []any{c.ID, c.InstanceID, c.AccountID, string(c.State), c.KeyType, string(c.CertPEM), c.SealedKey, c.Serial, c.Fingerprint,
				us(c.NotBefore), us(c.NotAfter), us(c.CreatedAt)}
		}
		if err := insertRows(ctx, tx, "instances", instanceCols, insts); err != nil {
			return err
		}
		if err := insertRows(ctx, tx, "cas", caCols, cas); err != nil {
			return err
		}
		return s.insertAudits(ctx, tx, events)
	})
}

// firstTaken returns the index of the first instance of batch whose ID, or
// name in its account, is taken; -1 when none is.
func firstTaken(ctx context.Context, tx *sql.Tx, batch []dbtrust.NewInstance) (int, error) {
	taken := map[string]bool{}
	for start := 0; start < len(batch); start += batchRows {
		part := batch[start:min(start+batchRows, len(batch))]
		ids := make([]any, len(part))
		names := map[string][]any{} // account -> names
		for k, n := range part {
			ids[k] = n.Instance.ID
			names[n.Instance.AccountID] = append(names[n.Instance.AccountID], n.Instance.Name)
		}
		if err := collect(ctx, tx, taken, "id:", `SELECT id FROM instances WHERE id IN (`+params(1, len(ids))+`)`, ids...); err != nil {
			return -1, err
		}
		for acct, list := range names {
			q := `SELECT name FROM instances WHERE account_id = $1 AND name IN (` + params(2, len(list)) + `)`
			if err := collect(ctx, tx, taken, "name:"+acct+"/", q, append([]any{acct}, list...)...); err != nil {
				return -1, err
			}
		}
	}
	for k, n := range batch {
		if taken["id:"+n.Instance.ID] || taken["name:"+n.Instance.AccountID+"/"+n.Instance.Name] {
			return k, nil
		}
	}
	return -1, nil
}

// collect adds prefix+v to set for every v the one-column query returns.
func collect(ctx context.Context, tx *sql.Tx, set map[string]bool, prefix, query string, args ...any) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return err
		}
		set[prefix+v] = true
	}
	return rows.Err()
}

// params returns n placeholders from $first: "$2, $3, $4".
func params(first, n int) string {
	var b strings.Builder
	for k := range n {
		if k > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(first+k))
	}
	return b.String()
}

// insertRows inserts rows, each a value per column of cols, into table,
// batchRows rows per statement. The statement of a full chunk is prepared
// once: parsing thousands of placeholders is most of SQLite's cost here.
func insertRows(ctx context.Context, tx *sql.Tx, table, cols string, rows [][]any) error {
	var full *sql.Stmt
	for start := 0; start < len(rows); start += batchRows {
		part := rows[start:min(start+batchRows, len(rows))]
		args := make([]any, 0, len(part)*len(part[0]))
		for _, row := range part {
			args = append(args, row...)
		}
		q := "INSERT INTO " + table + " (" + cols + ") VALUES " + valuesList(len(part), len(part[0]))
		var err error
		switch {
		case len(part) < batchRows || len(rows) == batchRows:
			_, err = tx.ExecContext(ctx, q, args...)
		case full == nil:
			if full, err = tx.PrepareContext(ctx, q); err != nil {
				return err
			}
			defer full.Close()
			fallthrough
		default:
			_, err = full.ExecContext(ctx, args...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
