package main

import (
	"context"
	"fmt"
	"io"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/client"
)

// local is the data folder as a backend: the core's Service, configured as
// serve configures it, acting as the local operator of one account.
type local struct {
	*deps
	svc    *dbtrust.Service
	p      dbtrust.Principal
	stderr io.Writer
}

// local opens the data folder and picks the account named by --account
// (ID or name), or the only account when there is one.
func (a *app) local(ctx context.Context) (*local, error) {
	d, err := a.openData(ctx, false)
	if err != nil {
		return nil, err
	}
	l := &local{deps: d, svc: dbtrust.NewService(d.store, d.sealer, a.cfg.serviceOptions(nil)), stderr: a.stderr}
	acct, err := l.account(ctx, a.cfg.Account)
	if err != nil {
		d.store.Close()
		return nil, err
	}
	l.p = dbtrust.Operator(acct.ID)
	a.verbosef("working on the data folder %s (%s), account %s (%s)", a.cfg.Data, d.storeDesc, acct.Name, acct.ID)
	return l, nil
}

// close records the bundles this command handed out as the operator's
// fetches, and closes the store.
func (l *local) close() {
	if err := l.svc.FlushAdoptions(context.Background()); err != nil {
		fmt.Fprintln(l.stderr, "dbtrust: warning: could not record this bundle fetch:", dbtrust.ErrorMessage(err))
	}
	l.store.Close()
}

func (l *local) account(ctx context.Context, idOrName string) (dbtrust.Account, error) {
	if idOrName != "" {
		return l.svc.FindAccount(ctx, idOrName)
	}
	accts, err := l.svc.ListAccounts(ctx)
	if err != nil {
		return dbtrust.Account{}, err
	}
	switch len(accts) {
	case 0:
		return dbtrust.Account{}, errNoAccount
	case 1:
		return accts[0], nil
	}
	names := make([]string, len(accts))
	for i, a := range accts {
		names[i] = a.Name
	}
	return dbtrust.Account{}, usageErrorf("there are %d accounts (%s): name one with --account or DBTRUST_ACCOUNT", len(accts), joinOr(names))
}

// wire is the wire form of i; the zero Instance for an error's zero value.
func (l *local) wire(i dbtrust.Instance) client.Instance {
	if i.ID == "" {
		return client.Instance{}
	}
	return client.FromInstance(i, l.svc.InstanceEndpoints(i))
}

func (l *local) ListInstances(ctx context.Context, tag string) ([]client.Instance, error) {
	list, err := l.svc.ListInstances(ctx, l.p, tag)
	out := make([]client.Instance, 0, len(list))
	for _, i := range list {
		out = append(out, l.wire(i))
	}
	return out, err
}

func (l *local) CreateInstance(ctx context.Context, req client.CreateInstanceRequest) (client.Instance, error) {
	i, err := l.svc.CreateInstance(ctx, l.p, req.Spec())
	return l.wire(i), err
}

func (l *local) ImportInstances(ctx context.Context, reqs []client.CreateInstanceRequest) ([]client.Instance, error) {
	specs := make([]dbtrust.InstanceSpec, len(reqs))
	for i, r := range reqs {
		specs[i] = r.Spec()
	}
	list, err := l.svc.ImportInstances(ctx, l.p, specs)
	out := make([]client.Instance, len(list))
	for i, inst := range list {
		out[i] = l.wire(inst)
	}
	return out, err
}

func (l *local) GetInstance(ctx context.Context, id string) (client.Instance, error) {
	i, err := l.svc.GetInstance(ctx, l.p, id)
	return l.wire(i), err
}

func (l *local) UpdateInstance(ctx context.Context, id string, req client.UpdateInstanceRequest) (client.Instance, error) {
	i, err := l.svc.UpdateInstance(ctx, l.p, id, req.Update())
	return l.wire(i), err
}

func (l *local) DeleteInstance(ctx context.Context, id string) error {
	return l.svc.DeleteInstance(ctx, l.p, id)
}

func (l *local) ListCAs(ctx context.Context, id string) (client.CAList, error) {
	cas, err := l.svc.InstanceCAs(ctx, l.p, id)
	return client.FromCAs(id, cas), err
}

func (l *local) Bundle(ctx context.Context, id string) ([]byte, error) {
	return l.svc.InstanceCABundle(ctx, l.p, id)
}

func (l *local) RotateStart(ctx context.Context, id, keyType string) (client.CAList, error) {
	cas, err := l.svc.RotateStart(ctx, l.p, id, keyType)
	return client.FromCAs(id, cas), err
}

func (l *local) RotateFinish(ctx context.Context, id string, force bool) (client.FinishResult, error) {
	cas, lacking, err := l.svc.RotateFinish(ctx, l.p, id, force)
	return client.FinishResult{CAList: client.FromCAs(id, cas), Lacking: client.FromClients(lacking)}, err
}

func (l *local) RotationStatus(ctx context.Context, id string) (client.RotationStatus, error) {
	st, err := l.svc.RotationStatus(ctx, l.p, id)
	return client.FromRotationStatus(st), err
}

func (l *local) RotateRollback(ctx context.Context, id string) (client.CAList, error) {
	cas, err := l.svc.RotateRollback(ctx, l.p, id)
	return client.FromCAs(id, cas), err
}

func (l *local) RotateRetire(ctx context.Context, id string, force bool) (client.CAList, error) {
	cas, err := l.svc.RotateRetire(ctx, l.p, id, force)
	return client.FromCAs(id, cas), err
}

func (l *local) RotationPolicy(ctx context.Context, id string) (client.RotationPolicy, error) {
	pol, err := l.svc.GetRotationPolicy(ctx, l.p, id)
	return client.FromPolicy(pol), err
}

func (l *local) SetRotationPolicy(ctx context.Context, id string, req client.PolicyRequest) (client.RotationPolicy, error) {
	spec, err := req.Spec()
	if err != nil {
		return client.RotationPolicy{}, err
	}
	pol, err := l.svc.SetRotationPolicy(ctx, l.p, id, spec)
	return client.FromPolicy(pol), err
}

func (l *local) Issue(ctx context.Context, id string, req client.IssueRequest) (client.Certificate, error) {
	r, err := req.Request()
	if err != nil {
		return client.Certificate{}, err
	}
	c, err := l.svc.IssueCertificate(ctx, l.p, id, r)
	return client.FromCertificate(c, l.svc.Now()), err
}

func (l *local) ListCertificates(ctx context.Context, id string) ([]client.Certificate, error) {
	list, err := l.svc.ListIssuedCertificates(ctx, l.p, id)
	out := make([]client.Certificate, 0, len(list))
	now := l.svc.Now()
	for _, c := range list {
		out = append(out, client.FromCertificate(c, now))
	}
	return out, err
}

func (l *local) Revoke(ctx context.Context, id, serial, reason string) (client.Certificate, error) {
	c, err := l.svc.RevokeIssuedCertificate(ctx, l.p, id, serial, reason)
	return client.FromCertificate(c, l.svc.Now()), err
}

func (l *local) Recipes(ctx context.Context, id, caFile string) (client.Recipes, error) {
	inst, rs, err := l.svc.ConnectionRecipes(ctx, l.p, id, caFile)
	if err != nil {
		return client.Recipes{}, err
	}
	return client.FromRecipes(inst, l.svc.InstanceEndpoint(inst), caFile, rs), nil
}

func (l *local) CreateToken(ctx context.Context, name, role string) (client.Token, error) {
	r, err := dbtrust.ParseRole(role)
	if err != nil {
		return client.Token{}, err
	}
	t, secret, err := l.svc.CreateToken(ctx, l.p, name, r)
	out := client.FromToken(t)
	out.Secret = secret
	return out, err
}

func (l *local) CreateNodeToken(ctx context.Context, id, name string) (client.Token, error) {
	t, secret, err := l.svc.CreateNodeToken(ctx, l.p, id, name)
	out := client.FromToken(t)
	out.Secret = secret
	return out, err
}

func (l *local) ListTokens(ctx context.Context) ([]client.Token, error) {
	list, err := l.svc.ListTokens(ctx, l.p)
	out := make([]client.Token, 0, len(list))
	for _, t := range list {
		out = append(out, client.FromToken(t))
	}
	return out, err
}

func (l *local) RevokeToken(ctx context.Context, id string) error {
	return l.svc.RevokeToken(ctx, l.p, id)
}

func (l *local) Audit(ctx context.Context, q client.AuditQuery) (client.AuditList, error) {
	f, err := client.ParseAuditFilter(q.Values())
	if err != nil {
		return client.AuditList{}, err
	}
	list, err := l.svc.Audit(ctx, l.p, f)
	return client.AuditPage(list, f.Limit), err
}

func (l *local) CreateWebhook(ctx context.Context, req client.CreateWebhookRequest) (client.Webhook, error) {
	w, secret, err := l.svc.CreateWebhook(ctx, l.p, req.Spec())
	out := client.FromWebhook(w)
	out.Secret = secret
	return out, err
}

func (l *local) ListWebhooks(ctx context.Context) ([]client.Webhook, error) {
	list, err := l.svc.ListWebhooks(ctx, l.p)
	out := make([]client.Webhook, 0, len(list))
	for _, w := range list {
		out = append(out, client.FromWebhook(w))
	}
	return out, err
}

func (l *local) DeleteWebhook(ctx context.Context, id string) error {
	return l.svc.DeleteWebhook(ctx, l.p, id)
}

func (l *local) WebhookDeliveries(ctx context.Context, id string, limit int) ([]client.Delivery, error) {
	list, err := l.svc.WebhookDeliveries(ctx, l.p, id, limit)
	out := make([]client.Delivery, 0, len(list))
	for _, d := range list {
		out = append(out, client.FromDelivery(d))
	}
	return out, err
}
