// Package sqlstore implements dbtrust.Store, trustcert.Store,
// credential.Store and accesskey.Store over database/sql. The same SQL
// serves SQLite (internal/sqlite) and PostgreSQL (internal/postgres): both bind
// $1, $2, ... placeholders, times are stored as Unix microseconds (BIGINT), and
// each backend brings its own DDL migrations and its own driver-error mapping.
package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/accesskey"
	"github.com/dbtrust/dbtrust/credential"
	"github.com/dbtrust/dbtrust/trustcert"
	"github.com/pressly/goose/v3"
)

// Backend is what differs between database engines.
type Backend struct {
	Name       string            // "sqlite" or "postgres", for messages
	Dialect    goose.Dialect     // migrations dialect
	Migrations fs.FS             // the *.sql migrations, at the root of the FS
	MapError   func(error) error // driver error -> *dbtrust.Error; nil stays nil
	Retryable  func(error) bool  // whether a failed transaction may be retried whole
	// MigrateOptions, when set, adds goose options to every migration run
	// (PostgreSQL: a session lock, so that replicas starting together
	// migrate one at a time).
	MigrateOptions func() ([]goose.ProviderOption, error)
	// Schema, when set, describes the tables for Copy.
	Schema func(ctx context.Context, q Querier) ([]Table, error)
	// Compact, when set, drops old copies of changed rows from the
	// database's files (kek.Store's Compact).
	Compact func(ctx context.Context, db *sql.DB) error
	// SnapshotTx are the options of a transaction that reads a consistent
	// snapshot (Copy's source); nil for the default.
	SnapshotTx *sql.TxOptions
	// SkipLocked ends a SELECT of rows to lease, so that concurrent claims
	// pass over rows another transaction holds (PostgreSQL: FOR UPDATE SKIP
	// LOCKED); "" where writes are serialized anyway (SQLite).
	SkipLocked string
	// Pipeline, when set, sends several statements in one round trip; the
	// group commit uses it (pipeline.go).
	Pipeline Pipeline
	// Checkpoint, when set, moves the write-ahead log into the database and
	// has the next writer start the log over; bulk writes call it after each
	// batch (SQLite: back-to-back import batches never leave the log idle
	// for its automatic checkpoint to restart it, and a log grown to
	// gigabytes makes every page read search it).
	Checkpoint func(ctx context.Context, db *sql.DB) error
}

// DB is a dbtrust.Store over a *sql.DB.
type DB struct {
	db *sql.DB
	be Backend
	// stmts holds the prepared statements of the hot queries (prepared.go).
	stmts  sync.Map
	wanted sync.Map // queries a transaction ran unprepared, to prepare after it
	// gc queues issued certificates for group commit (groupcommit.go); its
	// goroutine starts with the first one.
	gc             *committer
	startCommitter sync.Once
}

var (
	_ dbtrust.Store    = (*DB)(nil)
	_ trustcert.Store  = (*DB)(nil)
	_ credential.Store = (*DB)(nil)
	_ accesskey.Store  = (*DB)(nil)
)

// New wraps db. It does not migrate; call Migrate.
func New(db *sql.DB, be Backend) *DB { return &DB{db: db, be: be, gc: newCommitter()} }

// SQL returns the underlying *sql.DB.
func (s *DB) SQL() *sql.DB { return s.db }

func (s *DB) provider() (*goose.Provider, error) {
	var opts []goose.ProviderOption
	if s.be.MigrateOptions != nil {
		o, err := s.be.MigrateOptions()
		if err != nil {
			return nil, err
		}
		opts = o
	}
	return goose.NewProvider(s.be.Dialect, s.db, s.be.Migrations, opts...)
}

// SchemaVersion returns the newest migration applied to the database and the
// newest one this program knows.
func (s *DB) SchemaVersion(ctx context.Context) (applied, known int64, err error) {
	p, err := s.provider()
	if err != nil {
		return 0, 0, err
	}
	if srcs := p.ListSources(); len(srcs) > 0 {
		known = srcs[len(srcs)-1].Version
	}
	applied, err = p.GetDBVersion(ctx)
	if err != nil {
		return 0, known, s.mapErr(err)
	}
	return applied, known, nil
}

// Migrate applies every pending migration and returns the versions applied.
func (s *DB) Migrate(ctx context.Context) ([]int64, error) {
	p, err := s.provider()
	if err != nil {
		return nil, err
	}
	res, err := p.Up(ctx)
	var applied []int64
	for _, r := range res {
		applied = append(applied, r.Source.Version)
	}
	if err != nil {
		return applied, s.be.MapError(err)
	}
	return applied, nil
}

// closeWait bounds how long Close waits for connections still in use.
const closeWait = 5 * time.Second

// Close closes the database and returns once every connection is closed.
// database/sql closes some in goroutines of its own (the connection of a
// transaction whose context ended, one opened while closing); SQLite's last
// connection checkpoints and removes the -wal and -shm files as it closes,
// and a caller must find nothing still writing to the data folder after
// Close. A connection still in use after closeWait is reported.
func (s *DB) Close() error {
	s.stopCommitter()
	s.closeStmts()
	err := s.db.Close()
	deadline := time.Now().Add(closeWait)
	for n := s.db.Stats().OpenConnections; n > 0; n = s.db.Stats().OpenConnections {
		if time.Now().After(deadline) {
			return errors.Join(err, fmt.Errorf("%d database connections were still in use %s after closing the store", n, closeWait))
		}
		time.Sleep(time.Millisecond)
	}
	return err
}

// Ping reports whether the database answers.
func (s *DB) Ping(ctx context.Context) error { return s.mapErr(s.db.PingContext(ctx)) }

func (s *DB) mapErr(err error) error {
	if err == nil {
		return nil
	}
	var de *dbtrust.Error
	if errors.As(err, &de) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return dbtrust.Wrap(dbtrust.Unavailable, err, "the request was cancelled or timed out")
	}
	return s.be.MapError(err)
}

// tx runs fn in one transaction, retrying the whole of it when the backend
// says the failure was transient (a serialization failure, say).
func (s *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	defer s.prepareWanted(ctx)
	for attempt := 0; ; attempt++ {
		err := s.tx1(ctx, fn)
		if err != nil && attempt < 5 && s.be.Retryable != nil && s.be.Retryable(err) {
			select {
			case <-ctx.Done():
				return s.mapErr(ctx.Err())
			case <-time.After(time.Duration(1<<attempt) * 5 * time.Millisecond):
			}
			continue
		}
		return s.mapErr(err)
	}
}

func (s *DB) tx1(ctx context.Context, fn func(*sql.Tx) error) error {
	t, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(t); err != nil {
		t.Rollback()
		return err
	}
	// The change and its audit event commit together (dbtrust.WithAudit).
	if e, ok := dbtrust.PendingAudit(ctx); ok {
		if err := s.insertAudit(ctx, t, e); err != nil {
			t.Rollback()
			return err
		}
		dbtrust.MarkAuditRecorded(ctx)
	}
	return t.Commit()
}

// execOne runs one statement in a transaction (with the audit event of ctx,
// if any) and expects it to touch exactly one row; none is NotFound with
// message notFound.
func (s *DB) execOne(ctx context.Context, notFound string, query string, args ...any) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return dbtrust.Errorf(dbtrust.NotFound, "%s", notFound)
		}
		return nil
	})
}

func us(t time.Time) int64 { return t.UnixMicro() }

func fromUS(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullUS(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

func fromNullUS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromUS(v.Int64)
	return &t
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("sqlstore: marshal %T: %v", v, err))
	}
	return string(b)
}

// ---- accounts ----

const accountCols = `id, name, project_id, created_at`

func scanAccount(sc interface{ Scan(...any) error }) (dbtrust.Account, error) {
	var a dbtrust.Account
	var created int64
	err := sc.Scan(&a.ID, &a.Name, &a.ProjectID, &created)
	a.CreatedAt = fromUS(created)
	return a, err
}

func (s *DB) CreateAccount(ctx context.Context, a dbtrust.Account, first dbtrust.Token) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO accounts (`+accountCols+`) VALUES ($1, $2, $3, $4)`,
			a.ID, a.Name, a.ProjectID, us(a.CreatedAt)); err != nil {
			return err
		}
		return insertToken(ctx, tx, first)
	})
}

func (s *DB) GetAccount(ctx context.Context, id string) (dbtrust.Account, error) {
	a, err := scanAccount(s.db.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, dbtrust.Errorf(dbtrust.NotFound, "no such account")
	}
	return a, s.mapErr(err)
}

func (s *DB) GetAccountByProject(ctx context.Context, projectID string) (dbtrust.Account, error) {
	a, err := scanAccount(s.db.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE project_id = $1`, projectID))
	if errors.Is(err, sql.ErrNoRows) {
		return a, dbtrust.Errorf(dbtrust.NotFound, "no such project")
	}
	return a, s.mapErr(err)
}

func (s *DB) ListAccounts(ctx context.Context) ([]dbtrust.Account, error) {
	return queryAll(ctx, s, scanAccount, `SELECT `+accountCols+` FROM accounts ORDER BY created_at, id`)
}

// queryAll runs a query through its prepared statement (prepared.go) and
// scans every row with scan.
func queryAll[T any](ctx context.Context, s *DB, scan func(interface{ Scan(...any) error }) (T, error), query string, args ...any) ([]T, error) {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, s.mapErr(err)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, s.mapErr(err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, s.mapErr(err)
		}
		out = append(out, v)
	}
	return out, s.mapErr(rows.Err())
}

// ---- tokens ----

const tokenCols = `id, account_id, name, role, secret_hash, created_at, revoked_at, instance_id`

func scanToken(sc interface{ Scan(...any) error }) (dbtrust.Token, error) {
	var t dbtrust.Token
	var created int64
	var revoked sql.NullInt64
	var role string
	var inst sql.NullString
	err := sc.Scan(&t.ID, &t.AccountID, &t.Name, &role, &t.SecretHash, &created, &revoked, &inst)
	t.Role, t.CreatedAt, t.RevokedAt, t.InstanceID = dbtrust.Role(role), fromUS(created), fromNullUS(revoked), inst.String
	return t, err
}

func insertToken(ctx context.Context, tx *sql.Tx, t dbtrust.Token) error {
	inst := sql.NullString{String: t.InstanceID, Valid: t.InstanceID != ""}
	_, err := tx.ExecContext(ctx, `INSERT INTO tokens (`+tokenCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		t.ID, t.AccountID, t.Name, string(t.Role), t.SecretHash, us(t.CreatedAt), nullUS(t.RevokedAt), inst)
	return err
}

func (s *DB) CreateToken(ctx context.Context, t dbtrust.Token) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return insertToken(ctx, tx, t) })
}

func (s *DB) GetToken(ctx context.Context, id string) (dbtrust.Token, error) {
	t, err := scanToken(s.queryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, dbtrust.Errorf(dbtrust.NotFound, "no such token")
	}
	return t, s.mapErr(err)
}

func (s *DB) ListTokens(ctx context.Context, accountID string) ([]dbtrust.Token, error) {
	return queryAll(ctx, s, scanToken, `SELECT `+tokenCols+` FROM tokens WHERE account_id = $1 ORDER BY created_at, id`, accountID)
}

func (s *DB) RevokeToken(ctx context.Context, accountID, id string, at time.Time) error {
	return s.execOne(ctx, "no such token",
		`UPDATE tokens SET revoked_at = $1 WHERE account_id = $2 AND id = $3 AND revoked_at IS NULL`, us(at), accountID, id)
}

// ---- instances ----

const instanceCols = `id, account_id, name, engine, version, region, size, num_nodes, tls, status, tags, created_at, endpoints`

// endpointRow is how an endpoint is kept in the instances.endpoints JSON array.
type endpointRow struct {
	Host string `json:"host"`
	Port int    `json:"port"`
	Role string `json:"role,omitempty"`
}

func endpointsJSON(eps []dbtrust.Endpoint) string {
	rows := make([]endpointRow, 0, len(eps))
	for _, e := range eps {
		rows = append(rows, endpointRow(e))
	}
	return jsonText(rows)
}

func scanInstance(sc interface{ Scan(...any) error }) (dbtrust.Instance, error) {
	var i dbtrust.Instance
	var engine, tags, eps string
	var created int64
	err := sc.Scan(&i.ID, &i.AccountID, &i.Name, &engine, &i.Version, &i.Region, &i.Size, &i.NumNodes, &i.TLS, &i.Status, &tags, &created, &eps)
	if err != nil {
		return i, err
	}
	i.Engine, i.CreatedAt = dbtrust.Engine(engine), fromUS(created)
	if err := json.Unmarshal([]byte(tags), &i.Tags); err != nil {
		return i, fmt.Errorf("instance %s: tags: %w", i.ID, err)
	}
	var rows []endpointRow
	if err := json.Unmarshal([]byte(eps), &rows); err != nil {
		return i, fmt.Errorf("instance %s: endpoints: %w", i.ID, err)
	}
	for _, r := range rows {
		i.Endpoints = append(i.Endpoints, dbtrust.Endpoint(r))
	}
	return i, nil
}

func (s *DB) CreateInstance(ctx context.Context, i dbtrust.Instance, ca dbtrust.CA) error {
	if i.Tags == nil {
		i.Tags = []string{}
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO instances (`+instanceCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			i.ID, i.AccountID, i.Name, string(i.Engine), i.Version, i.Region, i.Size, i.NumNodes, i.TLS, i.Status,
			jsonText(i.Tags), us(i.CreatedAt), endpointsJSON(i.Endpoints)); err != nil {
			return err
		}
		return InsertCA(ctx, tx, ca)
	})
}

func (s *DB) GetInstance(ctx context.Context, accountID, id string) (dbtrust.Instance, error) {
	i, err := scanInstance(s.queryRow(ctx, `SELECT `+instanceCols+` FROM instances WHERE account_id = $1 AND id = $2`, accountID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return i, dbtrust.Errorf(dbtrust.NotFound, "no such instance")
	}
	return i, s.mapErr(err)
}

func (s *DB) ListInstances(ctx context.Context, accountID, tag string) ([]dbtrust.Instance, error) {
	all, err := queryAll(ctx, s, scanInstance, `SELECT `+instanceCols+` FROM instances WHERE account_id = $1 ORDER BY created_at, id`, accountID)
	if err != nil || tag == "" {
		return all, err
	}
	out := []dbtrust.Instance{}
	for _, i := range all {
		for _, t := range i.Tags {
			if t == tag {
				out = append(out, i)
				break
			}
		}
	}
	return out, nil
}

func (s *DB) DeleteInstance(ctx context.Context, accountID, id string) error {
	// Rows that hang off the instance go with it (ON DELETE CASCADE).
	return s.execOne(ctx, "no such instance", `DELETE FROM instances WHERE account_id = $1 AND id = $2`, accountID, id)
}

func (s *DB) UpdateInstanceEndpoints(ctx context.Context, accountID, id string, eps []dbtrust.Endpoint) error {
	return s.execOne(ctx, "no such instance", `UPDATE instances SET endpoints = $1 WHERE account_id = $2 AND id = $3`, endpointsJSON(eps), accountID, id)
}

func (s *DB) UpdateInstanceTLS(ctx context.Context, accountID, id string, tls bool) error {
	return s.execOne(ctx, "no such instance", `UPDATE instances SET tls = $1 WHERE account_id = $2 AND id = $3`, tls, accountID, id)
}

// ---- CAs ----

const caCols = `id, instance_id, account_id, state, key_type, cert_pem, sealed_key, serial, fingerprint, not_before, not_after, created_at`

func scanCA(sc interface{ Scan(...any) error }) (dbtrust.CA, error) {
	var c dbtrust.CA
	var state, certPEM string
	var nb, na, created int64
	err := sc.Scan(&c.ID, &c.InstanceID, &c.AccountID, &state, &c.KeyType, &certPEM, &c.SealedKey, &c.Serial, &c.Fingerprint, &nb, &na, &created)
	c.State, c.CertPEM = dbtrust.CAState(state), []byte(certPEM)
	c.NotBefore, c.NotAfter, c.CreatedAt = fromUS(nb), fromUS(na), fromUS(created)
	return c, err
}

// InsertCA inserts one CA row inside tx.
func InsertCA(ctx context.Context, tx *sql.Tx, c dbtrust.CA) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO cas (`+caCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		c.ID, c.InstanceID, c.AccountID, string(c.State), c.KeyType, string(c.CertPEM), c.SealedKey, c.Serial, c.Fingerprint,
		us(c.NotBefore), us(c.NotAfter), us(c.CreatedAt))
	return err
}

// ListCAs returns an instance's CAs, oldest first. It is the read cache's
// miss path, one point query on the cas_instance index: the few rows are
// sorted here rather than by the database, which would build a temporary
// B-tree for them.
func (s *DB) ListCAs(ctx context.Context, accountID, instanceID string) ([]dbtrust.CA, error) {
	cas, err := queryAll(ctx, s, scanCA, `SELECT `+caCols+` FROM cas WHERE account_id = $1 AND instance_id = $2`, accountID, instanceID)
	slices.SortFunc(cas, func(a, b dbtrust.CA) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	return cas, err
}

// ListServedCAs returns the account's CAs that bundles serve, oldest first.
func (s *DB) ListServedCAs(ctx context.Context, accountID string) ([]dbtrust.CA, error) {
	return queryAll(ctx, s, scanCA, `SELECT `+caCols+` FROM cas WHERE account_id = $1 AND state IN ('current', 'next', 'previous')
		ORDER BY created_at, id`, accountID)
}
