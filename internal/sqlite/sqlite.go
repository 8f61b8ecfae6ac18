// Package sqlite is dbtrust's embedded store: one SQLite file in WAL mode,
// through the pure-Go modernc.org/sqlite driver, with the migrations below
// embedded and applied by goose.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/datadir"
	"github.com/dbtrust/dbtrust/internal/sqlstore"
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Backend describes SQLite to the shared SQL store.
func Backend() sqlstore.Backend {
	sub, _ := fs.Sub(migrations, "migrations")
	return sqlstore.Backend{Name: "sqlite", Dialect: goose.DialectSQLite3, Migrations: sub, MapError: mapError, Schema: schema, Compact: compact,
		Checkpoint: checkpoint}
}

// Store is the SQLite store: the shared SQL store plus change watching.
type Store struct {
	*sqlstore.DB
}

// Open opens (creating if needed) the SQLite database at path and applies
// pending migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	s, err := OpenNoMigrate(ctx, path)
	if err != nil {
		return nil, err
	}
	if _, err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite %s: migrate: %w", path, err)
	}
	return s, nil
}

// OpenNoMigrate opens (creating if needed) the SQLite database at path
// without touching its schema. The file and its -wal and -shm companions
// are mode 0600, whatever the folder's mode or the process's umask.
func OpenNoMigrate(ctx context.Context, path string) (*Store, error) {
	if err := privateFiles(path); err != nil {
		return nil, err
	}
	q := url.Values{}
	// synchronous=FULL: in WAL mode every commit syncs the WAL before it
	// returns, so what was answered survives a power loss, not only a crash
	// of the process (NORMAL). Concurrent issuances share one commit (group
	// commit), hence one sync.
	// journal_size_limit: a burst of writes (a fleet imported in big
	// transactions) grows the WAL to hundreds of MB, which SQLite otherwise
	// keeps on disk for good once checkpointed; it is cut back to 64 MB.
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(FULL)", "journal_size_limit(67108864)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate") // writers queue on busy_timeout instead of failing on upgrade
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	return &Store{DB: sqlstore.New(db, Backend())}, nil
}

// privateFiles makes the database file 0600 (creating it empty if needed)
// before SQLite opens it, SQLite giving its -wal and -shm files the database
// file's mode; companions left by an older version are set to 0600 too.
func privateFiles(path string) error {
	if path == ":memory:" {
		return nil
	}
	if err := datadir.PrivateFile(path); err != nil {
		return err
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Chmod(path+suffix, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("make %s private (mode 0600): %w", path+suffix, err)
		}
	}
	return nil
}

// mapError turns SQLite result codes into dbtrust Codes; it never looks at
// message text.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return dbtrust.Wrap(dbtrust.NotFound, err, "not found")
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return dbtrust.Wrap(dbtrust.Conflict, err, "already exists")
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return dbtrust.Wrap(dbtrust.NotFound, err, "a referenced record does not exist")
		}
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR:
			return dbtrust.Wrap(dbtrust.Unavailable, err, "the database is unavailable")
		case sqlite3.SQLITE_CONSTRAINT:
			return dbtrust.Wrap(dbtrust.Invalid, err, "the record breaks a constraint")
		}
	}
	return dbtrust.Wrap(dbtrust.Internal, err, "database error")
}

// BackupTo writes a consistent snapshot of the database to a new file at
// path (mode 0600) with VACUUM INTO: a read transaction, so writers carry on
// meanwhile. path must not exist, or be empty.
func (s *Store) BackupTo(ctx context.Context, path string) error {
	if err := datadir.PrivateFile(path); err != nil {
		return err
	}
	if _, err := s.SQL().ExecContext(ctx, `VACUUM INTO $1`, path); err != nil {
		return mapError(err)
	}
	return nil
}

// checkpoint copies the whole WAL into the database, waiting (up to the
// busy timeout) for the writer and readers in its way, so that the next
// transaction writes the log from its start instead of growing it.
func checkpoint(ctx context.Context, db *sql.DB) error {
	_, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(RESTART)`)
	return err
}

// compact rewrites the database without its free pages (VACUUM) and empties
// the WAL, so that no old copy of a changed row stays in the files.
func compact(ctx context.Context, db *sql.DB) error {
	for _, q := range []string{`PRAGMA wal_checkpoint(TRUNCATE)`, `VACUUM`, `PRAGMA wal_checkpoint(TRUNCATE)`} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}
