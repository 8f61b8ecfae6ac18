package sqlstore

import (
	"context"
	"database/sql"
)

// The hot queries run through prepared statements that the store keeps
// (stmts, one *sql.Stmt per query text, which database/sql prepares once
// on each connection that runs it), instead of being parsed and planned
// on every call. SQLite's driver prepares each statement anew otherwise;
// pgx caches statements per connection by itself, where this costs nothing
// more. Only queries of fixed text go through here, so the set is bounded.

// stmt returns the store's prepared statement of query, preparing it on
// first use.
func (s *DB) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if v, ok := s.stmts.Load(query); ok {
		return v.(*sql.Stmt), nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if v, loaded := s.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return v.(*sql.Stmt), nil
	}
	return st, nil
}

// closeStmts closes every prepared statement (Close).
func (s *DB) closeStmts() {
	s.stmts.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		s.stmts.Delete(k)
		return true
	})
}

// txExec runs query in tx, through its prepared statement once there is one.
func (s *DB) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := s.txStmt(ctx, tx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, query, args...)
}

// txQueryRow runs query in tx, through its prepared statement once there
// is one.
func (s *DB) txQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if st := s.txStmt(ctx, tx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, query, args...)
}

// txStmt returns query's prepared statement bound to tx (database/sql
// reuses the one already prepared on tx's connection), or nil when it is
// not prepared yet: it is then prepared after the transaction (tx calls
// prepareWanted). Preparing it here would take a second connection while
// tx holds one, and with every connection held by a transaction waiting
// for tx's lock, none would come.
func (s *DB) txStmt(ctx context.Context, tx *sql.Tx, query string) *sql.Stmt {
	if v, ok := s.stmts.Load(query); ok {
		return tx.StmtContext(ctx, v.(*sql.Stmt))
	}
	s.wanted.Store(query, true)
	return nil
}

// prepareWanted prepares the statements transactions asked for.
func (s *DB) prepareWanted(ctx context.Context) {
	s.wanted.Range(func(k, _ any) bool {
		s.wanted.Delete(k)
		_, err := s.stmt(ctx, k.(string))
		return err == nil
	})
}

// queryRow runs a one-row query through its prepared statement.
func (s *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return s.db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}
