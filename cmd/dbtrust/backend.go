package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/client"
)

// backend is where a command's data is: the data folder (local) or a
// server's native API (*client.Client). Both answer with the client
// package's wire types, so a command prints the same either way.
type backend interface {
	ListInstances(ctx context.Context, tag string) ([]client.Instance, error)
	CreateInstance(ctx context.Context, req client.CreateInstanceRequest) (client.Instance, error)
	ImportInstances(ctx context.Context, reqs []client.CreateInstanceRequest) ([]client.Instance, error)
	GetInstance(ctx context.Context, id string) (client.Instance, error)
	UpdateInstance(ctx context.Context, id string, req client.UpdateInstanceRequest) (client.Instance, error)
	DeleteInstance(ctx context.Context, id string) error

	ListCAs(ctx context.Context, id string) (client.CAList, error)
	Bundle(ctx context.Context, id string) ([]byte, error)
	RotateStart(ctx context.Context, id, keyType string) (client.CAList, error)
	RotateFinish(ctx context.Context, id string, force bool) (client.FinishResult, error)
	RotationStatus(ctx context.Context, id string) (client.RotationStatus, error)
	RotateRollback(ctx context.Context, id string) (client.CAList, error)
	RotateRetire(ctx context.Context, id string, force bool) (client.CAList, error)
	RotationPolicy(ctx context.Context, id string) (client.RotationPolicy, error)
	SetRotationPolicy(ctx context.Context, id string, req client.PolicyRequest) (client.RotationPolicy, error)

	Issue(ctx context.Context, id string, req client.IssueRequest) (client.Certificate, error)
	ListCertificates(ctx context.Context, id string) ([]client.Certificate, error)
	Revoke(ctx context.Context, id, serial, reason string) (client.Certificate, error)
	Recipes(ctx context.Context, id, caFile string) (client.Recipes, error)

	CreateToken(ctx context.Context, name, role string) (client.Token, error)
	CreateNodeToken(ctx context.Context, id, name string) (client.Token, error)
	ListTokens(ctx context.Context) ([]client.Token, error)
	RevokeToken(ctx context.Context, id string) error
	CreateAccessKey(ctx context.Context, name, role string) (client.AccessKey, error)
	ListAccessKeys(ctx context.Context) ([]client.AccessKey, error)
	RevokeAccessKey(ctx context.Context, id string) error
	Audit(ctx context.Context, q client.AuditQuery) (client.AuditList, error)

	CreateWebhook(ctx context.Context, req client.CreateWebhookRequest) (client.Webhook, error)
	ListWebhooks(ctx context.Context) ([]client.Webhook, error)
	DeleteWebhook(ctx context.Context, id string) error
	WebhookDeliveries(ctx context.Context, id string, limit int) ([]client.Delivery, error)
}

var (
	_ backend = (*client.Client)(nil)
	_ backend = (*local)(nil)
)

// backend opens where the command works: the server named by --server
// (DBTRUST_SERVER), else the data folder. The caller calls the returned
// close function when done.
func (a *app) backend(ctx context.Context) (backend, func(), error) {
	if a.cfg.Server == "" {
		l, err := a.local(ctx)
		if err != nil {
			return nil, nil, err
		}
		return l, l.close, nil
	}
	c, err := a.remote()
	if err != nil {
		return nil, nil, err
	}
	return c, func() {}, nil
}

// remote returns a client of --server, as the holder of --token.
func (a *app) remote() (*client.Client, error) { return a.remoteClient(true) }

// remoteClient returns a client of --server, with --token when there is
// one; needToken refuses to go on without one.
func (a *app) remoteClient(needToken bool) (*client.Client, error) {
	c := a.cfg
	if needToken && c.Token == "" {
		return nil, usageErrorf("--server %s needs a token: pass --token or set DBTRUST_TOKEN", c.Server)
	}
	opts, err := a.serverOptions()
	if err != nil {
		return nil, err
	}
	cl, err := client.New(c.Server, c.Token, opts...)
	if err != nil {
		return nil, err
	}
	a.verbosef("working through the server %s (its /v1 API, as the token's account and role)", cl.BaseURL())
	return cl, nil
}

// serverOptions are the client options --server-ca asks for.
func (a *app) serverOptions() ([]client.Option, error) {
	if a.cfg.ServerCA == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(a.cfg.ServerCA)
	if err != nil {
		return nil, usageErrorf("--server-ca: %v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, usageErrorf("--server-ca %s holds no PEM certificate", a.cfg.ServerCA)
	}
	return []client.Option{client.WithRootCAs(roots)}, nil
}

// verbosef writes a line to stderr with -v.
func (a *app) verbosef(format string, args ...any) {
	if a.cfg.Verbose {
		fmt.Fprintf(a.stderr, "dbtrust: "+format+"\n", args...)
	}
}

// localOnly refuses --server for a command that works on the data folder
// only.
func (a *app) localOnly(what string) error {
	if a.cfg.Server != "" {
		return usageErrorf("%s works on the data folder (--data or --store) only, not through --server: run it where the data is, without --server (unset DBTRUST_SERVER)", what)
	}
	return nil
}

// errNoAccount is the answer when the data folder has no account yet.
var errNoAccount = dbtrust.Errorf(dbtrust.NotFound, "no account yet: run 'dbtrust serve' once, or 'dbtrust account create NAME'")

// onInstance makes the RunE of a command whose first argument names an
// instance (by name, ID or unique ID prefix): it opens the backend,
// resolves the instance, and runs do with the remaining arguments.
func (a *app) onInstance(do func(ctx context.Context, b backend, inst client.Instance, args []string) error) func(*cobra.Command, []string) error {
	return a.onBackend(func(ctx context.Context, b backend, args []string) error {
		inst, err := instance(ctx, b, args[0])
		if err != nil {
			return err
		}
		return do(ctx, b, inst, args[1:])
	})
}

// onBackend makes the RunE of a command that works on the account's data:
// it opens the backend and runs do.
func (a *app) onBackend(do func(ctx context.Context, b backend, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		b, done, err := a.backend(cmd.Context())
		if err != nil {
			return err
		}
		defer done()
		return do(cmd.Context(), b, args)
	}
}
