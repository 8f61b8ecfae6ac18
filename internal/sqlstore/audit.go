package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/dbtrust/dbtrust"
)

const auditCols = `id, time, account_id, actor, action, resource, outcome, count, source, COALESCE(seq, 0), prev_hash, hash`

func scanAudit(sc interface{ Scan(...any) error }) (dbtrust.AuditEvent, error) {
	var e dbtrust.AuditEvent
	var t int64
	err := sc.Scan(&e.ID, &t, &e.AccountID, &e.Actor, &e.Action, &e.Resource, &e.Outcome, &e.Count, &e.Source, &e.Seq, &e.PrevHash, &e.Hash)
	e.Time = fromUS(t)
	return e, err
}

// insertAudit appends e to the chain and publishes its events (the webhook
// outbox), in tx.
func (s *DB) insertAudit(ctx context.Context, tx *sql.Tx, e dbtrust.AuditEvent) error {
	return s.insertAudits(ctx, tx, []dbtrust.AuditEvent{e})
}

// insertAudits appends es to the chain and publishes the events they carry,
// in tx.
func (s *DB) insertAudits(ctx context.Context, tx *sql.Tx, es []dbtrust.AuditEvent) error {
	if err := s.appendAudits(ctx, tx, es); err != nil {
		return err
	}
	for _, e := range es {
		if err := publishEvents(ctx, tx, e.Events); err != nil {
			return err
		}
	}
	return nil
}

// appendAudits appends es to the chain, in order, inside tx. Taking the
// head row (the upsert locks it until tx ends) orders every append of every
// replica; the head moves by len(es) at once, and its hash becomes the last
// event's. The events go in batchRows to a statement (see batchRows).
func (s *DB) appendAudits(ctx context.Context, tx *sql.Tx, es []dbtrust.AuditEvent) error {
	if len(es) == 0 {
		return nil
	}
	var prevSeq int64
	var prevHash string
	if err := s.txQueryRow(ctx, tx, headUpsertSQL, int64(len(es))).Scan(&prevSeq, &prevHash); err != nil {
		return err
	}
	for start := 0; start < len(es); start += batchRows {
		part := es[start:min(start+batchRows, len(es))]
		q, args, hash := auditInsert(part, prevSeq, prevHash)
		if _, err := s.txExec(ctx, tx, q, args...); err != nil {
			return err
		}
		prevSeq, prevHash = prevSeq+int64(len(part)), hash
	}
	_, err := s.txExec(ctx, tx, headHashSQL, prevHash)
	return err
}

// The chain's head: headUpsertSQL moves it by $1 events (creating it with
// the first) and returns the sequence number and hash it had before;
// headHashSQL sets its hash to the last appended event's.
const (
	headUpsertSQL = `INSERT INTO audit_head (id, seq, hash) VALUES (1, $1, '')
		ON CONFLICT (id) DO UPDATE SET seq = audit_head.seq + excluded.seq RETURNING seq - $1, hash`
	headHashSQL = `UPDATE audit_head SET hash = $1 WHERE id = 1`
)

// auditInsert returns the one statement that inserts es (at least one),
// chained after prevSeq and prevHash, its arguments, and the last event's
// hash.
func auditInsert(es []dbtrust.AuditEvent, prevSeq int64, prevHash string) (string, []any, string) {
	args := make([]any, 0, len(es)*11)
	for _, e := range es {
		e = dbtrust.ChainAudit(e, prevSeq, prevHash)
		args = append(args, us(e.Time), e.AccountID, e.Actor, e.Action, e.Resource, e.Outcome, e.Count, e.Source, e.Seq, e.PrevHash, e.Hash)
		prevSeq, prevHash = e.Seq, e.Hash
	}
	return `INSERT INTO audit (time, account_id, actor, action, resource, outcome, count, source, seq, prev_hash, hash)
		VALUES ` + valuesList(len(es), 11), args, prevHash
}

// valuesList returns the VALUES rows of a multi-row INSERT: rows groups of
// cols placeholders, numbered from $1.
func valuesList(rows, cols int) string {
	var b strings.Builder
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(r*cols + c + 1))
		}
		b.WriteByte(')')
	}
	return b.String()
}

func (s *DB) AppendAudit(ctx context.Context, e dbtrust.AuditEvent) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.insertAudit(ctx, tx, e) })
}

func (s *DB) ListAudit(ctx context.Context, f dbtrust.AuditFilter) ([]dbtrust.AuditEvent, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.AccountID != "" {
		add("account_id = ?", f.AccountID)
	}
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.Resource != "" {
		add("resource = ?", f.Resource)
	}
	if !f.Since.IsZero() {
		add("time >= ?", us(f.Since))
	}
	if !f.Until.IsZero() {
		add("time < ?", us(f.Until))
	}
	if f.BeforeID > 0 {
		add("id < ?", f.BeforeID)
	}
	q := `SELECT ` + auditCols + ` FROM audit`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, f.Limit)
	q += ` ORDER BY id DESC LIMIT $` + strconv.Itoa(len(args))
	return queryAll(ctx, s, scanAudit, q, args...)
}

func (s *DB) AuditChain(ctx context.Context, afterSeq int64, limit int) ([]dbtrust.AuditEvent, error) {
	return queryAll(ctx, s, scanAudit, `SELECT `+auditCols+` FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2`, afterSeq, limit)
}

func (s *DB) AuditHead(ctx context.Context) (int64, string, error) {
	var seq int64
	var hash string
	err := s.db.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) { // nothing appended yet
		return 0, "", nil
	}
	return seq, hash, s.mapErr(err)
}
