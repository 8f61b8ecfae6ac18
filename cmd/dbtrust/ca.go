package main

import (
	"context"
	"github.com/spf13/cobra"

	"github.com/dbtrust/dbtrust/client"
)

func newCACmd(a *app) *cobra.Command {
	cmd := group("ca", "An instance's CAs", "cas")
	cmd.AddCommand(&cobra.Command{
		Use:   "list INSTANCE",
		Short: "List an instance's CAs: state, key type, SHA-256 fingerprint, validity",
		Args:  exactArgs(1),
		RunE: a.onInstance(func(ctx context.Context, b backend, inst client.Instance, args []string) error {
			l, err := b.ListCAs(ctx, inst.ID)
			if err != nil {
				return err
			}
			return a.printCAs(l)
		}),
	})
	return cmd
}

func (a *app) printCAs(l client.CAList) error {
	return a.print(l, func(t *table) {
		t.header("STATE", "ID", "KEY", "SHA256", "NOT BEFORE", "NOT AFTER")
		for _, c := range l.CAs {
			t.row(c.State, c.ID, c.KeyType, c.Fingerprint, c.NotBefore, c.NotAfter)
		}
	})
}
