package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/client"
)

func newRecipeCmd(a *app) *cobra.Command {
	var caFile, clientName string
	var noWrite, force bool
	cmd := &cobra.Command{
		Use:     "recipe INSTANCE [--ca-file PATH] [--client NAME]",
		Aliases: []string{"recipes"},
		Short:   "Write the instance's CA bundle and print how to connect with full verification",
		Long: `Write the instance's CA bundle (default ./NAME-ca.pem) and print, for each client of its engine,
the command that connects with full verification. After 'rotate start' run it again with --force
to replace the bundle with the one that holds the next CA too.`,
		Args: exactArgs(1),
		RunE: a.onInstance(func(ctx context.Context, b backend, inst client.Instance, args []string) error {
			path := caFile
			if path == "" {
				path = dbtrust.BundleFile(inst.Name)
			}
			if abs, err := filepath.Abs(path); err == nil {
				path = abs
			}
			rc, err := b.Recipes(ctx, inst.ID, path)
			if err != nil {
				return err
			}
			if rc.Recipes, err = pickRecipe(rc, clientName); err != nil {
				return err
			}
			if !noWrite {
				if err := a.writeBundle(ctx, b, inst.ID, path, force); err != nil {
					return err
				}
			}
			return a.print(rc, func(t *table) {
				if !noWrite {
					fmt.Fprintf(t.w, "# CA bundle written to %s (fetch it again after each rotation start)\n", path)
				}
				for _, r := range rc.Recipes {
					fmt.Fprintf(t.w, "# %s: %s\n%s\n", r.Client, r.Title, r.Command)
				}
			})
		}),
	}
	f := cmd.Flags()
	f.StringVar(&caFile, "ca-file", "", "where to write the CA bundle (default ./NAME-ca.pem)")
	f.StringVar(&clientName, "client", "", "print only this client's recipe (e.g. psql, jdbc, redis-cli, mongosh)")
	f.BoolVar(&noWrite, "no-write", false, "print the recipes without writing the bundle")
	f.BoolVar(&force, "force", false, "replace a bundle file that exists and differs")
	return cmd
}

// pickRecipe keeps only the named client's recipe, or all when name is "".
func pickRecipe(rc client.Recipes, name string) ([]client.Recipe, error) {
	if name == "" {
		return rc.Recipes, nil
	}
	var names []string
	for _, r := range rc.Recipes {
		if r.Client == name {
			return []client.Recipe{r}, nil
		}
		names = append(names, r.Client)
	}
	return nil, dbtrust.Errorf(dbtrust.Invalid, "no recipe for client %q of engine %s: its clients are %s", name, rc.Engine, joinOr(names))
}

// writeBundle writes the instance's bundle at path: a file that exists
// with other contents is replaced only with --force.
func (a *app) writeBundle(ctx context.Context, b backend, id, path string, force bool) error {
	bundle, err := b.Bundle(ctx, id)
	if err != nil {
		return err
	}
	if old, err := os.ReadFile(path); err == nil && !bytes.Equal(old, bundle) && !force {
		return usageErrorf("%s exists and holds another bundle: pass --force to replace it (as after a rotation start)", path)
	}
	return a.writeFile(path, bundle, 0o644)
}
