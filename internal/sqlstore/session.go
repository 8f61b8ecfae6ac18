package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/dbtrust/dbtrust"
)

// ---- console sessions ----

func (s *DB) CreateSession(ctx context.Context, x dbtrust.Session) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (id, account_id, token_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			x.ID, x.AccountID, x.TokenID, us(x.CreatedAt), us(x.ExpiresAt))
		return err
	})
}

func (s *DB) GetSession(ctx context.Context, id string) (dbtrust.Session, error) {
	var x dbtrust.Session
	var created, expires int64
	err := s.db.QueryRowContext(ctx, `SELECT id, account_id, token_id, created_at, expires_at FROM sessions WHERE id = $1`, id).
		Scan(&x.ID, &x.AccountID, &x.TokenID, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return x, dbtrust.Errorf(dbtrust.NotFound, "no such session")
	}
	x.CreatedAt, x.ExpiresAt = fromUS(created), fromUS(expires)
	return x, s.mapErr(err)
}

func (s *DB) DeleteSession(ctx context.Context, id string) error {
	return s.execOne(ctx, "no such session", `DELETE FROM sessions WHERE id = $1`, id)
}

func (s *DB) DeleteExpiredSessions(ctx context.Context, before time.Time) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, us(before))
	return s.mapErr(err)
}
