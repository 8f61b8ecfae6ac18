package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/accesskey"
)

// accessKeyOut is an access key as the CLI prints it. SecretKey is set only
// by create, the one time the SK is shown.
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

func cmdAccessKey(ctx context.Context, args []string, env envFunc, stdout, stderr io.Writer) error {
	sub, args, err := subcommand(args, "dbtrust accesskey create [--name NAME] [--role ROLE] | list | revoke AK", "create", "list", "revoke")
	if err != nil {
		return err
	}
	fs := newFlagSet("dbtrust accesskey "+sub, stderr)
	var c common
	c.register(fs, env, true)
	account := fs.String("account", env("DBTRUST_ACCOUNT"), "account ID or name (default: the only account)")
	name := fs.String("name", "default", "access key name (create)")
	role := fs.String("role", "member", "role: viewer, member, admin or owner (create)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	s, err := c.openAs(ctx, *account)
	if err != nil {
		return err
	}
	defer s.store.Close()
	acct, err := s.svc.AccountOf(ctx, s.p)
	if err != nil {
		return err
	}
	st, ok := s.store.(accesskey.Store)
	if !ok {
		return fmt.Errorf("this store (%s) does not keep access keys", s.storeDesc)
	}
	keys := accesskey.New(s.svc, st)
	switch sub {
	case "create":
		r, err := dbtrust.ParseRole(*role)
		if err != nil {
			return err
		}
		k, sk, err := keys.Create(ctx, s.p, *name, r)
		if err != nil {
			return err
		}
		out := toAccessKeyOut(k, acct.ProjectID)
		out.SecretKey = sk
		return printOut(stdout, c.output, out, func(w io.Writer) {
			fmt.Fprintf(w, "access key:\t%s\nsecret key:\t%s\n\t(shown only now: keep it)\nproject id:\t%s\nname:\t%s\nrole:\t%s\n",
				k.ID, sk, acct.ProjectID, k.Name, k.Role)
		})
	case "list":
		list, err := keys.List(ctx, s.p)
		if err != nil {
			return err
		}
		out := []accessKeyOut{}
		for _, k := range list {
			out = append(out, toAccessKeyOut(k, acct.ProjectID))
		}
		return printOut(stdout, c.output, out, func(w io.Writer) {
			fmt.Fprintln(w, "ACCESS KEY\tNAME\tROLE\tPROJECT\tCREATED\tREVOKED")
			for _, k := range out {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", k.AccessKey, k.Name, k.Role, k.ProjectID, k.CreatedAt, dash(k.RevokedAt))
			}
		})
	case "revoke":
		if len(pos) != 1 {
			return errors.New("usage: dbtrust accesskey revoke AK")
		}
		if err := keys.Revoke(ctx, s.p, pos[0]); err != nil {
			return err
		}
		return printOut(stdout, c.output, map[string]string{"revoked": pos[0]}, func(w io.Writer) { fmt.Fprintf(w, "revoked %s\n", pos[0]) })
	}
	return fmt.Errorf("unknown accesskey command %q: want create, list or revoke", sub)
}
