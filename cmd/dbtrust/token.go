package main

import (
	"context"
	"github.com/spf13/cobra"

	"github.com/dbtrust/dbtrust/client"
)

func newTokenCmd(a *app) *cobra.Command {
	cmd := group("token", "Manage the account's bearer tokens", "tokens")
	var name, role, inst string
	create := &cobra.Command{
		Use:   "create --name NAME [--role ROLE | --instance INSTANCE]",
		Short: "Create a token (the token string is shown once); with --instance, a node token for that instance's agent",
		Long: `Create a token; the token string is shown once. With --instance it is a node token: scoped to that
one instance, for the agent on its nodes ('dbtrust agent'). It can read that instance, its CAs and
bundle, have certificates issued from a CSR for the instance's endpoints, and revoke those it replaced
(reason superseded only), and nothing else.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if inst != "" && cmd.Flags().Changed("role") && role != "node" {
				return usageErrorf("--instance makes a node token, which has no role: leave out --role %s", role)
			}
			b, done, err := a.backend(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			var tok client.Token
			if inst != "" {
				i, err := instance(cmd.Context(), b, inst)
				if err != nil {
					return err
				}
				tok, err = b.CreateNodeToken(cmd.Context(), i.ID, name)
			} else {
				tok, err = b.CreateToken(cmd.Context(), name, role)
			}
			if err != nil {
				return err
			}
			return a.print(tok, func(t *table) {
				t.field("id", tok.ID)
				t.field("name", tok.Name)
				t.field("role", tok.Role)
				if tok.InstanceID != "" {
					t.field("instance", tok.InstanceID)
				}
				t.field("token", tok.Secret)
				t.field("", "(shown only now: keep it)")
			})
		},
	}
	create.Flags().StringVar(&name, "name", "", "token name, unique among the account's live tokens")
	create.Flags().StringVar(&role, "role", "member", "role: viewer, member, admin or owner")
	create.Flags().StringVar(&inst, "instance", "", "make a node token of this instance (name, ID or unique ID prefix) for its agent")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the account's tokens, revoked ones included",
		Args:  noArgs,
		RunE: a.onBackend(func(ctx context.Context, b backend, args []string) error {
			list, err := b.ListTokens(ctx)
			if err != nil {
				return err
			}
			return a.print(client.TokenList{Tokens: list}, func(t *table) {
				t.header("ID", "NAME", "ROLE", "INSTANCE", "CREATED", "REVOKED")
				for _, tok := range list {
					t.row(tok.ID, tok.Name, tok.Role, tok.InstanceID, tok.CreatedAt, tok.RevokedAt)
				}
			})
		}),
	}

	var yes bool
	revoke := &cobra.Command{
		Use:   "revoke TOKEN",
		Short: "Revoke a token, named by its name, ID, unique ID prefix or the token string",
		Args:  exactArgs(1),
		RunE: a.onBackend(func(ctx context.Context, b backend, args []string) error {
			tok, err := token(ctx, b, args[0])
			if err != nil {
				return err
			}
			if err := a.confirm(yes, "revoke token "+tok.Name+" ("+tok.ID+")"); err != nil {
				return err
			}
			if err := b.RevokeToken(ctx, tok.ID); err != nil {
				return err
			}
			return a.print(map[string]string{"revoked": tok.ID}, func(t *table) { t.field("revoked", tok.Name+" ("+tok.ID+")") })
		}),
	}
	addYes(revoke, &yes)
	cmd.AddCommand(create, list, revoke)
	return cmd
}
