package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dbtrust/dbtrust/internal/datadir"
	"github.com/dbtrust/dbtrust/internal/kek"
	"github.com/dbtrust/dbtrust/internal/sqlite"
	"github.com/dbtrust/dbtrust/internal/sqlstore"
)

type backupOut struct {
	File   string                `json:"file"`
	Store  string                `json:"store"`
	KeyIDs []string              `json:"kek_ids"` // the KEKs its sealed values are under
	Tables []sqlstore.TableCount `json:"tables,omitempty"`
}

// cmdBackup writes a consistent snapshot of the store, while it serves, to a
// new SQLite file: SQLite's VACUUM INTO for the embedded store, a
// repeatable-read copy for PostgreSQL. The file names the KEK its sealed
// values need; restore it with 'dbtrust restore'.
func cmdBackup(ctx context.Context, args []string, env envFunc, stdout, stderr io.Writer) error {
	fs := newFlagSet("dbtrust backup", stderr)
	var c common
	c.register(fs, env, true)
	to := fs.String("to", "", "the backup file to write (a new SQLite file); required")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *to == "" {
		return errors.New("usage: dbtrust backup --to FILE")
	}
	if _, err := os.Stat(*to); err == nil {
		return fmt.Errorf("--to %s exists: name a new file", *to)
	}
	d, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer d.store.Close()
	out := backupOut{File: *to, Store: d.storeDesc}
	if err := writeBackup(ctx, d, *to, &out); err != nil {
		os.Remove(*to)
		return fmt.Errorf("backup: %w", err)
	}
	return printOut(stdout, c.output, out, func(w io.Writer) {
		fmt.Fprintf(w, "backup of %s written to %s\n", out.Store, out.File)
		fmt.Fprintf(w, "its sealed values need key-encryption key %s: keep that key with it ('dbtrust restore --from %s' checks it)\n", strings.Join(out.KeyIDs, " and "), out.File)
	})
}

func writeBackup(ctx context.Context, d *deps, path string, out *backupOut) error {
	if s, ok := d.store.(*sqlite.Store); ok {
		if err := s.BackupTo(ctx, path); err != nil {
			return err
		}
	} else {
		dst, err := sqlite.Open(ctx, path)
		if err != nil {
			return err
		}
		defer dst.Close()
		if out.Tables, err = sqlstore.Copy(ctx, d.db, dst.DB, sqlstore.CopyOptions{}); err != nil {
			return err
		}
	}
	b, err := sqlite.OpenNoMigrate(ctx, path)
	if err != nil {
		return err
	}
	defer b.Close()
	recs, err := b.KEKs(ctx)
	if err != nil {
		return err
	}
	for _, r := range recs {
		out.KeyIDs = append(out.KeyIDs, r.KeyID)
	}
	if len(recs) == 0 {
		return errors.New("the snapshot holds no KEK record")
	}
	return nil
}

type restoreOut struct {
	From   string                `json:"from"`
	To     string                `json:"to"`
	KeyID  string                `json:"kek_id"`
	Tables []sqlstore.TableCount `json:"tables"`
}

// cmdRestore copies a backup into an empty store. It checks the KEK against
// the backup's, and that the store is empty, before it writes anything.
func cmdRestore(ctx context.Context, args []string, env envFunc, stdout, stderr io.Writer) error {
	fs := newFlagSet("dbtrust restore", stderr)
	var c common
	c.register(fs, env, true)
	from := fs.String("from", "", "the backup file ('dbtrust backup --to'); required")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *from == "" {
		return errors.New("usage: dbtrust restore --from FILE")
	}
	src, done, err := openBackup(ctx, *from)
	if err != nil {
		return err
	}
	defer done()
	found, err := kek.Inspect(ctx, src)
	if err != nil {
		return fmt.Errorf("--from %s: %w", *from, err)
	}
	if !found.Holds() {
		return fmt.Errorf("--from %s holds no sealed keys and no KEK record: not a dbtrust backup", *from)
	}
	keys, _, err := c.keys.loadKeys(ctx, c.data, found) // the backup holds keys: never creates one
	if err != nil {
		return err
	}
	plan, err := kek.Check(found, keys, kek.Bindings(), time.Now())
	if err != nil {
		return fmt.Errorf("--from %s: %w", *from, err)
	}
	if c.store == "" {
		if err := datadir.Prepare(c.data); err != nil {
			return fmt.Errorf("data folder: %w", err)
		}
	}
	dst, store, desc, err := openStore(ctx, c.store, c.data, schemaAsIs)
	if err != nil {
		return err
	}
	defer store.Close()
	if target, err := kek.Inspect(ctx, dst); err != nil || target.Holds() {
		return errors.Join(err, fmt.Errorf("%s is not empty: restore goes into a new, empty store", desc))
	}
	if err := applySchema(ctx, dst, desc, schemaMigrate); err != nil {
		return err
	}
	out := restoreOut{From: *from, To: desc, KeyID: plan.Ring.SealingID()}
	if out.Tables, err = sqlstore.Copy(ctx, src.DB, dst, sqlstore.CopyOptions{}); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return printOut(stdout, c.output, out, func(w io.Writer) {
		var rows int64
		for _, t := range out.Tables {
			rows += t.Rows
		}
		fmt.Fprintf(w, "restored %d rows from %s into %s, counts verified; sealed under key-encryption key %s\n", rows, out.From, out.To, out.KeyID)
	})
}

// openBackup opens a copy of the backup file brought to this program's
// schema, leaving the file itself as it was; done closes and removes the
// copy.
func openBackup(ctx context.Context, path string) (s *sqlite.Store, done func(), err error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("--from %s does not exist", path)
	}
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp("", "dbtrust-restore-")
	if err != nil {
		return nil, nil, err
	}
	tmp := filepath.Join(dir, "backup.db")
	if err = os.WriteFile(tmp, raw, 0o600); err == nil {
		s, err = sqlite.Open(ctx, tmp)
	}
	clear(raw)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("--from %s is not a dbtrust backup: %w", path, err)
	}
	return s, func() { s.Close(); os.RemoveAll(dir) }, nil
}
