package main

// The certificate lifecycle commands: ca, rotate, cert and recipe. Each works
// in one of two ways, with the same output:
//   - with --server URL (env DBTRUST_SERVER) and --token (env DBTRUST_TOKEN),
//     through a running dbtrust's native API (/v1), as the token's account
//     and role: the way to go when dbtrust runs elsewhere or as replicas;
//   - without --server, directly on the data folder (--data/--store), as the
//     local operator, like the other management commands.
// -o json prints the native API's own JSON.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/dialect/native"
)

// lifecycle is what the commands need, served locally or over /v1.
type lifecycle interface {
	instances(ctx context.Context) ([]native.Instance, error)
	cas(ctx context.Context, id string) (native.CAList, error)
	rotate(ctx context.Context, id, step, keyType string, force bool) (native.FinishResult, error)
	rotation(ctx context.Context, id string) (native.RotationStatus, error)
	issue(ctx context.Context, id string, req issueArgs) (native.Certificate, error)
	certs(ctx context.Context, id string) (native.CertificateList, error)
	revoke(ctx context.Context, id, serial, reason string) (native.Certificate, error)
	bundle(ctx context.Context, id string) ([]byte, error)
	recipes(ctx context.Context, id, caFile string) (native.Recipes, error)
	close()
}

type issueArgs struct {
	CommonName string   `json:"common_name,omitempty"`
	DNSNames   []string `json:"dns_names,omitempty"`
	IPs        []string `json:"ips,omitempty"`
	CSR        string   `json:"csr,omitempty"`
	KeyType    string   `json:"key_type,omitempty"`
	TTL        string   `json:"ttl,omitempty"`
	ClientAuth bool     `json:"client_auth,omitempty"`
}

// lifecycleFlags are the flags every lifecycle command shares.
type lifecycleFlags struct {
	common
	account string
	server  string
	token   string
	caCert  string
}

func (f *lifecycleFlags) register(fs *flag.FlagSet, env envFunc) {
	f.common.register(fs, env, true)
	fs.StringVar(&f.account, "account", env("DBTRUST_ACCOUNT"), "account ID or name, without --server (default: the only account)")
	fs.StringVar(&f.server, "server", env("DBTRUST_SERVER"), "URL of a running dbtrust to work through its /v1 API (env DBTRUST_SERVER); without it, work on the data folder directly")
	fs.StringVar(&f.token, "token", env("DBTRUST_TOKEN"), "bearer token for --server (env DBTRUST_TOKEN)")
	fs.StringVar(&f.caCert, "server-ca", env("DBTRUST_SERVER_CA"), "PEM file of the CA that signed --server's HTTPS certificate (env DBTRUST_SERVER_CA)")
}

func (f *lifecycleFlags) open(ctx context.Context) (lifecycle, error) {
	if f.server == "" {
		s, err := f.openAs(ctx, f.account)
		if err != nil {
			return nil, err
		}
		return localLifecycle{s}, nil
	}
	if f.token == "" {
		return nil, errors.New("--server needs --token (or DBTRUST_TOKEN)")
	}
	u, err := url.Parse(f.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--server %q is not an http(s) URL", f.server)
	}
	client := &http.Client{Timeout: 60 * time.Second}
	if f.caCert != "" {
		pem, err := os.ReadFile(f.caCert)
		if err != nil {
			return nil, err
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--server-ca %s holds no PEM certificate", f.caCert)
		}
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
	}
	return &remoteLifecycle{base: strings.TrimSuffix(f.server, "/"), token: f.token, client: client}, nil
}

// resolve turns an instance ID or name into an ID.
func resolve(ctx context.Context, lc lifecycle, idOrName string) (string, error) {
	list, err := lc.instances(ctx)
	if err != nil {
		return "", err
	}
	for _, i := range list {
		if i.ID == idOrName || i.Name == idOrName {
			return i.ID, nil
		}
	}
	return "", fmt.Errorf("no instance %q", idOrName)
}

// ---- local: the service on the data folder ----

type localLifecycle struct{ s *session }

func (l localLifecycle) close() {
	// The bundles this command handed out count as the operator's fetches.
	if err := l.s.svc.FlushAdoptions(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "warning: could not record this bundle fetch:", dbtrust.ErrorMessage(err))
	}
	l.s.store.Close()
}

func (l localLifecycle) instances(ctx context.Context) ([]native.Instance, error) {
	list, err := l.s.svc.ListInstances(ctx, l.s.p, "")
	var out []native.Instance
	for _, i := range list {
		out = append(out, native.FromInstance(i, l.s.svc.InstanceEndpoints(i)))
	}
	return out, err
}

func (l localLifecycle) cas(ctx context.Context, id string) (native.CAList, error) {
	cas, err := l.s.svc.InstanceCAs(ctx, l.s.p, id)
	return native.FromCAs(id, cas), err
}

func (l localLifecycle) rotate(ctx context.Context, id, step, keyType string, force bool) (native.FinishResult, error) {
	var cas []dbtrust.CA
	var lacking []dbtrust.Client
	var err error
	switch step {
	case "start":
		cas, err = l.s.svc.RotateStart(ctx, l.s.p, id, keyType)
	case "finish":
		cas, lacking, err = l.s.svc.RotateFinish(ctx, l.s.p, id, force)
	case "rollback":
		cas, err = l.s.svc.RotateRollback(ctx, l.s.p, id)
	case "retire":
		cas, err = l.s.svc.RotateRetire(ctx, l.s.p, id, force)
	}
	return native.FinishResult{CAList: native.FromCAs(id, cas), Lacking: native.FromClients(lacking)}, err
}

func (l localLifecycle) rotation(ctx context.Context, id string) (native.RotationStatus, error) {
	st, err := l.s.svc.RotationStatus(ctx, l.s.p, id)
	return native.FromRotationStatus(st), err
}

func (l localLifecycle) issue(ctx context.Context, id string, a issueArgs) (native.Certificate, error) {
	ttl, err := native.ParseDuration("ttl", a.TTL)
	if err != nil {
		return native.Certificate{}, err
	}
	c, err := l.s.svc.IssueCertificate(ctx, l.s.p, id, dbtrust.IssueRequest{CommonName: a.CommonName, DNSNames: a.DNSNames,
		IPs: a.IPs, CSRPEM: []byte(a.CSR), KeyType: a.KeyType, TTL: ttl, Client: a.ClientAuth})
	return native.FromCertificate(c, time.Now()), err
}

func (l localLifecycle) certs(ctx context.Context, id string) (native.CertificateList, error) {
	list, err := l.s.svc.ListIssuedCertificates(ctx, l.s.p, id)
	out := native.CertificateList{Certificates: []native.Certificate{}}
	for _, c := range list {
		out.Certificates = append(out.Certificates, native.FromCertificate(c, time.Now()))
	}
	return out, err
}

func (l localLifecycle) revoke(ctx context.Context, id, serial, reason string) (native.Certificate, error) {
	c, err := l.s.svc.RevokeIssuedCertificate(ctx, l.s.p, id, serial, reason)
	return native.FromCertificate(c, time.Now()), err
}

func (l localLifecycle) bundle(ctx context.Context, id string) ([]byte, error) {
	return l.s.svc.InstanceCABundle(ctx, l.s.p, id)
}

func (l localLifecycle) recipes(ctx context.Context, id, caFile string) (native.Recipes, error) {
	inst, rs, err := l.s.svc.ConnectionRecipes(ctx, l.s.p, id, caFile)
	if err != nil {
		return native.Recipes{}, err
	}
	return native.FromRecipes(inst, l.s.svc.InstanceEndpoint(inst), caFile, rs), nil
}

// ---- remote: a running server's /v1 API ----

type remoteLifecycle struct {
	base, token string
	client      *http.Client
}

func (r *remoteLifecycle) close() {}

// call sends one /v1 request and decodes its JSON answer into out (or, when
// out is a *[]byte, keeps the raw body). An error answer becomes an error
// with the server's code and message.
func (r *remoteLifecycle) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+r.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var eb native.ErrorBody
		if json.Unmarshal(b, &eb) == nil && eb.Error.Code != "" {
			return &dbtrust.Error{Code: dbtrust.Code(eb.Error.Code), Message: eb.Error.Message, Field: eb.Error.Field}
		}
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = b
		return nil
	}
	return json.Unmarshal(b, out)
}

func (r *remoteLifecycle) instances(ctx context.Context) ([]native.Instance, error) {
	var l native.InstanceList
	err := r.call(ctx, "GET", "/v1/instances", nil, &l)
	return l.Instances, err
}

func (r *remoteLifecycle) cas(ctx context.Context, id string) (native.CAList, error) {
	var l native.CAList
	return l, r.call(ctx, "GET", "/v1/instances/"+url.PathEscape(id)+"/cas", nil, &l)
}

func (r *remoteLifecycle) rotate(ctx context.Context, id, step, keyType string, force bool) (native.FinishResult, error) {
	var body any
	switch step {
	case "start":
		body = map[string]string{"key_type": keyType}
	case "finish", "retire":
		body = map[string]bool{"force": force}
	}
	var l native.FinishResult
	return l, r.call(ctx, "POST", "/v1/instances/"+url.PathEscape(id)+"/rotation/"+step, body, &l)
}

func (r *remoteLifecycle) rotation(ctx context.Context, id string) (native.RotationStatus, error) {
	var st native.RotationStatus
	return st, r.call(ctx, "GET", "/v1/instances/"+url.PathEscape(id)+"/rotation", nil, &st)
}

func (r *remoteLifecycle) issue(ctx context.Context, id string, a issueArgs) (native.Certificate, error) {
	var c native.Certificate
	return c, r.call(ctx, "POST", "/v1/instances/"+url.PathEscape(id)+"/certificates", a, &c)
}

func (r *remoteLifecycle) certs(ctx context.Context, id string) (native.CertificateList, error) {
	var l native.CertificateList
	return l, r.call(ctx, "GET", "/v1/instances/"+url.PathEscape(id)+"/certificates", nil, &l)
}

func (r *remoteLifecycle) revoke(ctx context.Context, id, serial, reason string) (native.Certificate, error) {
	var c native.Certificate
	return c, r.call(ctx, "POST", "/v1/instances/"+url.PathEscape(id)+"/certificates/"+url.PathEscape(serial)+"/revoke",
		map[string]string{"reason": reason}, &c)
}

func (r *remoteLifecycle) bundle(ctx context.Context, id string) ([]byte, error) {
	var b []byte
	return b, r.call(ctx, "GET", "/v1/instances/"+url.PathEscape(id)+"/ca-bundle", nil, &b)
}

func (r *remoteLifecycle) recipes(ctx context.Context, id, caFile string) (native.Recipes, error) {
	var rc native.Recipes
	return rc, r.call(ctx, "GET", "/v1/instances/"+url.PathEscape(id)+"/recipes?ca_file="+url.QueryEscape(caFile), nil, &rc)
}

// ---- commands ----

func printCAs(stdout io.Writer, format string, l native.CAList) error {
	return printOut(stdout, format, l, func(w io.Writer) {
		fmt.Fprintln(w, "STATE\tID\tKEY\tSHA256\tNOT BEFORE\tNOT AFTER")
		for _, c := range l.CAs {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", c.State, c.ID, c.KeyType, c.Fingerprint, c.NotBefore, c.NotAfter)
		}
	})
}

// cmdCA: dbtrust ca list INSTANCE.
func cmdCA(ctx context.Context, args []string, env envFunc, stdout, stderr io.Writer) error {
	sub, args, err := subcommand(args, "dbtrust ca list INSTANCE")
	if err != nil {
		return err
	}
	if sub != "list" {
		return fmt.Errorf("unknown ca command %q: want list", sub)
	}
	fs := newFlagSet("dbtrust ca list", stderr)
	var f lifecycleFlags
	f.register(fs, env)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: dbtrust ca list INSTANCE")
	}
	lc, err := f.open(ctx)
	if err != nil {
		return err
	}
	defer lc.close()
	id, err := resolve(ctx, lc, pos[0])
	if err != nil {
		return err
	}
	l, err := lc.cas(ctx, id)
	if err != nil {
		return err
	}
	return printCAs(stdout, f.output, l)
}

// cmdRotate: dbtrust rotate start|finish|rollback|retire INSTANCE.
func cmdRotate(ctx context.Context, args []string, env envFunc, stdout, stderr io.Writer) error {
	const use = "dbtrust rotate status | start [--key-type T] | finish [--force] | rollback | retire [--force]  INSTANCE"
	sub, args, err := subcommand(args, use)
	if err != nil {
		return err
	}
	switch sub {
	case "status", "start", "finish", "rollback", "retire":
	default:
		return fmt.Errorf("unknown rotate step %q: want status, start, finish, rollback or retire", sub)
	}
	fs := newFlagSet("dbtrust rotate "+sub, stderr)
	var f lifecycleFlags
	f.register(fs, env)
	keyType := fs.String("key-type", "", "start: key type of the next CA (default: the current CA's)")
	force := fs.Bool("force", false, "finish: even while an agent of the instance has not installed the next CA; retire: even while certificates of the previous CA are still live")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: " + use)
	}
	lc, err := f.open(ctx)
	if err != nil {
		return err
	}
	defer lc.close()
	id, err := resolve(ctx, lc, pos[0])
	if err != nil {
		return err
	}
	if sub == "status" {
		st, err := lc.rotation(ctx, id)
		if err != nil {
			return err
		}
		return printRotation(stdout, f.output, st)
	}
	l, err := lc.rotate(ctx, id, sub, *keyType, *force)
	if err != nil {
		return err
	}
	if f.output == "json" {
		return printOut(stdout, f.output, l, nil)
	}
	if err := printCAs(stdout, f.output, l.CAList); err != nil {
		return err
	}
	if len(l.Lacking) > 0 {
		fmt.Fprintf(stdout, "\nWarning: %d known client(s) had not fetched the bundle with the new CA:\n", len(l.Lacking))
		printClients(stdout, l.Lacking)
	}
	fmt.Fprintf(stdout, "\n%s\n", rotateHints[sub])
	return nil
}

// printRotation prints an instance's rotation stage and its clients.
func printRotation(stdout io.Writer, format string, st native.RotationStatus) error {
	if format == "json" {
		return printOut(stdout, format, st, nil)
	}
	fmt.Fprintf(stdout, "stage:   %s\nnew CA:  %s (SHA-256 %s)\nclients: %d hold it, %d do not\n\n",
		st.Stage, st.NewCAID, st.NewCASHA256, st.HoldingCount, st.LackingCount)
	printClients(stdout, st.Clients)
	return nil
}

func printClients(stdout io.Writer, cs []native.RotationClient) {
	printOut(stdout, "table", cs, func(w io.Writer) {
		fmt.Fprintln(w, "HOLDS NEW CA\tKIND\tNAME\tSUBJECT\tVIA\tLAST FETCH\tFETCHES")
		for _, c := range cs {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", yesNo(c.HoldsNext), c.Kind, dash(c.Name), c.Subject, dash(c.Via), c.LastFetch, c.Fetches)
		}
	})
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// rotateHints says, after each step, what the operator does next.
var rotateHints = map[string]string{
	"start":    "The bundle now holds the current and the next CA. Let clients fetch it again (dbtrust recipe, or their\nvendor API), then run 'dbtrust rotate finish'.",
	"finish":   "New certificates now come from the new CA; the old one stays in the bundle as previous. Re-issue the\nnodes' certificates (dbtrust cert issue), then 'dbtrust rotate retire'. 'dbtrust rotate rollback' undoes this step.",
	"rollback": "The old CA is current again and the new one is back to next: 'dbtrust rotate finish' promotes it again.",
	"retire":   "The previous CA is no longer served.",
}

// cmdCert: dbtrust cert issue|list|revoke.
func cmdCert(ctx context.Context, args []string, env envFunc, stdout, stderr io.Writer) error {
	const use = "dbtrust cert issue INSTANCE [--dns N] [--ip A] [--csr FILE] [--cert-out F --key-out F] | list INSTANCE | revoke INSTANCE SERIAL [--reason R]"
	sub, args, err := subcommand(args, use)
	if err != nil {
		return err
	}
	fs := newFlagSet("dbtrust cert "+sub, stderr)
	var f lifecycleFlags
	f.register(fs, env)
	var a issueArgs
	var dns, ips stringList
	var csrFile, certOut, keyOut, caOut, reason string
	switch sub {
	case "issue":
		fs.Var(&dns, "dns", "DNS name (repeatable, or comma-separated; default: the instance's host name)")
		fs.Var(&ips, "ip", "IP address (repeatable, or comma-separated)")
		fs.StringVar(&a.CommonName, "cn", "", "common name (default: the first DNS name or IP)")
		fs.StringVar(&csrFile, "csr", "", "PEM certificate request file: the node keeps its key")
		fs.StringVar(&a.KeyType, "key-type", "", "without --csr: key type to generate (ecdsa-p256 default, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096)")
		fs.StringVar(&a.TTL, "ttl", "", "lifetime, e.g. 2160h (default 90 days; capped at the CA's expiry)")
		fs.BoolVar(&a.ClientAuth, "client", false, "allow client authentication too")
		fs.StringVar(&certOut, "cert-out", "", "write the certificate (PEM) to this file")
		fs.StringVar(&keyOut, "key-out", "", "write the generated private key (PEM, mode 0600) to this file")
		fs.StringVar(&caOut, "ca-out", "", "write the instance's CA bundle (PEM) to this file")
	case "revoke":
		fs.StringVar(&reason, "reason", "", "unspecified, key_compromise, ca_compromise, affiliation_changed, superseded, cessation_of_operation or privilege_withdrawn")
	case "list":
	default:
		return fmt.Errorf("unknown cert command %q: want issue, list or revoke", sub)
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 1 || (sub == "revoke") != (len(pos) == 2) || len(pos) > 2 {
		return errors.New("usage: " + use)
	}
	lc, err := f.open(ctx)
	if err != nil {
		return err
	}
	defer lc.close()
	id, err := resolve(ctx, lc, pos[0])
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		l, err := lc.certs(ctx, id)
		if err != nil {
			return err
		}
		return printOut(stdout, f.output, l, func(w io.Writer) {
			fmt.Fprintln(w, "SERIAL\tSTATE\tNAMES\tKEY\tSHA256\tNOT AFTER\tCA")
			for _, c := range l.Certificates {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Serial, c.State, strings.Join(append(append([]string{}, c.DNSNames...), c.IPs...), ","),
					c.KeyType, c.Fingerprint, c.NotAfter, c.CAID)
			}
		})
	case "revoke":
		c, err := lc.revoke(ctx, id, pos[1], reason)
		if err != nil {
			return err
		}
		return printOut(stdout, f.output, c, func(w io.Writer) {
			fmt.Fprintf(w, "revoked %s (%s) at %s; it is in the CRL of CA %s\n", c.Serial, c.RevocationReason, c.RevokedAt, c.CAID)
		})
	}
	a.DNSNames, a.IPs = dns, ips
	if csrFile != "" {
		b, err := os.ReadFile(csrFile)
		if err != nil {
			return err
		}
		a.CSR = string(b)
	}
	c, err := lc.issue(ctx, id, a)
	if err != nil {
		return err
	}
	var bundle []byte
	if caOut != "" {
		if bundle, err = lc.bundle(ctx, id); err != nil {
			return err
		}
	}
	for _, w := range []struct {
		path string
		data []byte
		mode os.FileMode
	}{{certOut, []byte(c.CertificatePEM), 0o644}, {keyOut, []byte(c.PrivateKeyPEM), 0o600}, {caOut, bundle, 0o644}} {
		if w.path == "" || len(w.data) == 0 {
			continue
		}
		if err := writeFile(w.path, w.data, w.mode); err != nil {
			return err
		}
	}
	return printOut(stdout, f.output, c, func(w io.Writer) {
		fmt.Fprintf(w, "serial:\t%s\nnames:\t%s\nkey:\t%s\nsha256:\t%s\nvalid:\t%s to %s\nca:\t%s\n", c.Serial,
			strings.Join(append(append([]string{}, c.DNSNames...), c.IPs...), ","), c.KeyType, c.Fingerprint, c.NotBefore, c.NotAfter, c.CAID)
		if certOut != "" {
			fmt.Fprintf(w, "certificate:\t%s\n", certOut)
		}
		if keyOut != "" && c.PrivateKeyPEM != "" {
			fmt.Fprintf(w, "private key:\t%s (shown only now; dbtrust keeps no copy)\n", keyOut)
		}
		if caOut != "" {
			fmt.Fprintf(w, "ca bundle:\t%s\n", caOut)
		}
		if certOut == "" {
			fmt.Fprint(w, "\n", c.CertificatePEM)
		}
		if keyOut == "" && c.PrivateKeyPEM != "" {
			fmt.Fprint(w, c.PrivateKeyPEM)
		}
	})
}

// writeFile writes data to path with mode, replacing the file whole and
// creating its folder if needed (e.g. ~/.postgresql for libpq's root.crt).
func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".dbtrust-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// cmdRecipe: dbtrust recipe INSTANCE [--ca-file PATH] [--client NAME]
// writes the instance's CA bundle where the recipes expect it and prints how
// to connect with full verification.
func cmdRecipe(ctx context.Context, args []string, env envFunc, stdout, stderr io.Writer) error {
	const use = "dbtrust recipe INSTANCE [--ca-file PATH] [--client NAME] [--no-write]"
	fs := newFlagSet("dbtrust recipe", stderr)
	var f lifecycleFlags
	f.register(fs, env)
	caFile := fs.String("ca-file", "", "where to write the CA bundle (default ./NAME-ca.pem)")
	client := fs.String("client", "", "print only this client's recipe (e.g. psql, jdbc, redis-cli, mongosh)")
	noWrite := fs.Bool("no-write", false, "print the recipes without writing the bundle")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: " + use)
	}
	lc, err := f.open(ctx)
	if err != nil {
		return err
	}
	defer lc.close()
	id, err := resolve(ctx, lc, pos[0])
	if err != nil {
		return err
	}
	path := *caFile
	if path == "" {
		list, err := lc.instances(ctx)
		if err != nil {
			return err
		}
		for _, i := range list {
			if i.ID == id {
				path = dbtrust.BundleFile(i.Name)
			}
		}
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	rc, err := lc.recipes(ctx, id, path)
	if err != nil {
		return err
	}
	if *client != "" {
		var keep []native.Recipe
		for _, r := range rc.Recipes {
			if r.Client == *client {
				keep = append(keep, r)
			}
		}
		if len(keep) == 0 {
			return fmt.Errorf("no recipe for client %q of engine %s", *client, rc.Engine)
		}
		rc.Recipes = keep
	}
	if !*noWrite {
		bundle, err := lc.bundle(ctx, id)
		if err != nil {
			return err
		}
		if err := writeFile(path, bundle, 0o644); err != nil {
			return err
		}
	}
	return printOut(stdout, f.output, rc, func(w io.Writer) {
		if !*noWrite {
			fmt.Fprintf(w, "# CA bundle written to %s (fetch it again after each rotation start)\n", path)
		}
		for _, r := range rc.Recipes {
			fmt.Fprintf(w, "# %s: %s\n%s\n", r.Client, r.Title, r.Command)
		}
	})
}
