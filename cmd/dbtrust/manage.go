package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/dialect/native"
)

// session is an opened data folder with the account a command acts in.
type session struct {
	*deps
	svc *dbtrust.Service
	p   dbtrust.Principal
}

// openAs opens the data folder and picks the account named by --account (ID
// or name), or the only account when there is one.
func (c *common) openAs(ctx context.Context, account string) (*session, error) {
	d, err := c.open(ctx)
	if err != nil {
		return nil, err
	}
	svc := dbtrust.NewService(d.store, d.sealer, dbtrust.Options{})
	s := &session{deps: d, svc: svc}
	if account == "" {
		accts, err := svc.ListAccounts(ctx)
		if err != nil {
			d.store.Close()
			return nil, err
		}
		switch len(accts) {
		case 0:
			d.store.Close()
			return nil, errors.New("no account yet: run 'dbtrust serve' once, or 'dbtrust account create NAME'")
		case 1:
			s.p = dbtrust.Operator(accts[0].ID)
			return s, nil
		}
		d.store.Close()
		return nil, errors.New("there are several accounts: name one with --account")
	}
	a, err := svc.FindAccount(ctx, account)
	if err != nil {
		d.store.Close()
		return nil, err
	}
	s.p = dbtrust.Operator(a.ID)
	return s, nil
}

// subcommand splits off the subcommand. When known is given, any other
// subcommand is refused here, before a command opens (and perhaps creates)
// the data folder.
func subcommand(args []string, usage string, known ...string) (string, []string, error) {
	if len(args) == 0 || len(known) > 0 && !slices.Contains(known, args[0]) {
		return "", nil, errors.New("usage: " + usage)
	}
	return args[0], args[1:], nil
}

// ---- accounts ----

type accountOut struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	ProjectID string `json:"project_id"`
	CreatedAt string `json:"created_at"`
	Token     string `json:"token,omitempty"`
}

func cmdAccount(ctx context.Context, args []string, env envFunc, stdout, stderr io.Writer) error {
	sub, args, err := subcommand(args, "dbtrust account create NAME | list", "create", "list")
	if err != nil {
		return err
	}
	fs := newFlagSet("dbtrust account "+sub, stderr)
	var c common
	c.register(fs, env, true)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	d, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer d.store.Close()
	svc := dbtrust.NewService(d.store, d.sealer, dbtrust.Options{})
	switch sub {
	case "create":
		if len(pos) != 1 {
			return errors.New("usage: dbtrust account create NAME")
		}
		a, token, err := svc.CreateAccount(ctx, pos[0])
		if err != nil {
			return err
		}
		out := accountOut{ID: a.ID, Name: a.Name, ProjectID: a.ProjectID, CreatedAt: ts(a.CreatedAt), Token: token}
		return printOut(stdout, c.output, out, func(w io.Writer) {
			fmt.Fprintf(w, "account:\t%s (%s)\nproject:\t%s\ntoken:\t%s\n\t(owner token, shown only now: keep it)\n", a.Name, a.ID, a.ProjectID, token)
		})
	case "list":
		accts, err := svc.ListAccounts(ctx)
		if err != nil {
			return err
		}
		out := []accountOut{}
		for _, a := range accts {
			out = append(out, accountOut{ID: a.ID, Name: a.Name, ProjectID: a.ProjectID, CreatedAt: ts(a.CreatedAt)})
		}
		return printOut(stdout, c.output, out, func(w io.Writer) {
			fmt.Fprintln(w, "ID\tNAME\tPROJECT\tCREATED")
			for _, a := range out {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", a.ID, a.Name, a.ProjectID, a.CreatedAt)
			}
		})
	}
	return fmt.Errorf("unknown account command %q: want create or list", sub)
}

// ---- tokens ----

func cmdToken(ctx context.Context, args []string, env envFunc, stdout, stderr io.Writer) error {
	sub, args, err := subcommand(args, "dbtrust token create --name NAME [--role ROLE] | list | revoke ID", "create", "list", "revoke")
	if err != nil {
		return err
	}
	fs := newFlagSet("dbtrust token "+sub, stderr)
	var c common
	c.register(fs, env, true)
	account := fs.String("account", env("DBTRUST_ACCOUNT"), "account ID or name (default: the only account)")
	name := fs.String("name", "", "token name (create)")
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
	switch sub {
	case "create":
		r, err := dbtrust.ParseRole(*role)
		if err != nil {
			return err
		}
		t, full, err := s.svc.CreateToken(ctx, s.p, *name, r)
		if err != nil {
			return err
		}
		out := native.FromToken(t)
		out.Secret = full
		return printOut(stdout, c.output, out, func(w io.Writer) {
			fmt.Fprintf(w, "id:\t%s\nname:\t%s\nrole:\t%s\ntoken:\t%s\n\t(shown only now: keep it)\n", t.ID, t.Name, t.Role, full)
		})
	case "list":
		list, err := s.svc.ListTokens(ctx, s.p)
		if err != nil {
			return err
		}
		out := []native.Token{}
		for _, t := range list {
			out = append(out, native.FromToken(t))
		}
		return printOut(stdout, c.output, out, func(w io.Writer) {
			fmt.Fprintln(w, "ID\tNAME\tROLE\tCREATED\tREVOKED")
			for _, t := range out {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, t.CreatedAt, dash(t.RevokedAt))
			}
		})
	case "revoke":
		if len(pos) != 1 {
			return errors.New("usage: dbtrust token revoke ID")
		}
		id := strings.TrimPrefix(pos[0], dbtrust.TokenPrefix)
		id, _, _ = strings.Cut(id, "_") // a whole token string names its ID too
		if err := s.svc.RevokeToken(ctx, s.p, id); err != nil {
			return err
		}
		return printOut(stdout, c.output, map[string]string{"revoked": id}, func(w io.Writer) { fmt.Fprintf(w, "revoked %s\n", id) })
	}
	return fmt.Errorf("unknown token command %q: want create, list or revoke", sub)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ---- instances ----

// instanceOut is the native API's instance, with its CAs when shown alone.
type instanceOut struct {
	native.Instance
	CAs []native.CA `json:"cas,omitempty"`
}

func toInstanceOut(svc *dbtrust.Service, i dbtrust.Instance) instanceOut {
	return instanceOut{Instance: native.FromInstance(i, svc.InstanceEndpoints(i))}
}

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, splitList(v)...); return nil }

func cmdInstance(ctx context.Context, args []string, env envFunc, stdout, stderr io.Writer) error {
	sub, args, err := subcommand(args, "dbtrust instance create --name NAME --engine ENGINE | list | show ID | delete ID", "create", "list", "show", "delete")
	if err != nil {
		return err
	}
	fs := newFlagSet("dbtrust instance "+sub, stderr)
	var c common
	c.register(fs, env, true)
	account := fs.String("account", env("DBTRUST_ACCOUNT"), "account ID or name (default: the only account)")
	var spec dbtrust.InstanceSpec
	var tags stringList
	noTLS := false
	if sub == "create" {
		fs.StringVar(&spec.Name, "name", "", "instance name")
		fs.StringVar(&spec.ID, "id", "", "instance ID (default: a new UUID); a Huawei Cloud instance ID such as 0123...cdefin02 for DDS and DCS users")
		fs.StringVar(&spec.Engine, "engine", "pg", "engine: pg, mysql, redis, valkey, mongodb, kafka, opensearch")
		fs.StringVar(&spec.Version, "version", "", "engine version (default: the engine's current)")
		fs.StringVar(&spec.Region, "region", "", "region slug")
		fs.StringVar(&spec.Size, "size", "", "size slug")
		fs.IntVar(&spec.NumNodes, "nodes", 1, "number of nodes")
		fs.StringVar(&spec.CAKeyType, "ca-key-type", "", "CA key type: ecdsa-p256 (default), ecdsa-p384, rsa-2048, rsa-3072, rsa-4096")
		fs.BoolVar(&noTLS, "no-tls", false, "the instance does not serve TLS")
		fs.Var(&tags, "tag", "tag (repeatable, or comma-separated)")
	}
	tagFilter := ""
	if sub == "list" {
		fs.StringVar(&tagFilter, "tag", "", "only instances with this tag")
	}
	pos, err := parse(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	s, err := c.openAs(ctx, *account)
	if err != nil {
		return err
	}
	defer s.store.Close()
	switch sub {
	case "create":
		spec.Tags = tags
		tls := !noTLS
		spec.TLS = &tls
		inst, err := s.svc.CreateInstance(ctx, s.p, spec)
		if err != nil {
			return err
		}
		return s.showInstance(ctx, stdout, c.output, inst.ID)
	case "list":
		list, err := s.svc.ListInstances(ctx, s.p, tagFilter)
		if err != nil {
			return err
		}
		out := []instanceOut{}
		for _, i := range list {
			out = append(out, toInstanceOut(s.svc, i))
		}
		return printOut(stdout, c.output, out, func(w io.Writer) {
			fmt.Fprintln(w, "ID\tNAME\tENGINE\tVERSION\tREGION\tNODES\tTLS\tCREATED")
			for _, i := range out {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%t\t%s\n", i.ID, i.Name, i.Engine, i.Version, i.Region, i.NumNodes, i.TLS, i.CreatedAt)
			}
		})
	case "show":
		if len(pos) != 1 {
			return errors.New("usage: dbtrust instance show ID")
		}
		return s.showInstance(ctx, stdout, c.output, pos[0])
	case "delete":
		if len(pos) != 1 {
			return errors.New("usage: dbtrust instance delete ID")
		}
		if err := s.svc.DeleteInstance(ctx, s.p, pos[0]); err != nil {
			return err
		}
		return printOut(stdout, c.output, map[string]string{"deleted": pos[0]}, func(w io.Writer) { fmt.Fprintf(w, "deleted %s\n", pos[0]) })
	}
	return fmt.Errorf("unknown instance command %q: want create, list, show or delete", sub)
}

func (s *session) showInstance(ctx context.Context, stdout io.Writer, format, id string) error {
	inst, err := s.svc.GetInstance(ctx, s.p, id)
	if err != nil {
		return err
	}
	cas, err := s.svc.InstanceCAs(ctx, s.p, id)
	if err != nil {
		return err
	}
	out := toInstanceOut(s.svc, inst)
	for _, ca := range cas {
		out.CAs = append(out.CAs, native.FromCA(ca))
	}
	return printOut(stdout, format, out, func(w io.Writer) {
		fmt.Fprintf(w, "id:\t%s\nname:\t%s\nengine:\t%s %s\nregion:\t%s\nsize:\t%s\nnodes:\t%d\ntls:\t%t\nhost:\t%s\ntags:\t%s\ncreated:\t%s\n",
			out.ID, out.Name, out.Engine, out.Version, out.Region, out.Size, out.NumNodes, out.TLS, out.Host, strings.Join(out.Tags, ","), out.CreatedAt)
		for _, ca := range out.CAs {
			fmt.Fprintf(w, "ca %s:\t%s %s, sha256 %s, %s to %s\n", ca.State, ca.ID, ca.KeyType, ca.Fingerprint, ca.NotBefore, ca.NotAfter)
		}
	})
}
