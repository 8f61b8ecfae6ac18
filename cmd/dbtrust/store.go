package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/dbtrust/dbtrust/internal/datadir"
	"github.com/dbtrust/dbtrust/internal/sqlstore"
)

// ---- migrate ----

type migrateOut struct {
	Store   string  `json:"store"`
	Applied []int64 `json:"applied"`
	Version int64   `json:"version"`
}

// cmdMigrate applies pending migrations explicitly. serve does the same on
// start unless --migrate=false; replicas that share a database take turns
// under an advisory lock either way.
func cmdMigrate(ctx context.Context, args []string, env envFunc, stdout, stderr io.Writer) error {
	fs := newFlagSet("dbtrust migrate", stderr)
	var c common
	c.register(fs, env, true)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if c.store == "" {
		if err := datadir.Prepare(c.data); err != nil {
			return fmt.Errorf("data folder: %w", err)
		}
	}
	db, store, desc, err := openStore(ctx, c.store, c.data, schemaAsIs)
	if err != nil {
		return err
	}
	defer store.Close()
	applied, err := db.Migrate(ctx)
	if err != nil {
		return fmt.Errorf("%s: migrate: %w", desc, err)
	}
	version, _, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	out := migrateOut{Store: desc, Applied: applied, Version: version}
	if out.Applied == nil {
		out.Applied = []int64{}
	}
	return printOut(stdout, c.output, out, func(w io.Writer) {
		if len(applied) == 0 {
			fmt.Fprintf(w, "%s: schema is current at version %d; nothing to apply\n", desc, version)
			return
		}
		for _, v := range applied {
			fmt.Fprintf(w, "applied\t%05d\n", v)
		}
		fmt.Fprintf(w, "%s: schema now at version %d\n", desc, version)
	})
}

// ---- store copy ----

type copyOut struct {
	From   string                `json:"from"`
	To     string                `json:"to"`
	Tables []sqlstore.TableCount `json:"tables"`
	Rows   int64                 `json:"rows"`
}

func cmdStore(ctx context.Context, args []string, env envFunc, stdout, stderr io.Writer) error {
	sub, args, err := subcommand(args, "dbtrust store copy --from SRC --to DST [--force]")
	if err != nil {
		return err
	}
	if sub != "copy" {
		return fmt.Errorf("unknown store command %q: want copy", sub)
	}
	fs := newFlagSet("dbtrust store copy", stderr)
	var c common
	c.register(fs, env, true)
	from := fs.String("from", "", "source store: a SQLite file (PATH or sqlite:PATH) or postgres://...; default the SQLite file in --data")
	to := fs.String("to", "", "target store: postgres://... (or sqlite:PATH); required")
	force := fs.Bool("force", false, "replace the target's contents when it is not empty")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *to == "" {
		return errors.New("usage: dbtrust store copy --from SRC --to DST [--force]: --to is required")
	}
	fromSpec := storeSpec(*from)
	if fromSpec == "" {
		path := filepath.Join(c.data, "dbtrust.db")
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("no --from given and no SQLite store in the data folder: %w", err)
		}
		fromSpec = "sqlite:" + path
	} else if p, ok := strings.CutPrefix(fromSpec, "sqlite:"); ok {
		if _, err := os.Stat(p); err != nil { // never create an empty source by mistake
			return fmt.Errorf("--from: %w", err)
		}
	}
	toSpec := storeSpec(*to)
	if fromSpec == toSpec {
		return errors.New("--from and --to name the same store")
	}
	// Both sides are brought to this program's schema first, so that their
	// tables match.
	src, srcStore, srcDesc, err := openStore(ctx, fromSpec, c.data, schemaMigrate)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	defer srcStore.Close()
	dst, dstStore, dstDesc, err := openStore(ctx, toSpec, c.data, schemaMigrate)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	defer dstStore.Close()
	counts, err := sqlstore.Copy(ctx, src, dst, sqlstore.CopyOptions{Force: *force})
	if err != nil {
		return err
	}
	out := copyOut{From: srcDesc, To: dstDesc, Tables: counts}
	for _, t := range counts {
		out.Rows += t.Rows
	}
	return printOut(stdout, c.output, out, func(w io.Writer) {
		fmt.Fprintln(w, "TABLE\tROWS")
		for _, t := range counts {
			fmt.Fprintf(w, "%s\t%d\n", t.Table, t.Rows)
		}
		fmt.Fprintf(w, "copied %d rows from %s to %s, counts verified\n", out.Rows, srcDesc, dstDesc)
		fmt.Fprintln(w, "sealed keys were copied as stored: serve the target with the same key-encryption key (--kek-file)")
	})
}

// storeSpec turns a bare file path into sqlite:PATH; URLs pass unchanged.
func storeSpec(s string) string {
	if s == "" || strings.Contains(s, "://") || strings.HasPrefix(s, "sqlite:") {
		return s
	}
	return "sqlite:" + s
}
