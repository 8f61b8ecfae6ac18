package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/credential"
	"github.com/dbtrust/dbtrust/trustcert"
)

// ---- uploaded trust certificates (trustcert.Store) ----
//
// The tables keep the names they were first created with.

const certificateCols = `id, account_id, version, cert_use, cert_pem, cn, not_after, self_signed, trust_desired, labels, created_at, modified_at, created_by, modified_by, revision`

func scanLabels(text string, into *[]dbtrust.Label) error {
	if err := json.Unmarshal([]byte(text), into); err != nil {
		return fmt.Errorf("labels: %w", err)
	}
	if *into == nil {
		*into = []dbtrust.Label{}
	}
	return nil
}

func labelsText(l []dbtrust.Label) string {
	if l == nil {
		l = []dbtrust.Label{}
	}
	return jsonText(l)
}

func scanCertificate(sc interface{ Scan(...any) error }) (trustcert.Certificate, error) {
	var c trustcert.Certificate
	var certPEM, labels string
	var na, created, modified int64
	err := sc.Scan(&c.ID, &c.AccountID, &c.Version, &c.CertUse, &certPEM, &c.CN, &na, &c.SelfSigned, &c.TrustDesired,
		&labels, &created, &modified, &c.CreatedBy, &c.ModifiedBy, &c.Revision)
	if err != nil {
		return c, err
	}
	c.CertPEM, c.NotAfter, c.CreatedAt, c.ModifiedAt = []byte(certPEM), fromUS(na), fromUS(created), fromUS(modified)
	return c, scanLabels(labels, &c.Labels)
}

func (s *DB) CreateTrustCert(ctx context.Context, c trustcert.Certificate) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO astra_certificates (`+certificateCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
			c.ID, c.AccountID, c.Version, c.CertUse, string(c.CertPEM), c.CN, us(c.NotAfter), c.SelfSigned, c.TrustDesired,
			labelsText(c.Labels), us(c.CreatedAt), us(c.ModifiedAt), c.CreatedBy, c.ModifiedBy, c.Revision)
		return err
	})
}

func (s *DB) GetTrustCert(ctx context.Context, accountID, id string) (trustcert.Certificate, error) {
	c, err := scanCertificate(s.db.QueryRowContext(ctx, `SELECT `+certificateCols+` FROM astra_certificates WHERE account_id = $1 AND id = $2`, accountID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, dbtrust.Errorf(dbtrust.NotFound, "no such certificate")
	}
	return c, s.mapErr(err)
}

func (s *DB) ListTrustCerts(ctx context.Context, accountID string) ([]trustcert.Certificate, error) {
	return queryAll(ctx, s, scanCertificate, `SELECT `+certificateCols+` FROM astra_certificates WHERE account_id = $1 ORDER BY created_at, id`, accountID)
}

func (s *DB) UpdateTrustCert(ctx context.Context, c trustcert.Certificate, prevRevision int64) error {
	return s.conditionalUpdate(ctx, "astra_certificates", "no such certificate", c.AccountID, c.ID, prevRevision,
		`UPDATE astra_certificates SET version = $1, cert_use = $2, cert_pem = $3, cn = $4, not_after = $5, self_signed = $6,
			trust_desired = $7, labels = $8, modified_at = $9, modified_by = $10, revision = $11
			WHERE account_id = $12 AND id = $13 AND revision = $14`,
		c.Version, c.CertUse, string(c.CertPEM), c.CN, us(c.NotAfter), c.SelfSigned, c.TrustDesired, labelsText(c.Labels),
		us(c.ModifiedAt), c.ModifiedBy, c.Revision, c.AccountID, c.ID, prevRevision)
}

func (s *DB) DeleteTrustCert(ctx context.Context, accountID, id string) error {
	return s.execOne(ctx, "no such certificate", `DELETE FROM astra_certificates WHERE account_id = $1 AND id = $2`, accountID, id)
}

// conditionalUpdate runs an UPDATE guarded by "revision = prev" in a
// transaction; when it touches nothing it tells a missing record (NotFound)
// from a changed one (PreconditionFailed).
func (s *DB) conditionalUpdate(ctx context.Context, table, notFound, accountID, id string, prev int64, query string, args ...any) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 1 {
			return err
		}
		return s.updateMissed(ctx, tx, table, notFound, accountID, id, prev)
	})
}

// updateMissed tells why a guarded UPDATE touched nothing: a missing record
// (NotFound) or a changed one (PreconditionFailed).
func (s *DB) updateMissed(ctx context.Context, tx *sql.Tx, table, notFound, accountID, id string, prev int64) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM `+table+` WHERE account_id = $1 AND id = $2`, accountID, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return dbtrust.Errorf(dbtrust.NotFound, "%s", notFound)
	}
	if err != nil {
		return err
	}
	return dbtrust.Errorf(dbtrust.PreconditionFailed, "the record changed since revision %d", prev)
}

// ---- stored credentials (credential.Store) ----

const credentialListCols = `id, account_id, version, name, key_type, valid, valid_from, valid_until, unique_key, labels, created_at, modified_at, created_by, modified_by, revision`

func scanCredentialRow(sc interface{ Scan(...any) error }, sealed *[]byte) (credential.Credential, error) {
	var c credential.Credential
	var labels string
	var from, until sql.NullInt64
	var unique sql.NullString
	var created, modified int64
	dest := []any{&c.ID, &c.AccountID, &c.Version, &c.Name, &c.KeyType, &c.Valid, &from, &until, &unique, &labels,
		&created, &modified, &c.CreatedBy, &c.ModifiedBy, &c.Revision}
	if sealed != nil {
		dest = append(dest, sealed)
	}
	if err := sc.Scan(dest...); err != nil {
		return c, err
	}
	c.ValidFrom, c.ValidUntil, c.UniqueKey = fromNullUS(from), fromNullUS(until), unique.String
	c.CreatedAt, c.ModifiedAt = fromUS(created), fromUS(modified)
	return c, scanLabels(labels, &c.Labels)
}

func scanCredentialListed(sc interface{ Scan(...any) error }) (credential.Credential, error) {
	return scanCredentialRow(sc, nil)
}

// nullBytes binds nil as SQL NULL on every driver.
func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func (s *DB) CreateCredential(ctx context.Context, c credential.Credential) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO astra_credentials (`+credentialListCols+`, sealed_key_store)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
			c.ID, c.AccountID, c.Version, c.Name, c.KeyType, c.Valid, nullUS(c.ValidFrom), nullUS(c.ValidUntil),
			nullString(c.UniqueKey), labelsText(c.Labels), us(c.CreatedAt), us(c.ModifiedAt), c.CreatedBy, c.ModifiedBy,
			c.Revision, c.SealedKeyStore)
		if err != nil {
			return err
		}
		if err := s.changedCredentials(ctx, tx, c.AccountID); err != nil {
			return err
		}
		return countCredential(ctx, tx, c.AccountID, c.KeyType, 1)
	})
}

// changedCredentials gives the account's credentials a new version
// (CredentialsVersion), in the transaction that changes them.
func (s *DB) changedCredentials(ctx context.Context, tx *sql.Tx, accountID string) error {
	v := rand.Int64N(math.MaxInt64) + 1
	_, err := s.txExec(ctx, tx, `INSERT INTO astra_credential_changes (account_id, version) VALUES ($1, $2)
		ON CONFLICT (account_id) DO UPDATE SET version = $2`, accountID, v)
	return err
}

func (s *DB) CredentialsVersion(ctx context.Context, accountID string) (int64, error) {
	var v int64
	err := s.queryRow(ctx, `SELECT version FROM astra_credential_changes WHERE account_id = $1`, accountID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return v, s.mapErr(err)
}

// countCredential adds delta to the account's count of credentials of
// keyType (astra_credential_counts), in the transaction that changes them.
func countCredential(ctx context.Context, tx *sql.Tx, accountID, keyType string, delta int) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO astra_credential_counts (account_id, key_type, n) VALUES ($1, $2, $3)
		ON CONFLICT (account_id, key_type) DO UPDATE SET n = astra_credential_counts.n + $3`, accountID, keyType, delta)
	return err
}

func (s *DB) GetCredential(ctx context.Context, accountID, id string) (credential.Credential, error) {
	var sealed []byte
	c, err := scanCredentialRow(s.db.QueryRowContext(ctx, `SELECT `+credentialListCols+`, sealed_key_store
		FROM astra_credentials WHERE account_id = $1 AND id = $2`, accountID, id), &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return c, dbtrust.Errorf(dbtrust.NotFound, "no such credential")
	}
	c.SealedKeyStore = sealed
	return c, s.mapErr(err)
}

func (s *DB) ListCredentials(ctx context.Context, accountID string) ([]credential.Credential, error) {
	return queryAll(ctx, s, scanCredentialListed, `SELECT `+credentialListCols+` FROM astra_credentials WHERE account_id = $1 ORDER BY created_at, id`, accountID)
}

func (s *DB) ListCredentialKeysAfter(ctx context.Context, accountID string, where []credential.Cond, afterCreated time.Time, afterID string, limit int) ([]credential.Key, error) {
	args := []any{accountID}
	q := `SELECT id, created_at, revision FROM astra_credentials WHERE account_id = $1`
	if afterID != "" {
		args = append(args, us(afterCreated), afterID)
		q += ` AND (created_at > $2 OR (created_at = $2 AND id > $3))`
	}
	cond, args := s.credentialWhere(where, args)
	args = append(args, limit)
	q += cond + ` ORDER BY created_at, id LIMIT $` + strconv.Itoa(len(args))
	// The page's keys come back as one text ("id,created,revision;..."):
	// SQLite's driver costs more per row handed over than the rest of the
	// query, and a page is a hundred rows.
	q = `SELECT COALESCE(string_agg(id || ',' || created_at || ',' || revision, ';' ORDER BY created_at, id), '') FROM (` + q + `) page`
	var text string
	if err := s.queryRowFew(ctx, len(where) <= 1, q, args...).Scan(&text); err != nil {
		return nil, s.mapErr(err)
	}
	return parseCredentialKeys(text)
}

// parseCredentialKeys reads the keys ListCredentialKeysAfter aggregates.
func parseCredentialKeys(text string) ([]credential.Key, error) {
	out := []credential.Key{}
	for row := range strings.SplitSeq(text, ";") {
		if row == "" {
			continue
		}
		id, rest, _ := strings.Cut(row, ",")
		created, rev, _ := strings.Cut(rest, ",")
		c, err1 := strconv.ParseInt(created, 10, 64)
		r, err2 := strconv.ParseInt(rev, 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("credential keys: %w", err)
		}
		out = append(out, credential.Key{ID: id, CreatedAt: fromUS(c), Revision: r})
	}
	return out, nil
}

// queryRowFew runs a one-row query, through its prepared statement when
// few is true: with at most one condition a list's query texts are few (a
// field and an operator each), and may be kept prepared as the hot queries
// are.
func (s *DB) queryRowFew(ctx context.Context, few bool, query string, args ...any) *sql.Row {
	if few {
		return s.queryRow(ctx, query, args...)
	}
	return s.db.QueryRowContext(ctx, query, args...)
}

func (s *DB) GetCredentials(ctx context.Context, accountID string, ids []string) ([]credential.Credential, error) {
	if len(ids) == 0 {
		return []credential.Credential{}, nil
	}
	args := make([]any, 0, len(ids)+1)
	args = append(args, accountID)
	marks := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		marks[i] = "$" + strconv.Itoa(i+2)
	}
	return queryAll(ctx, s, scanCredentialListed, `SELECT `+credentialListCols+` FROM astra_credentials
		WHERE account_id = $1 AND id IN (`+strings.Join(marks, ", ")+`) ORDER BY created_at, id`, args...)
}

func (s *DB) CountCredentials(ctx context.Context, accountID string, where []credential.Cond) (int, error) {
	var n int
	var err error
	switch {
	case len(where) == 0:
		err = s.queryRow(ctx, `SELECT COALESCE(SUM(n), 0) FROM astra_credential_counts WHERE account_id = $1`, accountID).Scan(&n)
	case len(where) == 1 && where[0].Field == credential.FieldKeyType && where[0].Op == "eq" && where[0].Value != "":
		err = s.queryRow(ctx, `SELECT n FROM astra_credential_counts WHERE account_id = $1 AND key_type = $2`, accountID, where[0].Value).Scan(&n)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil
		}
	default:
		cond, args := s.credentialWhere(where, []any{accountID})
		err = s.queryRowFew(ctx, len(where) <= 1, `SELECT COUNT(*) FROM astra_credentials WHERE account_id = $1`+cond, args...).Scan(&n)
	}
	return n, s.mapErr(err)
}

// credentialCondCols is the SQL text of each field a credential.Cond may
// name, and whether an empty text is no text (the field then has none).
var credentialCondCols = map[credential.Field]struct {
	expr      string
	emptyNone bool
}{
	credential.FieldID: {"id", false}, credential.FieldName: {"name", false}, credential.FieldVersion: {"version", false},
	credential.FieldKeyType: {"key_type", true}, credential.FieldCreatedBy: {"created_by", false},
	credential.FieldModifiedBy: {"modified_by", true},
	credential.FieldValid:      {"(CASE WHEN valid THEN 'true' ELSE 'false' END)", false},
}

var sqlCompare = map[string]string{"eq": "=", "lt": "<", "gt": ">", "lte": "<=", "gte": ">="}

// credentialWhere is where as SQL (" AND ..." terms) with its values
// appended to args. Text compares byte by byte on both engines, as
// credential.Cond.Holds does: SQLite's default collation does; PostgreSQL's
// order depends on the database's, so ranges say COLLATE "C" (equality is
// bytewise under any deterministic collation, and may so use the indexes).
// The caller checked where (credential.CheckConds).
func (s *DB) credentialWhere(where []credential.Cond, args []any) (string, []any) {
	var b strings.Builder
	for _, k := range where {
		col := credentialCondCols[k.Field]
		args = append(args, k.Value)
		ph := "$" + strconv.Itoa(len(args))
		b.WriteString(" AND ")
		if col.emptyNone {
			b.WriteString(col.expr + " <> '' AND ")
		}
		switch {
		case k.Op == "in" && s.be.Name == "postgres":
			b.WriteString("strpos(" + col.expr + ", " + ph + ") > 0")
		case k.Op == "in":
			b.WriteString("instr(" + col.expr + ", " + ph + ") > 0")
		case k.Op != "eq" && s.be.Name == "postgres":
			b.WriteString(col.expr + ` COLLATE "C" ` + sqlCompare[k.Op] + " " + ph)
		default:
			b.WriteString(col.expr + " " + sqlCompare[k.Op] + " " + ph)
		}
	}
	return b.String(), args
}

func (s *DB) UpdateCredential(ctx context.Context, c credential.Credential, prevRevision int64) error {
	// A nil SealedKeyStore keeps the stored one. The key type read first
	// moves the counts only if this update is the one that succeeds.
	return s.tx(ctx, func(tx *sql.Tx) error {
		var was string
		err := tx.QueryRowContext(ctx, `SELECT key_type FROM astra_credentials WHERE account_id = $1 AND id = $2`, c.AccountID, c.ID).Scan(&was)
		if errors.Is(err, sql.ErrNoRows) {
			return dbtrust.Errorf(dbtrust.NotFound, "no such credential")
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE astra_credentials SET version = $1, name = $2, key_type = $3, valid = $4, valid_from = $5,
			valid_until = $6, sealed_key_store = COALESCE($7, sealed_key_store), unique_key = $8, labels = $9, modified_at = $10,
			modified_by = $11, revision = $12
			WHERE account_id = $13 AND id = $14 AND revision = $15`,
			c.Version, c.Name, c.KeyType, c.Valid, nullUS(c.ValidFrom), nullUS(c.ValidUntil), nullBytes(c.SealedKeyStore),
			nullString(c.UniqueKey), labelsText(c.Labels), us(c.ModifiedAt), c.ModifiedBy, c.Revision, c.AccountID, c.ID, prevRevision)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			if err == nil {
				err = s.updateMissed(ctx, tx, "astra_credentials", "no such credential", c.AccountID, c.ID, prevRevision)
			}
			return err
		}
		if err := s.changedCredentials(ctx, tx, c.AccountID); err != nil {
			return err
		}
		if was == c.KeyType {
			return nil
		}
		if err := countCredential(ctx, tx, c.AccountID, was, -1); err != nil {
			return err
		}
		return countCredential(ctx, tx, c.AccountID, c.KeyType, 1)
	})
}

func (s *DB) DeleteCredential(ctx context.Context, accountID, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var keyType string
		err := tx.QueryRowContext(ctx, `DELETE FROM astra_credentials WHERE account_id = $1 AND id = $2 RETURNING key_type`, accountID, id).Scan(&keyType)
		if errors.Is(err, sql.ErrNoRows) {
			return dbtrust.Errorf(dbtrust.NotFound, "no such credential")
		}
		if err != nil {
			return err
		}
		if err := s.changedCredentials(ctx, tx, accountID); err != nil {
			return err
		}
		return countCredential(ctx, tx, accountID, keyType, -1)
	})
}
