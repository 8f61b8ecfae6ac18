package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// bench is one measurement in progress.
type bench struct {
	cfg  config
	cpu  int
	dir  string
	self string
	env  []string
	rows []row
	out  io.Writer

	token, hotID string   // kept from the HTTP run for the HTTPS one
	notes        []string // lines printed under the table
}

func measure(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	dir, err := os.MkdirTemp("", "dbtrust-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	b := &bench{cfg: cfg, cpu: serverCPU(cfg.ServerCPU), dir: dir, self: self, env: cleanEnv(dir), out: stderr}
	pin := "not pinned (no taskset or one core)"
	if b.cpu >= 0 {
		pin = fmt.Sprintf("pinned to core %d with taskset", b.cpu)
	}
	fmt.Fprintf(stdout, "dbtrust-load: servers %s; %d rounds of %s each, interleaved; %d connections for CA fetches, %d clients for issuance\n",
		pin, cfg.Rounds, cfg.Duration, cfg.Conns, cfg.IssueClients)
	fmt.Fprintf(stdout, "load average at start: %s\n", loadAvg())
	if err := b.overHTTP(ctx); err != nil {
		return err
	}
	if cfg.HTTPS {
		if err := b.overHTTPS(ctx); err != nil {
			return err
		}
	}
	if cfg.Fleet > 0 {
		if err := b.fleet(ctx); err != nil {
			return err
		}
	}
	printTable(stdout, b.rows)
	for _, n := range b.notes {
		fmt.Fprintln(stdout, n)
	}
	fmt.Fprintf(stdout, "load average at end: %s\n", loadAvg())
	return nil
}

// startDbtrust starts dbtrust serve on the data folder with extra flags;
// on the first start (fresh) it waits for the owner token dbtrust prints.
func (b *bench) startDbtrust(ctx context.Context, fresh bool, extra ...string) (*proc, error) {
	return b.startDbtrustOn(ctx, filepath.Join(b.dir, "data"), b.cpu, fresh, extra...)
}

// startDbtrustOn is startDbtrust on the data folder data, pinned to core
// cpu (-1: not pinned).
func (b *bench) startDbtrustOn(ctx context.Context, data string, cpu int, fresh bool, extra ...string) (*proc, error) {
	argv := pinned(cpu, append([]string{b.cfg.Dbtrust, "serve", "--data", data, "--addr", "127.0.0.1:0",
		"--rate-limit", "1000000000"}, extra...)...)
	return start(ctx, argv, b.env, data+".log", func(p *proc, line string) bool {
		if rest, ok := strings.CutPrefix(line, "dbtrust "); ok && strings.Contains(rest, " serving on ") {
			p.URL = rest[strings.Index(rest, " serving on ")+len(" serving on "):]
		}
		if rest, ok := strings.CutPrefix(line, "account:"); ok && strings.Contains(rest, "(") {
			p.Account, _, _ = strings.Cut(rest[strings.Index(rest, "(")+1:], ")")
		}
		if tok, ok := strings.CutPrefix(line, "token:"); ok {
			p.Token = strings.TrimSpace(tok)
			return true
		}
		return !fresh && strings.HasPrefix(line, "account:")
	})
}

// startCeiling starts the bare handler serving body.
func (b *bench) startCeiling(ctx context.Context, body []byte, ctype string, extra ...string) (*proc, error) {
	f := filepath.Join(b.dir, "body")
	if err := os.WriteFile(f, body, 0o600); err != nil {
		return nil, err
	}
	argv := pinned(b.cpu, append([]string{b.self, "ceiling", "--body", f, "--content-type", ctype}, extra...)...)
	return start(ctx, argv, b.env, filepath.Join(b.dir, "ceiling.log"), func(p *proc, line string) bool {
		u, ok := strings.CutPrefix(line, "serving on ")
		p.URL = u
		return ok
	})
}

// overHTTP runs every plain-HTTP scenario against one dbtrust.
func (b *bench) overHTTP(ctx context.Context) (err error) {
	p, err := b.startDbtrust(ctx, true)
	if err != nil {
		return err
	}
	defer p.stop()
	if p.Token == "" {
		return fmt.Errorf("dbtrust printed no owner token: is %s a fresh data folder?", b.dir)
	}
	d := &dbtrustAPI{p: p, token: p.Token, hc: newClient(b.cfg.Conns, nil)}
	hot, err := d.createInstance(ctx, "load-hot")
	if err != nil {
		return err
	}
	ids := []string{hot}
	b.token, b.hotID = p.Token, hot
	body, ctype, err := d.bundle(ctx, ids[0])
	if err != nil {
		return err
	}
	c, err := b.startCeiling(ctx, body, ctype)
	if err != nil {
		return err
	}
	defer c.stop()
	ceil := ceilingFetch(c, newClient(b.cfg.Conns, nil), b.cfg.Conns, b.cfg.Duration)
	if err := b.interleave(ctx, "CA fetch, one hot instance, HTTP", d.caFetch(ids, b.cfg.Conns, b.cfg.Duration), "bare handler", ceil); err != nil {
		return err
	}
	if err := b.astraLists(ctx, d, p.Account, hot); err != nil {
		return err
	}
	if err := b.fleets(ctx, d, ceil); err != nil {
		return err
	}
	issue := fmt.Sprintf("issuance, server-generated P-256 key, %d clients", b.cfg.IssueClients)
	if err := b.interleave(ctx, issue, d.issue(ids[0], b.cfg.IssueClients, b.cfg.Duration), "raw Go crypto, 1 core (keygen+sign+PEM)",
		rawCrypto(b.self, b.cpu, b.cfg.Duration, "issue")); err != nil {
		return err
	}
	if err := b.postgresIssuance(ctx, d.issue(ids[0], b.cfg.IssueClients, b.cfg.Duration)); err != nil {
		return err
	}
	fmt.Fprintf(b.out, "dbtrust RSS after the HTTP scenarios: %d MB\n", p.rssMB())
	return nil
}

// fleets grows the fleet to each size in turn and measures CA fetches for
// random instances among it.
func (b *bench) fleets(ctx context.Context, d *dbtrustAPI, ceil func(context.Context) (result, error)) error {
	var ids []string
	for _, n := range b.cfg.Instances {
		more, r, err := d.createInstances(ctx, len(ids), n-len(ids))
		if err != nil {
			return err
		}
		ids = append(ids, more...)
		fmt.Fprintf(b.out, "created %d instances in %s: %.0f/s, server CPU %s each\n", len(more), r.Elapsed.Round(time.Millisecond),
			r.rate(), r.cpuPerOp())
		b.rows = append(b.rows, row{Name: fmt.Sprintf("instance creation (%d, 8 clients)", len(more)), Target: "dbtrust", Runs: []result{r}})
		name := fmt.Sprintf("CA fetch, random among %d instances, HTTP", n)
		if err := b.interleave(ctx, name, d.caFetch(ids, b.cfg.Conns, b.cfg.Duration), "bare handler", ceil); err != nil {
			return err
		}
	}
	return nil
}

// bundle fetches an instance's CA answer once, for the ceiling to serve.
func (d *dbtrustAPI) bundle(ctx context.Context, id string) ([]byte, string, error) {
	resp, err := d.hc.Do(d.request("GET", "/v2/databases/"+id+"/ca", nil).WithContext(ctx))
	if err != nil {
		return nil, "", err
	}
	body, err := readAll(resp.Body)
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("GET /v2/databases/%s/ca answered %d: %.200s", id, resp.StatusCode, body)
	}
	return body, resp.Header.Get("Content-Type"), nil
}

// overHTTPS restarts dbtrust on the same data folder with a certificate
// this tool makes, which the ceiling serves too, and measures the hot CA
// fetch over HTTPS keep-alive.
func (b *bench) overHTTPS(ctx context.Context) error {
	certFile, keyFile, certPEM, err := writeServingCert(b.dir)
	if err != nil {
		return err
	}
	p, err := b.startDbtrust(ctx, false, "--tls-cert", certFile, "--tls-key", keyFile)
	if err != nil {
		return err
	}
	defer p.stop()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots}
	d := &dbtrustAPI{p: p, token: b.token, hc: newClient(b.cfg.Conns, tr)}
	body, ctype, err := d.bundle(ctx, b.hotID)
	if err != nil {
		return err
	}
	c, err := b.startCeiling(ctx, body, ctype, "--tls-cert", certFile, "--tls-key", keyFile)
	if err != nil {
		return err
	}
	defer c.stop()
	ctr := tr.Clone()
	ceil := ceilingFetch(c, newClient(b.cfg.Conns, ctr), b.cfg.Conns, b.cfg.Duration)
	return b.interleave(ctx, "CA fetch, one hot instance, HTTPS keep-alive", d.caFetch([]string{b.hotID}, b.cfg.Conns, b.cfg.Duration), "bare handler, same certificate", ceil)
}
