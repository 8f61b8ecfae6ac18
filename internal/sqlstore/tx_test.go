package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/pgtest"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib"
)

// TestTxRetriesSerializationFailures: a transaction that fails with a
// serialization failure (40001) or a deadlock (40P01) is run again whole, its
// first attempt leaving nothing behind; any other failure is not retried.
func TestTxRetriesSerializationFailures(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("pgx", pgtest.FreshDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := New(db, Backend{
		Name:     "postgres",
		MapError: func(err error) error { return dbtrust.Wrap(dbtrust.Internal, err, "database error") },
		Retryable: func(err error) bool {
			var pe *pgconn.PgError
			return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
		},
	})
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (k TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	raise := func(tx *sql.Tx, code string) error {
		_, err := tx.ExecContext(ctx, `DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '`+code+`'; END $$`)
		return err
	}
	for _, c := range []struct {
		code      string
		wantTries int
		wantRows  int
	}{
		{"40001", 2, 1}, // serialization_failure: retried, then commits
		{"40P01", 2, 1}, // deadlock_detected: retried, then commits
		{"23505", 1, 0}, // unique_violation: not retried
	} {
		t.Run(c.code, func(t *testing.T) {
			tries := 0
			err := s.tx(ctx, func(tx *sql.Tx) error {
				tries++
				if _, err := tx.ExecContext(ctx, `INSERT INTO t (k) VALUES ($1)`, c.code); err != nil {
					return err
				}
				if tries == 1 {
					return raise(tx, c.code)
				}
				return nil
			})
			if tries != c.wantTries {
				t.Fatalf("tx ran %d times (err %v), want %d", tries, err, c.wantTries)
			}
			var n int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM t WHERE k = $1`, c.code).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != c.wantRows {
				t.Fatalf("%d rows after tx, want %d", n, c.wantRows)
			}
		})
	}
}
