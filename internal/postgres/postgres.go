// Package postgres is dbtrust's shared store: PostgreSQL through pgx (a
// pgxpool, used through pgx's database/sql adapter by the shared SQL store),
// with the migrations below embedded and applied by goose. Any number of
// dbtrust replicas may share one database.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/sqlstore"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Backend describes PostgreSQL to the shared SQL store.
func Backend() sqlstore.Backend {
	sub, _ := fs.Sub(migrations, "migrations")
	return sqlstore.Backend{Name: "postgres", Dialect: goose.DialectPostgres, Migrations: sub, MapError: mapError, Retryable: retryable}
}

// Store is the PostgreSQL store: the shared SQL store plus the pool under it.
type Store struct {
	*sqlstore.DB
	Pool *pgxpool.Pool
}

// Open connects to the database at url and applies pending migrations.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: bad URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{DB: sqlstore.New(stdlib.OpenDBFromPool(pool), Backend()), Pool: pool}
	if _, err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	return s, nil
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
	if pgconn.SafeToRetry(err) || pgconn.Timeout(err) || isConnErr(err) {
		return dbtrust.Wrap(dbtrust.Unavailable, err, "the database is unavailable")
	}
	return dbtrust.Wrap(dbtrust.Internal, err, "database error")
}

func isConnErr(err error) bool {
	var ce *pgconn.ConnectError
	return errors.As(err, &ce)
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}
