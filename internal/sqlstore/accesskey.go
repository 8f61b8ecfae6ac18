package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/accesskey"
)

// ---- access keys ----

const accessKeyCols = `id, account_id, name, role, sealed_secret, created_at, revoked_at`

func scanAccessKey(sc interface{ Scan(...any) error }) (accesskey.Key, error) {
	var k accesskey.Key
	var created int64
	var revoked sql.NullInt64
	var role string
	err := sc.Scan(&k.ID, &k.AccountID, &k.Name, &role, &k.SealedSecret, &created, &revoked)
	k.Role, k.CreatedAt, k.RevokedAt = dbtrust.Role(role), fromUS(created), fromNullUS(revoked)
	return k, err
}

func (s *DB) CreateAccessKey(ctx context.Context, k accesskey.Key) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO access_keys (`+accessKeyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			k.ID, k.AccountID, k.Name, string(k.Role), k.SealedSecret, us(k.CreatedAt), nullUS(k.RevokedAt))
		return err
	})
}

func (s *DB) GetAccessKey(ctx context.Context, id string) (accesskey.Key, error) {
	k, err := scanAccessKey(s.db.QueryRowContext(ctx, `SELECT `+accessKeyCols+` FROM access_keys WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return k, dbtrust.Errorf(dbtrust.NotFound, "no such access key")
	}
	return k, s.mapErr(err)
}

func (s *DB) ListAccessKeys(ctx context.Context, accountID string) ([]accesskey.Key, error) {
	return queryAll(ctx, s, scanAccessKey, `SELECT `+accessKeyCols+` FROM access_keys WHERE account_id = $1 ORDER BY created_at, id`, accountID)
}

func (s *DB) RevokeAccessKey(ctx context.Context, accountID, id string, at time.Time) error {
	return s.execOne(ctx, "no such access key",
		`UPDATE access_keys SET revoked_at = $1 WHERE account_id = $2 AND id = $3 AND revoked_at IS NULL`, us(at), accountID, id)
}

// ---- server signing keys ----

func (s *DB) CreateSigningKey(ctx context.Context, k dbtrust.SigningKey) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO signing_keys (name, id, sealed_key, created_at) VALUES ($1, $2, $3, $4)`,
		k.Name, k.ID, k.SealedKey, us(k.CreatedAt))
	return s.mapErr(err)
}

func (s *DB) GetSigningKey(ctx context.Context, name string) (dbtrust.SigningKey, error) {
	var k dbtrust.SigningKey
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT name, id, sealed_key, created_at FROM signing_keys WHERE name = $1`, name).
		Scan(&k.Name, &k.ID, &k.SealedKey, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return k, dbtrust.Errorf(dbtrust.NotFound, "no such signing key")
	}
	k.CreatedAt = fromUS(created)
	return k, s.mapErr(err)
}
