package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/datadir"
)

type migrateOut struct {
	Store   string  `json:"store"`
	Applied []int64 `json:"applied"`
	Version int64   `json:"version"`
}

// newMigrateCmd applies pending migrations explicitly. serve does the same
// on start unless --migrate=false; replicas that share a database take
// turns under an advisory lock either way.
func newMigrateCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending schema migrations and print them",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.localOnly("dbtrust migrate"); err != nil {
				return err
			}
			c := a.cfg
			if c.Store == "" {
				if err := datadir.Prepare(c.Data); err != nil {
					return dbtrust.Wrap(dbtrust.Unavailable, err, fmt.Sprintf("cannot create the data folder %s: pick another with --data", c.Data))
				}
			}
			db, store, desc, err := openStore(cmd.Context(), c.Store, c.Data, schemaAsIs)
			if err != nil {
				return err
			}
			defer store.Close()
			applied, err := db.Migrate(cmd.Context())
			if err != nil {
				return dbtrust.Wrap(dbtrust.Unavailable, err, desc+": the schema migration failed (-v shows the cause)")
			}
			version, _, err := db.SchemaVersion(cmd.Context())
			if err != nil {
				return dbtrust.Wrap(dbtrust.Unavailable, err, desc+": cannot read the schema version (-v shows the cause)")
			}
			out := migrateOut{Store: desc, Applied: applied, Version: version}
			if out.Applied == nil {
				out.Applied = []int64{}
			}
			return a.print(out, func(t *table) {
				if len(applied) == 0 {
					fmt.Fprintf(t.w, "%s: schema is current at version %d; nothing to apply\n", desc, version)
					return
				}
				for _, v := range applied {
					t.row("applied", fmt.Sprintf("%05d", v))
				}
				fmt.Fprintf(t.w, "%s: schema now at version %d\n", desc, version)
			})
		},
	}
}
