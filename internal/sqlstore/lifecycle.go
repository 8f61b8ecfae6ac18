package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/dbtrust/dbtrust"
)

// ---- issued certificates ----

const certCols = `serial, instance_id, account_id, ca_id, common_name, dns_names, ips, key_type, fingerprint, cert_pem, not_before, not_after, created_at, revoked_at, revocation_reason`

func scanCert(sc interface{ Scan(...any) error }) (dbtrust.IssuedCertificate, error) {
	var c dbtrust.IssuedCertificate
	var dns, ips, certPEM string
	var nb, na, created int64
	var revoked sql.NullInt64
	err := sc.Scan(&c.Serial, &c.InstanceID, &c.AccountID, &c.CAID, &c.CommonName, &dns, &ips, &c.KeyType, &c.Fingerprint,
		&certPEM, &nb, &na, &created, &revoked, &c.RevocationReason)
	if err != nil {
		return c, err
	}
	c.CertPEM = []byte(certPEM)
	c.NotBefore, c.NotAfter, c.CreatedAt, c.RevokedAt = fromUS(nb), fromUS(na), fromUS(created), fromNullUS(revoked)
	if err := json.Unmarshal([]byte(dns), &c.DNSNames); err != nil {
		return c, fmt.Errorf("certificate %s: dns_names: %w", c.Serial, err)
	}
	if err := json.Unmarshal([]byte(ips), &c.IPs); err != nil {
		return c, fmt.Errorf("certificate %s: ips: %w", c.Serial, err)
	}
	return c, nil
}

func orEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

const caOfSQL = `SELECT COUNT(*) FROM cas WHERE id = $1 AND instance_id = $2 AND account_id = $3`

// caOf reports whether c's CA belongs to its instance and account.
func (s *DB) caOf(ctx context.Context, tx *sql.Tx, c dbtrust.IssuedCertificate) (bool, error) {
	var n int
	err := s.txQueryRow(ctx, tx, caOfSQL, c.CAID, c.InstanceID, c.AccountID).Scan(&n)
	return n > 0, err
}

// insertCertRows inserts the certificates' rows in tx, batchRows to a
// statement.
func (s *DB) insertCertRows(ctx context.Context, tx *sql.Tx, cs []dbtrust.IssuedCertificate) error {
	for start := 0; start < len(cs); start += batchRows {
		q, args := certInsert(cs[start:min(start+batchRows, len(cs))])
		if _, err := s.txExec(ctx, tx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// certInsert returns the one statement that inserts the certificates' rows
// (at least one), and its arguments.
func certInsert(cs []dbtrust.IssuedCertificate) (string, []any) {
	args := make([]any, 0, len(cs)*15)
	for _, c := range cs {
		args = append(args, c.Serial, c.InstanceID, c.AccountID, c.CAID, c.CommonName, jsonText(orEmpty(c.DNSNames)), jsonText(orEmpty(c.IPs)),
			c.KeyType, c.Fingerprint, string(c.CertPEM), us(c.NotBefore), us(c.NotAfter), us(c.CreatedAt), nullUS(c.RevokedAt), c.RevocationReason)
	}
	return `INSERT INTO issued_certs (` + certCols + `) VALUES ` + valuesList(len(cs), 15), args
}

func (s *DB) GetIssuedCert(ctx context.Context, accountID, serial string) (dbtrust.IssuedCertificate, error) {
	c, err := scanCert(s.db.QueryRowContext(ctx, `SELECT `+certCols+` FROM issued_certs WHERE account_id = $1 AND serial = $2`, accountID, serial))
	if errors.Is(err, sql.ErrNoRows) {
		return c, dbtrust.Errorf(dbtrust.NotFound, "no such certificate")
	}
	return c, s.mapErr(err)
}

func (s *DB) ListIssuedCerts(ctx context.Context, accountID string, f dbtrust.CertFilter) ([]dbtrust.IssuedCertificate, error) {
	q := `SELECT ` + certCols + ` FROM issued_certs WHERE account_id = $1`
	args := []any{accountID}
	if f.InstanceID != "" {
		args = append(args, f.InstanceID)
		q += fmt.Sprintf(` AND instance_id = $%d`, len(args))
	}
	if f.CAID != "" {
		args = append(args, f.CAID)
		q += fmt.Sprintf(` AND ca_id = $%d`, len(args))
	}
	if f.Revoked != nil {
		if *f.Revoked {
			q += ` AND revoked_at IS NOT NULL`
		} else {
			q += ` AND revoked_at IS NULL`
		}
	}
	return queryAll(ctx, s, scanCert, q+` ORDER BY created_at, serial`, args...)
}

func (s *DB) RevokeIssuedCert(ctx context.Context, accountID, serial string, at time.Time, reason string, e dbtrust.AuditEvent) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE issued_certs SET revoked_at = $1, revocation_reason = $2 WHERE account_id = $3 AND serial = $4 AND revoked_at IS NULL`,
			us(at), reason, accountID, serial)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			return s.insertAudit(ctx, tx, e)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM issued_certs WHERE account_id = $1 AND serial = $2`, accountID, serial).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return dbtrust.Errorf(dbtrust.NotFound, "no such certificate")
		}
		return dbtrust.Errorf(dbtrust.Conflict, "the certificate is already revoked")
	})
}

func (s *DB) RevokedIssuedCerts(ctx context.Context, caID string) ([]dbtrust.IssuedCertificate, error) {
	return queryAll(ctx, s, scanCert, `SELECT `+certCols+` FROM issued_certs WHERE ca_id = $1 AND revoked_at IS NOT NULL ORDER BY revoked_at, serial`, caID)
}

// ---- CAs and rotation ----

func (s *DB) GetCA(ctx context.Context, id string) (dbtrust.CA, error) {
	c, err := scanCA(s.db.QueryRowContext(ctx, `SELECT `+caCols+` FROM cas WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, dbtrust.Errorf(dbtrust.NotFound, "no such CA")
	}
	return c, s.mapErr(err)
}

func (s *DB) AddCA(ctx context.Context, ca dbtrust.CA, e dbtrust.AuditEvent) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM instances WHERE id = $1 AND account_id = $2`, ca.InstanceID, ca.AccountID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return dbtrust.Errorf(dbtrust.NotFound, "no such instance")
		}
		if err := InsertCA(ctx, tx, ca); err != nil {
			return err
		}
		return s.insertAudit(ctx, tx, e)
	})
}

func (s *DB) MoveCAs(ctx context.Context, accountID, instanceID string, moves []dbtrust.CAMove, e dbtrust.AuditEvent) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, m := range moves {
			// A conditional UPDATE: of two callers racing, the second finds
			// nothing in state From and fails, so no move happens twice.
			res, err := tx.ExecContext(ctx, `UPDATE cas SET state = $1 WHERE account_id = $2 AND instance_id = $3 AND state = $4`,
				string(m.To), accountID, instanceID, string(m.From))
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if n == 0 && !m.Optional {
				return dbtrust.Errorf(dbtrust.Conflict, "the instance has no %s CA", m.From)
			}
		}
		return s.insertAudit(ctx, tx, e)
	})
}

// ---- rotation policies ----

const policyCols = `instance_id, account_id, enabled, start_before_us, finish_after_us, retire_after_us, key_type, updated_at`

func scanPolicy(sc interface{ Scan(...any) error }) (dbtrust.RotationPolicy, error) {
	var p dbtrust.RotationPolicy
	var sb, fa, ra, updated int64
	err := sc.Scan(&p.InstanceID, &p.AccountID, &p.Enabled, &sb, &fa, &ra, &p.KeyType, &updated)
	p.StartBefore, p.FinishAfter, p.RetireAfter = time.Duration(sb)*time.Microsecond, time.Duration(fa)*time.Microsecond, time.Duration(ra)*time.Microsecond
	p.UpdatedAt = fromUS(updated)
	return p, err
}

func (s *DB) PutRotationPolicy(ctx context.Context, p dbtrust.RotationPolicy) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM instances WHERE id = $1 AND account_id = $2`, p.InstanceID, p.AccountID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return dbtrust.Errorf(dbtrust.NotFound, "no such instance")
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO rotation_policies (`+policyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (instance_id) DO UPDATE SET enabled = excluded.enabled, start_before_us = excluded.start_before_us,
			finish_after_us = excluded.finish_after_us, retire_after_us = excluded.retire_after_us, key_type = excluded.key_type,
			updated_at = excluded.updated_at`,
			p.InstanceID, p.AccountID, p.Enabled, p.StartBefore.Microseconds(), p.FinishAfter.Microseconds(), p.RetireAfter.Microseconds(),
			p.KeyType, us(p.UpdatedAt))
		return err
	})
}

func (s *DB) GetRotationPolicy(ctx context.Context, accountID, instanceID string) (dbtrust.RotationPolicy, error) {
	p, err := scanPolicy(s.db.QueryRowContext(ctx, `SELECT `+policyCols+` FROM rotation_policies WHERE account_id = $1 AND instance_id = $2`, accountID, instanceID))
	if errors.Is(err, sql.ErrNoRows) {
		return p, dbtrust.Errorf(dbtrust.NotFound, "the instance has no rotation policy")
	}
	return p, s.mapErr(err)
}

func (s *DB) ListRotationPolicies(ctx context.Context) ([]dbtrust.RotationPolicy, error) {
	return queryAll(ctx, s, scanPolicy, `SELECT `+policyCols+` FROM rotation_policies WHERE enabled = $1 ORDER BY instance_id`, true)
}

// DueRotationPolicies walks the current CAs that expire before now plus the
// longest StartBefore (cas_not_after), and the next and previous CAs (their
// partial unique indexes), for the policies that may have a step due.
func (s *DB) DueRotationPolicies(ctx context.Context, now time.Time) ([]dbtrust.RotationPolicy, error) {
	return queryAll(ctx, s, scanPolicy, `SELECT `+policyCols+` FROM rotation_policies WHERE enabled = $1 AND instance_id IN (
			SELECT instance_id FROM cas WHERE state = 'current'
				AND not_after <= $2 + (SELECT COALESCE(MAX(start_before_us), 0) FROM rotation_policies)
			UNION SELECT instance_id FROM cas WHERE state = 'next'
			UNION SELECT instance_id FROM cas WHERE state = 'previous')
		ORDER BY instance_id`, true, us(now))
}

// ---- expiries ----

func scanExpiry(sc interface{ Scan(...any) error }) (dbtrust.Expiry, error) {
	var e dbtrust.Expiry
	var na int64
	err := sc.Scan(&e.Kind, &e.AccountID, &e.InstanceID, &e.ID, &e.State, &na)
	e.NotAfter = fromUS(na)
	return e, err
}

// Expiries walks the not_after indexes of cas and issued_certs (migration
// 00015) from the soonest expiry on, so that it reads what it returns.
func (s *DB) Expiries(ctx context.Context, f dbtrust.ExpiryFilter) ([]dbtrust.Expiry, error) {
	before, limit := int64(math.MaxInt64), int64(math.MaxInt32)
	if !f.Before.IsZero() {
		before = us(f.Before)
	}
	if f.Limit > 0 {
		limit = int64(f.Limit)
	}
	return queryAll(ctx, s, scanExpiry, `
		SELECT * FROM (SELECT 'ca', account_id, instance_id, id, state, not_after FROM cas
			WHERE state <> 'retired' AND not_after < $2 ORDER BY not_after, id LIMIT $3) c
		UNION ALL
		SELECT * FROM (SELECT 'certificate', account_id, instance_id, serial, 'issued', not_after FROM issued_certs
			WHERE revoked_at IS NULL AND not_after > $1 AND not_after < $2 ORDER BY not_after, serial LIMIT $3) i`,
		us(f.CertsAfter), before, limit)
}

// ListRotatingCAs finds the instances in a rotation through the partial
// unique indexes on their next and previous CAs (cas_one_next,
// cas_one_previous), and reads their served CAs only.
func (s *DB) ListRotatingCAs(ctx context.Context) ([]dbtrust.CA, error) {
	return queryAll(ctx, s, scanCA, `SELECT `+caCols+` FROM cas WHERE state IN ('current', 'next', 'previous')
		AND instance_id IN (SELECT instance_id FROM cas WHERE state = 'next' UNION SELECT instance_id FROM cas WHERE state = 'previous')
		ORDER BY created_at, id`)
}
