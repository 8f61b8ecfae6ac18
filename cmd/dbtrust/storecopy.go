package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dbtrust/dbtrust/internal/sqlstore"
)

type copyOut struct {
	From   string                `json:"from"`
	To     string                `json:"to"`
	Tables []sqlstore.TableCount `json:"tables"`
	Rows   int64                 `json:"rows"`
}

func newStoreCmd(a *app) *cobra.Command {
	cmd := group("store", "Move data between stores")
	var from, to string
	var force bool
	cp := &cobra.Command{
		Use:   "copy --from SRC --to DST [--force]",
		Short: "Copy every record from one store to another (SQLite to PostgreSQL, or back)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.localOnly("dbtrust store copy"); err != nil {
				return err
			}
			if to == "" {
				return usageErrorf("usage: dbtrust store copy --from SRC --to DST [--force]: --to is required")
			}
			fromSpec, err := copySource(from, a.cfg.Data)
			if err != nil {
				return err
			}
			toSpec := storeSpec(to)
			if fromSpec == toSpec {
				return usageErrorf("--from and --to name the same store")
			}
			// Both sides are brought to this program's schema first, so that
			// their tables match.
			src, srcStore, srcDesc, err := openStore(cmd.Context(), fromSpec, a.cfg.Data, schemaMigrate)
			if err != nil {
				return err
			}
			defer srcStore.Close()
			dst, dstStore, dstDesc, err := openStore(cmd.Context(), toSpec, a.cfg.Data, schemaMigrate)
			if err != nil {
				return err
			}
			defer dstStore.Close()
			counts, err := sqlstore.Copy(cmd.Context(), src, dst, sqlstore.CopyOptions{Force: force})
			if err != nil {
				return err
			}
			out := copyOut{From: srcDesc, To: dstDesc, Tables: counts}
			for _, t := range counts {
				out.Rows += t.Rows
			}
			return a.print(out, func(t *table) {
				t.header("TABLE", "ROWS")
				for _, c := range counts {
					t.row(c.Table, fmt.Sprint(c.Rows))
				}
				fmt.Fprintf(t.w, "copied %d rows from %s to %s, counts verified\n", out.Rows, srcDesc, dstDesc)
				fmt.Fprintln(t.w, "sealed keys were copied as stored: serve the target with the same key-encryption key (--kek-file)")
			})
		},
	}
	f := cp.Flags()
	f.StringVar(&from, "from", "", "source store: a SQLite file (PATH or sqlite:PATH) or postgres://...; default the SQLite file in --data")
	f.StringVar(&to, "to", "", "target store: postgres://... (or sqlite:PATH); required")
	f.BoolVar(&force, "force", false, "replace the target's contents when it is not empty")
	cmd.AddCommand(cp)
	return cmd
}

// copySource is the source store's spec; a SQLite source must exist, so
// that a typo never creates an empty one.
func copySource(from, dataDir string) (string, error) {
	spec := storeSpec(from)
	if spec == "" {
		path := filepath.Join(dataDir, "dbtrust.db")
		if _, err := os.Stat(path); err != nil {
			return "", usageErrorf("no --from given and no SQLite store in the data folder %s", dataDir)
		}
		return "sqlite:" + path, nil
	}
	if p, ok := strings.CutPrefix(spec, "sqlite:"); ok {
		if _, err := os.Stat(p); err != nil {
			return "", usageErrorf("--from %s: no such file", p)
		}
	}
	return spec, nil
}

// storeSpec turns a bare file path into sqlite:PATH; URLs pass unchanged.
func storeSpec(s string) string {
	if s == "" || strings.Contains(s, "://") || strings.HasPrefix(s, "sqlite:") {
		return s
	}
	return "sqlite:" + s
}
