package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
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

const usage = `dbtrust: the TLS trust service for managed databases

Usage:
  dbtrust serve [flags]                  run the server (creates its data folder on first start)
  dbtrust account create NAME | list     manage accounts (a new account gets an owner token)
  dbtrust token create|list|revoke       manage bearer tokens of an account
  dbtrust instance create|list|show|delete   manage database instances and their CAs
  dbtrust migrate                        apply pending schema migrations and print them
  dbtrust store copy --from SRC --to DST copy every record from one store to another (SQLite to PostgreSQL)
  dbtrust kek rotate --new-kek-file FILE re-seal every secret under a new key-encryption key, online
  dbtrust kek status                     the store's key-encryption keys and what each one seals
  dbtrust backup --to FILE               a consistent snapshot of the store, while it serves
  dbtrust restore --from FILE            restore a backup into an empty store, after checking the KEK
  dbtrust accesskey create|list|revoke   manage Huawei-style AK/SK access keys (the SK is shown once)
  dbtrust ca list INSTANCE               an instance's CAs: state, SHA-256 fingerprint, validity
  dbtrust rotate status|start|finish|rollback|retire INSTANCE   staged CA rotation and who holds the new CA
  dbtrust cert issue|list|revoke INSTANCE   server certificates (from a CSR or with a generated key)
  dbtrust recipe INSTANCE                write the CA bundle and print how to connect with full verification
  dbtrust version

Every command takes --data DIR (env DBTRUST_DATA) and --store URL (env DBTRUST_STORE);
the management commands work on the data directly, whether or not a server runs,
and print tables or, with -o json, JSON. ca, rotate, cert and recipe also work through a
running server's /v1 API with --server URL --token TOKEN (env DBTRUST_SERVER, DBTRUST_TOKEN).
Run 'dbtrust COMMAND -h' for a command's flags.
`

// run is the whole program: main only passes it the process's environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) (err error) {
	defer func() {
		if errors.Is(err, flag.ErrHelp) { // -h: the flag set printed the usage
			err = nil
		}
	}()
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[1], args[2:]
	env := envFunc(getenv)
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, env, stdout, stderr)
	case "account", "accounts":
		return cmdAccount(ctx, rest, env, stdout, stderr)
	case "token", "tokens":
		return cmdToken(ctx, rest, env, stdout, stderr)
	case "instance", "instances":
		return cmdInstance(ctx, rest, env, stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, rest, env, stdout, stderr)
	case "store":
		return cmdStore(ctx, rest, env, stdout, stderr)
	case "kek":
		return cmdKEK(ctx, rest, env, stdout, stderr)
	case "backup":
		return cmdBackup(ctx, rest, env, stdout, stderr)
	case "restore":
		return cmdRestore(ctx, rest, env, stdout, stderr)
	case "accesskey", "accesskeys":
		return cmdAccessKey(ctx, rest, env, stdout, stderr)
	case "ca", "cas":
		return cmdCA(ctx, rest, env, stdout, stderr)
	case "rotate":
		return cmdRotate(ctx, rest, env, stdout, stderr)
	case "cert", "certs":
		return cmdCert(ctx, rest, env, stdout, stderr)
	case "recipe", "recipes":
		return cmdRecipe(ctx, rest, env, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "dbtrust", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

var version = "dev"

type envFunc func(string) string

// or returns the variable's value, or def when it is unset or empty.
func (e envFunc) or(name, def string) string {
	if v := e(name); v != "" {
		return v
	}
	return def
}

// defaultDataDir is $DBTRUST_DATA, else $XDG_DATA_HOME/dbtrust, else
// ~/.local/share/dbtrust.
func defaultDataDir(env envFunc) string {
	if v := env("DBTRUST_DATA"); v != "" {
		return v
	}
	if x := env("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "dbtrust")
	}
	if h := env("HOME"); h != "" {
		return filepath.Join(h, ".local", "share", "dbtrust")
	}
	return "dbtrust-data"
}

// common holds the flags every command shares.
type common struct {
	data   string
	store  string
	keys   kekFlags
	output string
	// noMigrate opens the store without applying migrations (serve
	// --migrate=false); the schema must then be current already.
	noMigrate bool
}

func (c *common) register(fs *flag.FlagSet, env envFunc, withOutput bool) {
	fs.StringVar(&c.data, "data", defaultDataDir(env), "data folder (env DBTRUST_DATA)")
	fs.StringVar(&c.store, "store", env("DBTRUST_STORE"), "store URL: empty for the embedded SQLite file in the data folder, or postgres://... (env DBTRUST_STORE)")
	c.keys.register(fs, env)
	if withOutput {
		fs.StringVar(&c.output, "o", "table", "output format: table or json")
	}
}

// deps is what an opened data folder gives a command.
type deps struct {
	db         *sqlstore.DB
	store      dbtrust.Store
	sealer     *seal.Keyring
	keys       kek.Keys
	kekCreated bool
	storeDesc  string
}

// open creates the data folder if needed, opens the store, and checks the
// key-encryption key against it before anything is written: a KEK that is not
// the store's is refused, and a missing one is created only for a store that
// holds nothing sealed. Then it brings the schema up to date and records the
// KEK in a store that had no record of it.
func (c *common) open(ctx context.Context) (*deps, error) {
	if err := datadir.Prepare(c.data); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	db, store, desc, err := openStore(ctx, c.store, c.data, schemaAsIs)
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
	keys, plan, created, err := checkKeys(ctx, &c.keys, c.data, db)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", desc, err)
	}
	d.keys, d.kekCreated = keys, created
	mode := schemaMigrate
	if c.noMigrate {
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
			return nil, nil, "", err
		}
		db, store, desc = s.DB, s, "sqlite "+path
	case strings.HasPrefix(spec, "postgres://") || strings.HasPrefix(spec, "postgresql://"):
		s, err := postgres.OpenNoMigrate(ctx, spec)
		if err != nil {
			return nil, nil, "", err
		}
		db, store, desc = s.DB, s, "postgres"
	default:
		return nil, nil, "", fmt.Errorf("unknown store %q: want postgres://... or sqlite:PATH (or nothing, for the embedded default)", spec)
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
			return fmt.Errorf("%s: migrate: %w", desc, err)
		}
		return nil
	}
	applied, known, err := db.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("%s: schema version: %w", desc, err)
	}
	if applied < known {
		return fmt.Errorf("%s: the schema is at version %d, this program needs %d: run 'dbtrust migrate' first", desc, applied, known)
	}
	return nil
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses args, letting flags come after positional arguments too.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
