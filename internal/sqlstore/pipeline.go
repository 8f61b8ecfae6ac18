package sqlstore

import (
	"context"
	"database/sql"

	"github.com/dbtrust/dbtrust"
)

// Pipelined group commit. Where the backend can send several statements in
// one round trip (Backend.Pipeline: PostgreSQL's pipelining, through pgx), a
// batch of issued certificates is written in two round trips instead of one
// per statement: the first sends BEGIN, the CA checks, the certificates and
// the taking of the audit chain's head; the second the chained events, the
// head's new hash and COMMIT. The certificates go in before their CA checks
// are read: a batch in which a check fails is rolled back whole, and written
// again by the statement-by-statement path, which refuses that row alone.

// Queued is one statement of a pipelined step: Scan, when set, receives the
// one row it returns.
type Queued struct {
	SQL  string
	Args []any
	Scan []any
}

// Pipeline runs a transaction on one connection of db: run calls send with
// each step's statements, which go in one round trip and whose rows are
// scanned before send returns. A transaction still open when run returns
// (an error) is rolled back.
type Pipeline func(ctx context.Context, db *sql.DB, run func(send func([]Queued) error) error) error

// errRefused stops a pipelined batch of which a row is refused.
var errRefused = dbtrust.Errorf(dbtrust.NotFound, "no such CA")

// writePipelined writes jobs in one pipelined transaction; any error leaves
// nothing written.
func (s *DB) writePipelined(ctx context.Context, jobs []*issueJob) error {
	return s.be.Pipeline(ctx, s.db, func(send func([]Queued) error) error {
		first := []Queued{{SQL: "BEGIN"}}
		counts := map[[3]string]*int{}
		certs := make([]dbtrust.IssuedCertificate, 0, len(jobs))
		for _, j := range jobs {
			k := [3]string{j.c.CAID, j.c.InstanceID, j.c.AccountID}
			if counts[k] == nil {
				n := new(int)
				counts[k] = n
				first = append(first, Queued{SQL: caOfSQL, Args: []any{k[0], k[1], k[2]}, Scan: []any{n}})
			}
			certs = append(certs, j.c)
		}
		q, args := certInsert(certs)
		first = append(first, Queued{SQL: q, Args: args})
		var prevSeq int64
		var prevHash string
		first = append(first, Queued{SQL: headUpsertSQL, Args: []any{int64(len(jobs))}, Scan: []any{&prevSeq, &prevHash}})
		if err := send(first); err != nil {
			return err
		}
		for _, n := range counts {
			if *n == 0 {
				return errRefused
			}
		}
		events := make([]dbtrust.AuditEvent, len(jobs))
		for i, j := range jobs {
			events[i] = j.e
		}
		q, args, hash := auditInsert(events, prevSeq, prevHash)
		return send([]Queued{{SQL: q, Args: args}, {SQL: headHashSQL, Args: []any{hash}}, {SQL: "COMMIT"}})
	})
}
