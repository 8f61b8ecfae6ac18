package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/dbtrust/dbtrust/internal/sqlstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// pipeline runs a transaction on one pooled connection, each step's
// statements sent as one pgx batch: one round trip a step instead of one a
// statement (sqlstore.Pipeline).
func pipeline(ctx context.Context, db *sql.DB, run func(send func([]sqlstore.Queued) error) error) error {
	c, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("postgres: pipeline on a %T connection", dc)
		}
		pc := sc.Conn()
		err := run(func(qs []sqlstore.Queued) error { return sendBatch(ctx, pc, qs) })
		if err != nil && pc.PgConn().TxStatus() != 'I' {
			// Still in the transaction (or its failed state): roll it back
			// before the connection goes back to the pool. A connection
			// that cannot is closed, and the pool drops it.
			if _, rerr := pc.Exec(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
				pc.Close(context.WithoutCancel(ctx))
			}
		}
		return err
	})
}

// sendBatch sends qs in one batch and scans the rows of those that want
// them; the first error is returned.
func sendBatch(ctx context.Context, pc *pgx.Conn, qs []sqlstore.Queued) error {
	var b pgx.Batch
	for _, q := range qs {
		qq := b.Queue(q.SQL, q.Args...)
		if q.Scan != nil {
			dest := q.Scan
			qq.QueryRow(func(r pgx.Row) error { return r.Scan(dest...) })
		}
	}
	return pc.SendBatch(ctx, &b).Close()
}
