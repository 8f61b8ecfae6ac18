// Package postgres is dbtrust's shared store: PostgreSQL through pgx (a
// pgxpool, used through pgx's database/sql adapter by the shared SQL store),
// with the migrations below embedded and applied by goose. Any number of
// dbtrust replicas may share one database.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	neturl "net/url"
	"strings"
	"syscall"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/sqlstore"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Backend describes PostgreSQL to the shared SQL store.
func Backend() sqlstore.Backend {
	sub, _ := fs.Sub(migrations, "migrations")
	return sqlstore.Backend{
		Name: "postgres", Dialect: goose.DialectPostgres, Migrations: sub, MapError: mapError, Retryable: retryable,
		MigrateOptions: func() ([]goose.ProviderOption, error) {
			// Replicas that start together take turns: the first migrates,
			// the others wait for its advisory lock and find nothing to do.
			l, err := lock.NewPostgresSessionLocker()
			if err != nil {
				return nil, err
			}
			return []goose.ProviderOption{goose.WithSessionLocker(l)}, nil
		},
		Schema:     schema,
		SnapshotTx: &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
		SkipLocked: " FOR UPDATE SKIP LOCKED",
		Pipeline:   pipeline,
	}
}

// Store is the PostgreSQL store: the shared SQL store plus the pool under it.
type Store struct {
	*sqlstore.DB
	Pool *pgxpool.Pool
}

// Defaults for what the URL does not set. A replica must notice an outage
// quickly: a connection attempt to a server that does not answer gives up
// after ConnectTimeout, and a pooled connection that has sat idle is pinged
// (for at most PingTimeout) before it is handed out again.
const (
	ConnectTimeout = 3 * time.Second // libpq's connect_timeout overrides it
	PingTimeout    = 2 * time.Second
	MaxConns       = 16 // pool_max_conns overrides it
)

// Open connects to the database at url and applies pending migrations.
func Open(ctx context.Context, url string) (*Store, error) {
	s, err := OpenNoMigrate(ctx, url)
	if err != nil {
		return nil, err
	}
	if _, err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	return s, nil
}

// OpenNoMigrate connects to the database at url without touching its schema.
// The pool connects lazily: it succeeds while the server is down, and every
// call then fails fast with Code Unavailable until the server is back.
func OpenNoMigrate(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, dbtrust.Wrap(dbtrust.Invalid, err, "postgres: bad URL")
	}
	q := queryKeys(url)
	if !q["connect_timeout"] {
		cfg.ConnConfig.ConnectTimeout = ConnectTimeout
	}
	if !q["pool_max_conns"] {
		cfg.MaxConns = MaxConns
	}
	if cfg.PingTimeout == 0 {
		cfg.PingTimeout = PingTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	db.SetMaxOpenConns(int(cfg.MaxConns)) // wait for a pooled connection in database/sql, where ctx bounds the wait
	return &Store{DB: sqlstore.New(db, Backend()), Pool: pool}, nil
}

// queryKeys returns which parameters a URL or keyword/value connection string sets.
func queryKeys(conn string) map[string]bool {
	keys := map[string]bool{}
	if u, err := neturl.Parse(conn); err == nil && u.Scheme != "" {
		for k := range u.Query() {
			keys[k] = true
		}
		return keys
	}
	for _, f := range strings.Fields(conn) {
		if k, _, ok := strings.Cut(f, "="); ok {
			keys[k] = true
		}
	}
	return keys
}

// Close closes the database handle and the pool.
func (s *Store) Close() error {
	err := s.DB.Close()
	s.Pool.Close()
	return err
}

// mapError turns PostgreSQL SQLSTATEs into dbtrust Codes; it never looks at
// message text.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return dbtrust.Wrap(dbtrust.Conflict, err, "already exists")
		case "23503": // foreign_key_violation
			return dbtrust.Wrap(dbtrust.NotFound, err, "a referenced record does not exist")
		case "23514", "23502", "22001", "22P02": // check, not null, too long, bad text
			return dbtrust.Wrap(dbtrust.Invalid, err, "the record breaks a constraint")
		case "40001", "40P01": // serialization failure, deadlock
			return dbtrust.Wrap(dbtrust.Unavailable, err, "the database is busy; try again")
		}
		switch pe.Code[:2] {
		case "08", "53", "57": // connection exception, insufficient resources, operator intervention
			return dbtrust.Wrap(dbtrust.Unavailable, err, "the database is unavailable")
		}
		return dbtrust.Wrap(dbtrust.Internal, err, "database error")
	}
	if unreachable(err) {
		return dbtrust.Wrap(dbtrust.Unavailable, err, "the database is unavailable")
	}
	return dbtrust.Wrap(dbtrust.Internal, err, "database error")
}

// unreachable reports whether err says that the server could not be reached
// or the connection to it broke, as opposed to the server refusing a
// statement: refused, reset or timed-out connections, a pool that could not
// hand out a connection in time, a closed connection or pool.
func unreachable(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne),
		pgconn.SafeToRetry(err), pgconn.Timeout(err),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, pgconn.ErrConnClosed),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	}
	return false
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}
