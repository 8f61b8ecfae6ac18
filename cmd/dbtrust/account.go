package main

import (
	"github.com/spf13/cobra"

	"github.com/dbtrust/dbtrust"
)

// accountOut is an account as the command prints it; Token only on create.
type accountOut struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	ProjectID string `json:"project_id"`
	CreatedAt string `json:"created_at"`
	Token     string `json:"token,omitempty"`
}

func toAccountOut(a dbtrust.Account) accountOut {
	return accountOut{ID: a.ID, Name: a.Name, ProjectID: a.ProjectID, CreatedAt: ts(a.CreatedAt)}
}

func newAccountCmd(a *app) *cobra.Command {
	cmd := group("account", "Manage accounts (on the data folder)", "accounts")
	cmd.AddCommand(&cobra.Command{
		Use:   "create NAME",
		Short: "Create an account and its first owner token (shown once)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.localOnly("dbtrust account create"); err != nil {
				return err
			}
			d, err := a.openData(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer d.store.Close()
			acct, token, err := dbtrust.NewService(d.store, d.sealer, a.cfg.serviceOptions(nil)).CreateAccount(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			out := toAccountOut(acct)
			out.Token = token
			return a.print(out, func(t *table) {
				t.field("account", acct.Name+" ("+acct.ID+")")
				t.field("project", acct.ProjectID)
				t.field("token", token)
				t.field("", "(owner token, shown only now: keep it)")
			})
		},
	}, &cobra.Command{
		Use:   "list",
		Short: "List the accounts",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.localOnly("dbtrust account list"); err != nil {
				return err
			}
			d, err := a.openData(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer d.store.Close()
			accts, err := dbtrust.NewService(d.store, d.sealer, a.cfg.serviceOptions(nil)).ListAccounts(cmd.Context())
			if err != nil {
				return err
			}
			out := struct {
				Accounts []accountOut `json:"accounts"`
			}{Accounts: []accountOut{}}
			for _, acct := range accts {
				out.Accounts = append(out.Accounts, toAccountOut(acct))
			}
			return a.print(out, func(t *table) {
				t.header("ID", "NAME", "PROJECT", "CREATED")
				for _, o := range out.Accounts {
					t.row(o.ID, o.Name, o.ProjectID, o.CreatedAt)
				}
			})
		},
	})
	return cmd
}
