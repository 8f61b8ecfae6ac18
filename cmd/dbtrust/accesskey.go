package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/accesskey"
)

// accessKeyOut is an access key as the command prints it. SecretKey is set
// only by create, the one time the SK is shown.
type accessKeyOut struct {
	AccessKey string `json:"access_key"`
	SecretKey string `json:"secret_key,omitempty"`
	ProjectID string `json:"project_id"`
	AccountID string `json:"account_id"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	CreatedAt string `json:"created_at"`
	RevokedAt string `json:"revoked_at,omitempty"`
}

func toAccessKeyOut(k accesskey.Key, projectID string) accessKeyOut {
	o := accessKeyOut{AccessKey: k.ID, ProjectID: projectID, AccountID: k.AccountID, Name: k.Name, Role: string(k.Role), CreatedAt: ts(k.CreatedAt)}
	if k.RevokedAt != nil {
		o.RevokedAt = ts(*k.RevokedAt)
	}
	return o
}

// keyring is the access keys of the data folder's account.
type keyring struct {
	*local
	keys    *accesskey.Service
	project string
}

// accessKeys opens the data folder for the access key commands, which work
// on it only.
func (a *app) accessKeys(ctx context.Context) (*keyring, error) {
	if err := a.localOnly("dbtrust accesskey"); err != nil {
		return nil, err
	}
	l, err := a.local(ctx)
	if err != nil {
		return nil, err
	}
	st, ok := l.store.(accesskey.Store)
	if !ok {
		l.close()
		return nil, dbtrust.Errorf(dbtrust.Invalid, "this store (%s) does not keep access keys", l.storeDesc)
	}
	acct, err := l.svc.AccountOf(ctx, l.p)
	if err != nil {
		l.close()
		return nil, err
	}
	return &keyring{local: l, keys: accesskey.New(l.svc, st), project: acct.ProjectID}, nil
}

func newAccessKeyCmd(a *app) *cobra.Command {
	cmd := group("accesskey", "Manage Huawei-style AK/SK access keys (on the data folder; the SK is shown once)", "accesskeys")
	var name, role string
	create := &cobra.Command{
		Use:   "create [--name NAME] [--role ROLE]",
		Short: "Create an access key; its secret key is shown only now",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := a.accessKeys(cmd.Context())
			if err != nil {
				return err
			}
			defer l.close()
			r, err := dbtrust.ParseRole(role)
			if err != nil {
				return err
			}
			k, sk, err := l.keys.Create(cmd.Context(), l.p, name, r)
			if err != nil {
				return err
			}
			out := toAccessKeyOut(k, l.project)
			out.SecretKey = sk
			return a.print(out, func(t *table) {
				t.field("access key", k.ID)
				t.field("secret key", sk)
				t.field("", "(shown only now: keep it)")
				t.field("project id", l.project)
				t.field("name", k.Name)
				t.field("role", string(k.Role))
			})
		},
	}
	create.Flags().StringVar(&name, "name", "default", "access key name")
	create.Flags().StringVar(&role, "role", "member", "role: viewer, member, admin or owner")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the account's access keys",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := a.accessKeys(cmd.Context())
			if err != nil {
				return err
			}
			defer l.close()
			keys, err := l.keys.List(cmd.Context(), l.p)
			if err != nil {
				return err
			}
			out := struct {
				AccessKeys []accessKeyOut `json:"access_keys"`
			}{AccessKeys: []accessKeyOut{}}
			for _, k := range keys {
				out.AccessKeys = append(out.AccessKeys, toAccessKeyOut(k, l.project))
			}
			return a.print(out, func(t *table) {
				t.header("ACCESS KEY", "NAME", "ROLE", "PROJECT", "CREATED", "REVOKED")
				for _, k := range out.AccessKeys {
					t.row(k.AccessKey, k.Name, k.Role, k.ProjectID, k.CreatedAt, k.RevokedAt)
				}
			})
		},
	}

	var yes bool
	revoke := &cobra.Command{
		Use:   "revoke KEY",
		Short: "Revoke an access key, named by its AK, unique AK prefix or name",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := a.accessKeys(cmd.Context())
			if err != nil {
				return err
			}
			defer l.close()
			keys, err := l.keys.List(cmd.Context(), l.p)
			if err != nil {
				return err
			}
			live := keys[:0:0]
			for _, k := range keys {
				if k.RevokedAt == nil {
					live = append(live, k)
				}
			}
			k, err := match(live, args[0], "access key", "dbtrust accesskey list",
				func(k accesskey.Key) string { return k.ID }, func(k accesskey.Key) string { return k.Name })
			if err != nil {
				return err
			}
			if err := a.confirm(yes, "revoke access key "+k.Name+" ("+k.ID+")"); err != nil {
				return err
			}
			if err := l.keys.Revoke(cmd.Context(), l.p, k.ID); err != nil {
				return err
			}
			return a.print(map[string]string{"revoked": k.ID}, func(t *table) { t.field("revoked", k.Name+" ("+k.ID+")") })
		},
	}
	addYes(revoke, &yes)
	cmd.AddCommand(create, list, revoke)
	return cmd
}
