package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/datadir"
	"github.com/dbtrust/dbtrust/internal/kek"
	"github.com/dbtrust/dbtrust/internal/postgres"
	"github.com/dbtrust/dbtrust/internal/seal"
	"github.com/dbtrust/dbtrust/internal/sqlite"
	"github.com/dbtrust/dbtrust/internal/sqlstore"
)

// deps is what an opened data folder gives a command.
type deps struct {
	db         *sqlstore.DB
	store      dbtrust.Store
	sealer     *seal.Keyring
	keys       kek.Keys
	kekCreated bool
	storeDesc  string
}

// openData creates the data folder if needed, opens the store, and checks
// the key-encryption key against it before anything is written: a KEK that
// is not the store's is refused, and a missing one is created only for a
// store that holds nothing sealed. Then it brings the schema up to date
// (or, with noMigrate, checks that it is) and records the KEK in a store
// that had no record of it.
func (a *app) openData(ctx context.Context, noMigrate bool) (*deps, error) {
	c := a.cfg
	if err := datadir.Prepare(c.Data); err != nil {
		return nil, dbtrust.Wrap(dbtrust.Unavailable, err, fmt.Sprintf("cannot create the data folder %s: pick another with --data", c.Data))
	}
	db, store, desc, err := openStore(ctx, c.Store, c.Data, schemaAsIs)
	if err != nil {
		return nil, err
	}
	d := &deps{db: db, store: store, storeDesc: desc}
	ok := false
	defer func() {
		if !ok {
			store.Close()
		}
	}()
	keys, plan, created, err := checkKeys(ctx, &c.Keys, c.Data, db)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", desc, err)
	}
	d.keys, d.kekCreated = keys, created
	mode := schemaMigrate
	if noMigrate {
		mode = schemaCheck
	}
	if err := applySchema(ctx, db, desc, mode); err != nil {
		return nil, err
	}
	if d.sealer, err = kek.Apply(ctx, db, plan, keys, kek.Bindings(), time.Now()); err != nil {
		return nil, fmt.Errorf("%s: %w", desc, err)
	}
	ok = true
	return d, nil
}

// schemaMode says what openStore does with the store's schema.
type schemaMode int

const (
	schemaMigrate schemaMode = iota // apply pending migrations
	schemaCheck                     // refuse a schema older than this program's
	schemaAsIs                      // neither (dbtrust migrate)
)

// openStore opens the store named by spec: postgres://... (or
// postgresql://...), sqlite:PATH, or "" for the SQLite file in the data
// folder.
func openStore(ctx context.Context, spec, dataDir string, mode schemaMode) (*sqlstore.DB, dbtrust.Store, string, error) {
	var db *sqlstore.DB
	var store dbtrust.Store
	var desc string
	switch {
	case spec == "" || strings.HasPrefix(spec, "sqlite:") || strings.HasPrefix(spec, "file:"):
		path := filepath.Join(dataDir, "dbtrust.db")
		if p, ok := strings.CutPrefix(spec, "sqlite:"); ok && p != "" {
			path = p
		}
		s, err := sqlite.OpenNoMigrate(ctx, path)
		if err != nil {
			return nil, nil, "", dbtrust.Wrap(dbtrust.Unavailable, err, fmt.Sprintf("cannot open the SQLite store %s: check the path and its permissions", path))
		}
		db, store, desc = s.DB, s, "sqlite "+path
	case strings.HasPrefix(spec, "postgres://") || strings.HasPrefix(spec, "postgresql://"):
		s, err := postgres.OpenNoMigrate(ctx, spec)
		if err != nil {
			return nil, nil, "", dbtrust.Wrap(dbtrust.Unavailable, err, "cannot connect to the PostgreSQL store: check the URL, the password and that the database is up (-v shows the cause)")
		}
		db, store, desc = s.DB, s, "postgres"
	default:
		return nil, nil, "", usageErrorf("unknown store %q: want postgres://... or sqlite:PATH (or nothing, for the embedded default)", spec)
	}
	if err := applySchema(ctx, db, desc, mode); err != nil {
		store.Close()
		return nil, nil, "", err
	}
	return db, store, desc, nil
}

// applySchema migrates the store, or checks that its schema is current, or
// leaves it, as mode says.
func applySchema(ctx context.Context, db *sqlstore.DB, desc string, mode schemaMode) error {
	switch mode {
	case schemaAsIs:
		return nil
	case schemaMigrate:
		if _, err := db.Migrate(ctx); err != nil {
			return dbtrust.Wrap(dbtrust.Unavailable, err, desc+": the schema migration failed (-v shows the cause)")
		}
		return nil
	}
	applied, known, err := db.SchemaVersion(ctx)
	if err != nil {
		return dbtrust.Wrap(dbtrust.Unavailable, err, desc+": cannot read the schema version (-v shows the cause)")
	}
	if applied < known {
		return dbtrust.Errorf(dbtrust.Conflict, "%s: the schema is at version %d, this program needs %d: run 'dbtrust migrate' first", desc, applied, known)
	}
	return nil
}
