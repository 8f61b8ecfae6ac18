// Package agent is the node side of dbtrust: it runs beside one database
// node and keeps that node's TLS files current. It makes the node's key
// itself and sends only a CSR, so the private key never leaves the node; it
// installs the instance's CA bundle as soon as a rotation starts and a
// certificate from the new CA once it finishes; it renews at two thirds of a
// certificate's life; and after each change it runs the operator's reload
// command. It never replaces good files with bad ones, and when dbtrust
// cannot be reached it keeps the files it has and tries again later.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/client"
)

// Config is what an Agent needs.
type Config struct {
	Server   string          // URL of dbtrust, e.g. https://dbtrust.example:8443
	Token    string          // a node token of the instance (or any token that may issue for it)
	Instance string          // the instance's name or ID
	Dir      string          // where the TLS files go; it must exist
	Reload   string          // shell command run after each change; "" for none
	Interval time.Duration   // how often to look for a CA rotation; default one minute
	HTTP     *http.Client    // default: one with a 30-second timeout
	Options  []client.Option // more options of the API client (client.WithRootCAs for dbtrust's own HTTPS certificate)
	Log      *slog.Logger    // default discards
	Clock    func() time.Time
}

// Agent keeps one node's TLS files current. Use New, then Run or Once.
type Agent struct {
	cfg       Config
	api       *client.Client
	files     files
	log       *slog.Logger
	inst      client.Instance // resolved on the first pass that reaches dbtrust
	reloadDue bool            // files changed but the reload has not yet succeeded
	replaced  string          // serial of the certificate a new one replaced, to revoke once the reload succeeded
}

// Result says what one pass did.
type Result struct {
	BundleChanged bool      // ca.pem was replaced
	CertRenewed   bool      // server.crt and server.key were replaced
	Reason        string    // why the certificate was renewed
	Reloaded      bool      // the reload command ran and succeeded
	Revoked       string    // serial of the replaced certificate this pass revoked (superseded)
	NextRenewal   time.Time // when the certificate now in place falls due
}

// New checks cfg and returns an Agent.
func New(cfg Config) (*Agent, error) {
	u, err := url.Parse(cfg.Server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--server %q is not an http(s) URL such as https://dbtrust.example:8443", cfg.Server)
	}
	if cfg.Token == "" {
		return nil, errors.New("--token is required: create a node token with 'dbtrust token create --instance INSTANCE --name NAME'")
	}
	if cfg.Instance == "" {
		return nil, errors.New("--instance is required: the name or ID of the instance this node serves")
	}
	if cfg.Dir == "" {
		return nil, errors.New("--dir is required: the folder the database reads its TLS files from")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	api, err := client.New(cfg.Server, cfg.Token, append([]client.Option{client.WithHTTPClient(cfg.HTTP)}, cfg.Options...)...)
	if err != nil {
		return nil, err
	}
	return &Agent{cfg: cfg, api: api, files: files{dir: cfg.Dir}, log: cfg.Log}, nil
}

// Run makes passes until ctx is done: after a good pass it waits until the
// certificate falls due or the next rotation check, whichever is first;
// after a failed one it backs off (1s, 2s, 4s, ... up to the interval),
// keeping the files it has. It returns nil when ctx is done.
func (a *Agent) Run(ctx context.Context) error {
	failures := 0
	for {
		res, err := a.Once(ctx)
		wait := a.cfg.Interval
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			failures++
			wait = min(time.Second<<min(failures-1, 10), a.cfg.Interval)
			a.log.Warn(fmt.Sprintf("%v; keeping the current files, next try in %s", err, wait))
		} else {
			failures = 0
			if d := res.NextRenewal.Sub(a.cfg.Clock()); d < wait {
				wait = max(d, time.Second)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// Once makes one pass: it fetches the instance's CAs, installs a changed
// bundle, renews the certificate when it is due (or missing, or from a CA
// that is no longer current, or not naming the instance's endpoints), and
// runs the reload command when anything changed. An error means the files
// were left as they were, or that the reload failed.
func (a *Agent) Once(ctx context.Context) (Result, error) {
	if a.inst.ID == "" {
		inst, err := a.resolve(ctx)
		if err != nil {
			return Result{}, err
		}
		a.inst = inst
	} else {
		inst, err := a.api.GetInstance(ctx, a.inst.ID)
		if err != nil {
			return Result{}, explain(err, "read the instance")
		}
		a.inst = inst
	}
	// The CAs say which one is current; the bundle is fetched as such, so
	// that dbtrust counts this node among those holding it (rotate status).
	cas, err := a.api.ListCAs(ctx, a.inst.ID)
	if err != nil {
		return Result{}, explain(err, "read the instance's CAs")
	}
	bundle, err := a.api.Bundle(ctx, a.inst.ID)
	if err != nil {
		return Result{}, explain(err, "fetch the CA bundle")
	}
	res, err := a.install(ctx, cas, bundle)
	if err != nil {
		return res, err
	}
	if res.BundleChanged || res.CertRenewed || a.reloadDue {
		a.reloadDue = true
		if err := a.reload(ctx); err != nil {
			return res, err
		}
		a.reloadDue, res.Reloaded = false, true
	}
	res.Revoked = a.revokeReplaced(ctx)
	return res, nil
}

// revokeReplaced revokes the certificate the one in place replaced, with
// reason superseded, once the database has reloaded: no client meets it any
// more, and a CA it came from can be retired without force. It returns the
// serial it revoked, or "". A failure does not fail the pass (the new files
// are in place): the agent says so, and tries again on the next pass while
// dbtrust cannot be reached.
func (a *Agent) revokeReplaced(ctx context.Context) string {
	serial := a.replaced
	if serial == "" || a.reloadDue {
		return ""
	}
	_, err := a.api.Revoke(ctx, a.inst.ID, serial, "superseded")
	code := dbtrust.ErrorCode(err)
	switch {
	case err == nil:
		a.log.Info("revoked the replaced certificate (superseded)", "serial", serial)
	case code == dbtrust.Unavailable || code == dbtrust.RateLimited:
		a.log.Warn(fmt.Sprintf("%v; it is tried again on the next pass", explain(err, "revoke the replaced certificate")), "serial", serial)
		return ""
	case code != dbtrust.Conflict: // Conflict: it is revoked already
		a.log.Warn(fmt.Sprintf("%v; revoke it with an account token ('dbtrust cert revoke INSTANCE %s --reason superseded') before retiring its CA without force",
			explain(err, "revoke the replaced certificate"), serial), "serial", serial)
	}
	a.replaced = ""
	if err != nil {
		return ""
	}
	return serial
}

// resolve finds the instance: a node token names its own (GET /v1/whoami),
// which must be the one asked for; any other token looks it up by name.
func (a *Agent) resolve(ctx context.Context) (client.Instance, error) {
	who, err := a.api.Whoami(ctx)
	if err != nil {
		return client.Instance{}, explain(err, "check the token")
	}
	var inst client.Instance
	if who.InstanceID != "" {
		if inst, err = a.api.GetInstance(ctx, who.InstanceID); err != nil {
			return inst, explain(err, "read the token's instance")
		}
		if inst.ID != a.cfg.Instance && inst.Name != a.cfg.Instance {
			return client.Instance{}, fmt.Errorf("this node token belongs to instance %s (%s), not %q: use that instance's token", inst.Name, inst.ID, a.cfg.Instance)
		}
		return inst, nil
	}
	list, err := a.api.ListInstances(ctx, "")
	if err != nil {
		return inst, explain(err, "list instances")
	}
	for _, i := range list {
		if i.ID == a.cfg.Instance || i.Name == a.cfg.Instance {
			return i, nil
		}
	}
	return inst, fmt.Errorf("dbtrust has no instance %q in this token's account", a.cfg.Instance)
}

// explain turns a failed call into a message that says what failed and
// what to do, in plain words: the client's message and hint, never Go's
// transport text.
func explain(err error, what string) error {
	msg := strings.TrimSpace(err.Error())
	var de *dbtrust.Error
	if errors.As(err, &de) {
		msg = strings.TrimSpace(de.Message)
	}
	if h := client.Hint(err); h != "" {
		msg += ": " + h
	}
	return fmt.Errorf("could not %s: %s", what, msg)
}
