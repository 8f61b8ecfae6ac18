package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/kek"
	"github.com/dbtrust/dbtrust/internal/selftls"
)

var _ kek.Store = (*DB)(nil)

// sealedColumn is a column of sealed values: its table, the row's key, and
// the fields the value's binding names (see kek.AADs).
type sealedColumn struct {
	table, key, value string
	ref               []string
}

// sealedColumns lists every sealed value the store keeps. A table that holds
// a new kind of sealed value must be added here, or KEK rotation would leave
// it under the old key (sqlite's TestSealedColumnsComplete checks the
// schema).
var sealedColumns = []sealedColumn{
	{"cas", "id", "sealed_key", []string{"id"}},
	{"access_keys", "id", "sealed_secret", []string{"id", "account_id", "role"}},
	{"signing_keys", "name", "sealed_key", []string{"name", "id"}},
	{"astra_credentials", "id", "sealed_key_store", []string{"id"}},
	{"serving_cas", "name", "sealed_key", []string{"name"}},
	{"webhooks", "id", "sealed_secret", []string{"id", "account_id"}},
}

func columnOf(table string) (sealedColumn, error) {
	for _, c := range sealedColumns {
		if c.table == table {
			return c, nil
		}
	}
	return sealedColumn{}, dbtrust.Errorf(dbtrust.Invalid, "%s holds no sealed values", table)
}

// tables returns the names of the tables in the store's schema.
func (s *DB) tables(ctx context.Context) (map[string]bool, error) {
	if s.be.Schema == nil {
		return nil, errors.New(s.be.Name + " cannot describe its schema")
	}
	ts, err := s.be.Schema(ctx, s.db)
	if err != nil {
		return nil, s.mapErr(err)
	}
	out := map[string]bool{}
	for _, t := range ts {
		out[t.Name] = true
	}
	return out, nil
}

func (s *DB) KEKs(ctx context.Context) ([]kek.Record, error) {
	ts, err := s.tables(ctx)
	if err != nil || !ts["keks"] {
		return nil, err
	}
	return queryAll(ctx, s, func(sc interface{ Scan(...any) error }) (kek.Record, error) {
		var r kek.Record
		var state string
		var created int64
		err := sc.Scan(&r.KeyID, &state, &r.Verifier, &created)
		r.State, r.CreatedAt = kek.State(state), fromUS(created)
		return r, err
	}, `SELECT key_id, state, verifier, created_at FROM keks ORDER BY state`)
}

func (s *DB) AddKEK(ctx context.Context, r kek.Record) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO keks (key_id, state, verifier, created_at) VALUES ($1, $2, $3, $4)`,
		r.KeyID, string(r.State), r.Verifier, us(r.CreatedAt))
	return s.mapErr(err)
}

func (s *DB) PromoteKEK(ctx context.Context, keyID string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM keks WHERE key_id <> $1`, keyID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE keks SET state = 'current' WHERE key_id = $1`, keyID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, dbtrust.Errorf(dbtrust.NotFound, "key-encryption key %s is not recorded", keyID))
		}
		return nil
	})
}

func (s *DB) SealedTables(ctx context.Context) ([]string, error) {
	ts, err := s.tables(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range sealedColumns {
		if ts[c.table] {
			out = append(out, c.table)
		}
	}
	return out, nil
}

func (s *DB) SealedValues(ctx context.Context, table, after string, limit int) ([]kek.Sealed, error) {
	c, err := columnOf(table)
	if err != nil {
		return nil, err
	}
	cols := append([]string{c.key, c.value}, c.ref...)
	return queryAll(ctx, s, func(sc interface{ Scan(...any) error }) (kek.Sealed, error) {
		v := kek.Sealed{Table: table, Ref: make([]string, len(c.ref))}
		dest := []any{&v.Key, &v.Value}
		for i := range v.Ref {
			dest = append(dest, &v.Ref[i])
		}
		return v, sc.Scan(dest...)
	}, `SELECT `+strings.Join(cols, ", ")+` FROM `+c.table+` WHERE `+c.key+` > $1 ORDER BY `+c.key+` LIMIT $2`, after, limit)
}

func (s *DB) ReplaceSealed(ctx context.Context, table string, rs []kek.Replacement) (int, error) {
	c, err := columnOf(table)
	if err != nil {
		return 0, err
	}
	var n int
	err = s.tx(ctx, func(tx *sql.Tx) error {
		n = 0
		for _, r := range rs {
			res, err := tx.ExecContext(ctx, `UPDATE `+c.table+` SET `+c.value+` = $1 WHERE `+c.key+` = $2 AND `+c.value+` = $3`, r.New, r.Key, r.Old)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += int(k)
		}
		return nil
	})
	return n, err
}

func (s *DB) Compact(ctx context.Context) error {
	if s.be.Compact == nil {
		return nil
	}
	return s.mapErr(s.be.Compact(ctx, s.db))
}

// ---- the serving CA (selftls) ----

func (s *DB) GetServingCA(ctx context.Context, name string) (selftls.StoredCA, error) {
	ca := selftls.StoredCA{Name: name}
	var certPEM string
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT cert_pem, sealed_key, created_at FROM serving_cas WHERE name = $1`, name).
		Scan(&certPEM, &ca.SealedKey, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return ca, dbtrust.Errorf(dbtrust.NotFound, "no serving CA %q", name)
	}
	ca.CertPEM, ca.CreatedAt = []byte(certPEM), fromUS(created)
	return ca, s.mapErr(err)
}

func (s *DB) CreateServingCA(ctx context.Context, ca selftls.StoredCA) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO serving_cas (name, cert_pem, sealed_key, created_at) VALUES ($1, $2, $3, $4)`,
		ca.Name, string(ca.CertPEM), ca.SealedKey, us(ca.CreatedAt))
	return s.mapErr(err)
}
