package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/accesskey"
	"github.com/dbtrust/dbtrust/client"
)

// keyring returns the access keys of the data folder's account and the
// account's project ID.
func (l *local) keyring(ctx context.Context) (*accesskey.Service, string, error) {
	st, ok := l.store.(accesskey.Store)
	if !ok {
		return nil, "", dbtrust.Errorf(dbtrust.Invalid, "this store (%s) does not keep access keys", l.storeDesc)
	}
	acct, err := l.svc.AccountOf(ctx, l.p)
	if err != nil {
		return nil, "", err
	}
	return accesskey.New(l.svc, st), acct.ProjectID, nil
}

func (l *local) CreateAccessKey(ctx context.Context, name, role string) (client.AccessKey, error) {
	r, err := dbtrust.ParseRole(role)
	if err != nil {
		return client.AccessKey{}, err
	}
	keys, project, err := l.keyring(ctx)
	if err != nil {
		return client.AccessKey{}, err
	}
	k, sk, err := keys.Create(ctx, l.p, name, r)
	if err != nil {
		return client.AccessKey{}, err
	}
	out := client.FromAccessKey(k, project)
	out.SecretKey = sk
	return out, nil
}

func (l *local) ListAccessKeys(ctx context.Context) ([]client.AccessKey, error) {
	keys, project, err := l.keyring(ctx)
	if err != nil {
		return nil, err
	}
	list, err := keys.List(ctx, l.p)
	out := make([]client.AccessKey, 0, len(list))
	for _, k := range list {
		out = append(out, client.FromAccessKey(k, project))
	}
	return out, err
}

func (l *local) RevokeAccessKey(ctx context.Context, id string) error {
	keys, _, err := l.keyring(ctx)
	if err != nil {
		return err
	}
	return keys.Revoke(ctx, l.p, id)
}

func newAccessKeyCmd(a *app) *cobra.Command {
	cmd := group("accesskey", "Manage Huawei-style AK/SK access keys (the SK is shown once)", "accesskeys")
	var name, role string
	create := &cobra.Command{
		Use:   "create [--name NAME] [--role ROLE]",
		Short: "Create an access key; its secret key is shown only now",
		Args:  noArgs,
		RunE: a.onBackend(func(ctx context.Context, b backend, _ []string) error {
			k, err := b.CreateAccessKey(ctx, name, role)
			if err != nil {
				return err
			}
			return a.print(k, func(t *table) {
				t.field("access key", k.AccessKey)
				t.field("secret key", k.SecretKey)
				t.field("", "(shown only now: keep it)")
				t.field("project id", k.ProjectID)
				t.field("name", k.Name)
				t.field("role", k.Role)
			})
		}),
	}
	create.Flags().StringVar(&name, "name", "default", "access key name")
	create.Flags().StringVar(&role, "role", "member", "role: viewer, member, admin or owner")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the account's access keys, revoked ones included",
		Args:  noArgs,
		RunE: a.onBackend(func(ctx context.Context, b backend, _ []string) error {
			keys, err := b.ListAccessKeys(ctx)
			if err != nil {
				return err
			}
			return a.print(client.AccessKeyList{AccessKeys: keys}, func(t *table) {
				t.header("ACCESS KEY", "NAME", "ROLE", "PROJECT", "CREATED", "REVOKED")
				for _, k := range keys {
					t.row(k.AccessKey, k.Name, k.Role, k.ProjectID, k.CreatedAt, k.RevokedAt)
				}
			})
		}),
	}

	var yes bool
	revoke := &cobra.Command{
		Use:   "revoke KEY",
		Short: "Revoke an access key, named by its AK, unique AK prefix or name",
		Args:  exactArgs(1),
		RunE: a.onBackend(func(ctx context.Context, b backend, args []string) error {
			k, err := accessKey(ctx, b, args[0])
			if err != nil {
				return err
			}
			if err := a.confirm(yes, "revoke access key "+k.Name+" ("+k.AccessKey+")"); err != nil {
				return err
			}
			if err := b.RevokeAccessKey(ctx, k.AccessKey); err != nil {
				return err
			}
			return a.print(map[string]string{"revoked": k.AccessKey}, func(t *table) { t.field("revoked", k.Name+" ("+k.AccessKey+")") })
		}),
	}
	addYes(revoke, &yes)
	cmd.AddCommand(create, list, revoke)
	return cmd
}
