package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dbtrust/dbtrust"
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
func newBackupCmd(a *app) *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use:   "backup --to FILE",
		Short: "Write a consistent snapshot of the store, while it serves",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.localOnly("dbtrust backup"); err != nil {
				return err
			}
			if to == "" {
				return usageErrorf("usage: dbtrust backup --to FILE")
			}
			if _, err := os.Stat(to); err == nil {
				return usageErrorf("--to %s exists: name a new file", to)
			}
			d, err := a.openData(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer d.store.Close()
			out := backupOut{File: to, Store: d.storeDesc}
			if err := writeBackup(cmd.Context(), d, to, &out); err != nil {
				os.Remove(to)
				return fmt.Errorf("backup: %w", err)
			}
			return a.print(out, func(t *table) {
				fmt.Fprintf(t.w, "backup of %s written to %s\n", out.Store, out.File)
				fmt.Fprintf(t.w, "its sealed values need key-encryption key %s: keep that key with it ('dbtrust restore --from %s' checks it)\n", strings.Join(out.KeyIDs, " and "), out.File)
			})
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "the backup file to write (a new SQLite file); required")
	return cmd
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

func newRestoreCmd(a *app) *cobra.Command {
	var from string
	cmd := &cobra.Command{
		Use:   "restore --from FILE",
		Short: "Restore a backup into an empty store, after checking the key-encryption key",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.localOnly("dbtrust restore"); err != nil {
				return err
			}
			if from == "" {
				return usageErrorf("usage: dbtrust restore --from FILE")
			}
			return a.restore(cmd.Context(), from)
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the backup file ('dbtrust backup --to'); required")
	return cmd
}

// restore copies a backup into an empty store. It checks the KEK against
// the backup's, and that the store is empty, before it writes anything.
func (a *app) restore(ctx context.Context, from string) error {
	c := a.cfg
	src, done, err := openBackup(ctx, from)
	if err != nil {
		return err
	}
	defer done()
	found, err := kek.Inspect(ctx, src)
	if err != nil {
		return fmt.Errorf("--from %s: %w", from, err)
	}
	if !found.Holds() {
		return fmt.Errorf("--from %s holds no sealed keys and no KEK record: not a dbtrust backup", from)
	}
	keys, _, err := c.Keys.loadKeys(ctx, c.Data, found) // the backup holds keys: never creates one
	if err != nil {
		return err
	}
	plan, err := kek.Check(found, keys, kek.Bindings(), time.Now())
	if err != nil {
		return fmt.Errorf("--from %s: %w", from, err)
	}
	if c.Store == "" {
		if err := datadir.Prepare(c.Data); err != nil {
			return dbtrust.Wrap(dbtrust.Unavailable, err, fmt.Sprintf("cannot create the data folder %s: pick another with --data", c.Data))
		}
	}
	dst, store, desc, err := openStore(ctx, c.Store, c.Data, schemaAsIs)
	if err != nil {
		return err
	}
	defer store.Close()
	if target, err := kek.Inspect(ctx, dst); err != nil || target.Holds() {
		return errors.Join(err, dbtrust.Errorf(dbtrust.Conflict, "%s is not empty: restore goes into a new, empty store", desc))
	}
	if err := applySchema(ctx, dst, desc, schemaMigrate); err != nil {
		return err
	}
	out := restoreOut{From: from, To: desc, KeyID: plan.Ring.SealingID()}
	if out.Tables, err = sqlstore.Copy(ctx, src.DB, dst, sqlstore.CopyOptions{}); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return a.print(out, func(t *table) {
		var rows int64
		for _, tc := range out.Tables {
			rows += tc.Rows
		}
		fmt.Fprintf(t.w, "restored %d rows from %s into %s, counts verified; sealed under key-encryption key %s\n", rows, out.From, out.To, out.KeyID)
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
