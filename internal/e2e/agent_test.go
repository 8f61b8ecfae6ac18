package e2e_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust/client"
	"github.com/dbtrust/dbtrust/internal/agent"
	"github.com/dbtrust/dbtrust/internal/pgtest"
)

// node is one database server with its agent and a client that connects to
// it over and over with full verification.
type node struct {
	name     string
	dir      string // the agent's folder
	inst     client.Instance
	connect  func(bundleFile string) (*x509.Certificate, error) // one verified connection
	cli      func(bundleFile string) error                      // the recipe's own client, now and then
	made     atomic.Int64
	failed   atomic.Int64
	mu       sync.Mutex
	lastErrs []string
}

// TestAgentsAcrossRotation runs a real PostgreSQL and a real Redis, each
// with a dbtrust agent that holds only a node token of its instance, and
// drives a whole CA rotation (start, finish, retire) while clients connect
// continuously with full verification, each with the bundle as it fetches it
// from dbtrust at that moment. No connection may fail, and at the end each
// server presents a certificate from the new CA and the old CA is retired.
func TestAgentsAcrossRotation(t *testing.T) {
	if os.Getenv("CI") == "true" && !pgtest.Available() {
		t.Fatal("PostgreSQL server binaries are missing (.ci/run installs them)")
	}
	rs := startRedis(t)
	pg := pgtest.StartServer(t)
	d := startTrust(t)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()

	pgNode := &node{name: "postgres", dir: pg.OwnedDir("tls")}
	pgNode.inst = d.createWith("orders", "pg", fmt.Sprintf("127.0.0.1:%d", pg.Port()), fmt.Sprintf("localhost:%d", pg.Port()))
	pgNode.connect = func(f string) (*x509.Certificate, error) { return pgConnect(pg.Port(), f) }
	pgNode.cli = func(f string) error {
		if out, ok, err := psql(t, pg.Port(), f); ok && (err != nil || out != "t") {
			return fmt.Errorf("psql: %q, %v", out, err)
		}
		return nil
	}
	d.runAgent(ctx, pgNode, pg.ReloadCommand())
	pg.UseTLSFiles(filepath.Join(pgNode.dir, "server.crt"), filepath.Join(pgNode.dir, "server.key"))
	pg.Restart()

	rdNode := &node{name: "redis", dir: t.TempDir()}
	rdNode.inst = d.createWith("sessions", "redis", fmt.Sprintf("127.0.0.1:%d", rs.port))
	rdNode.connect = func(f string) (*x509.Certificate, error) { return redisPing(rs.port, f) }
	rdNode.cli = func(f string) error {
		if out, err := redisCLI(t, rs.port, f); err != nil || (out != "" && out != "PONG") {
			return fmt.Errorf("redis-cli: %q, %v", out, err)
		}
		return nil
	}
	dir := rdNode.dir
	d.runAgent(ctx, rdNode, fmt.Sprintf("redis-cli -h 127.0.0.1 -p %d --tls --cacert %s CONFIG SET tls-cert-file %s tls-key-file %s tls-ca-cert-file %s",
		rs.port, filepath.Join(dir, "ca.pem"), filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"), filepath.Join(dir, "ca.pem")))
	rs.startWith(dir)

	nodes := []*node{pgNode, rdNode}
	var clients sync.WaitGroup
	for _, n := range nodes {
		clients.Add(1)
		go func() { defer clients.Done(); d.clientLoop(ctx, n) }()
	}
	start := time.Now()
	for _, step := range []string{"start", "finish", "retire"} {
		d.waitConnections(nodes, 20)
		d.rotateAll(nodes, step)
	}
	d.waitConnections(nodes, 20)
	stop()
	clients.Wait()

	for _, n := range nodes {
		t.Logf("%s: %d verified connections across the rotation, %d failed (%s)", n.name, n.made.Load(), n.failed.Load(), time.Since(start).Round(time.Millisecond))
		if n.failed.Load() != 0 {
			t.Errorf("%s: %d connections failed: %s", n.name, n.failed.Load(), strings.Join(n.lastErrs, "; "))
		}
	}
}

// createWith creates an instance with endpoints through the native API.
func (d *trust) createWith(name, engine string, endpoints ...string) client.Instance {
	d.t.Helper()
	var eps []map[string]any
	for _, e := range endpoints {
		host, port, _ := strings.Cut(e, ":")
		var p int
		fmt.Sscan(port, &p)
		eps = append(eps, map[string]any{"host": host, "port": p})
	}
	var inst client.Instance
	d.call("POST", "/v1/instances", "Authorization", map[string]any{"name": name, "engine": engine, "endpoints": eps}, &inst, 201)
	return inst
}

// runAgent makes n's node token, runs one pass (so the server can start
// with the files), then keeps the agent running until ctx is done.
func (d *trust) runAgent(ctx context.Context, n *node, reload string) {
	d.t.Helper()
	var tok client.Token
	d.call("POST", "/v1/instances/"+n.inst.ID+"/node-tokens", "Authorization", map[string]any{"name": n.name + "-1"}, &tok, 201)
	a, err := agent.New(agent.Config{Server: d.url, Token: tok.Secret, Instance: n.inst.Name, Dir: n.dir, Interval: 100 * time.Millisecond})
	if err != nil {
		d.t.Fatal(err)
	}
	if _, err := a.Once(ctx); err != nil {
		d.t.Fatalf("%s agent, first pass: %v", n.name, err)
	}
	// From now on the server runs: every change is followed by a reload.
	a, err = agent.New(agent.Config{Server: d.url, Token: tok.Secret, Instance: n.inst.ID, Dir: n.dir, Interval: 100 * time.Millisecond, Reload: reload})
	if err != nil {
		d.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); a.Run(ctx) }()
	d.t.Cleanup(func() { <-done })
}

// clientLoop connects to n again and again until ctx is done, each time
// with the bundle fetched from dbtrust (DigitalOcean's CA endpoint) just
// before; every tenth time it also runs the recipe's own client.
func (d *trust) clientLoop(ctx context.Context, n *node) {
	file := filepath.Join(d.t.TempDir(), "ca.pem")
	for i := 0; ctx.Err() == nil; i++ {
		if err := os.WriteFile(file, d.doBundle(n.inst.ID), 0o600); err != nil {
			d.t.Error(err)
			return
		}
		_, err := n.connect(file)
		if err == nil && i%10 == 0 {
			err = n.cli(file)
		}
		n.made.Add(1)
		if err != nil {
			n.failed.Add(1)
			n.mu.Lock()
			n.lastErrs = append(n.lastErrs, err.Error())
			n.mu.Unlock()
		}
	}
}

// waitConnections waits until every client has made k more connections.
func (d *trust) waitConnections(nodes []*node, k int64) {
	d.t.Helper()
	for _, n := range nodes {
		target := n.made.Load() + k
		waitFor(d.t, n.name+" client connecting", func() error {
			if n.made.Load() < target {
				return fmt.Errorf("%d of %d connections", n.made.Load(), target)
			}
			return nil
		})
	}
}

// rotateAll takes one rotation step on every node's instance and waits until
// each agent has acted on it: the bundle with both CAs after start, a
// server presenting the new CA's certificate after finish, the bundle with
// the new CA alone after retire.
func (d *trust) rotateAll(nodes []*node, step string) {
	d.t.Helper()
	for _, n := range nodes {
		var l client.CAList
		// No force at retire: each agent revoked the certificate it replaced.
		d.call("POST", "/v1/instances/"+n.inst.ID+"/rotation/"+step, "Authorization", map[string]any{}, &l, 200)
		switch step {
		case "start", "retire":
			want := map[string]int{"start": 2, "retire": 1}[step]
			waitFor(d.t, n.name+" agent installing the bundle after "+step, func() error {
				b, _ := os.ReadFile(filepath.Join(n.dir, "ca.pem"))
				if c := strings.Count(string(b), "BEGIN CERTIFICATE"); c != want {
					return fmt.Errorf("ca.pem holds %d CAs, want %d", c, want)
				}
				return nil
			})
		case "finish":
			current := caFingerprint(d.t, l, "current")
			var currentID string
			for _, ca := range l.CAs {
				if ca.State == "current" {
					currentID = ca.ID
				}
			}
			waitFor(d.t, n.name+" presenting a certificate from the new CA", func() error {
				bundle := d.doBundle(n.inst.ID)
				leaf, err := n.connect(save(d.t, d.t.TempDir(), "probe.pem", bundle))
				if err != nil {
					return err
				}
				if got := issuerFingerprint(d.t, leaf, bundle); got != current {
					return fmt.Errorf("the server's certificate is from %s, want %s", got, current)
				}
				return nil
			})
			waitFor(d.t, n.name+" agent revoking the certificate it replaced", func() error {
				var certs client.CertificateList
				d.call("GET", "/v1/instances/"+n.inst.ID+"/certificates", "Authorization", nil, &certs, 200)
				for _, c := range certs.Certificates {
					if c.CAID != currentID && (c.RevokedAt == "" || c.RevocationReason != "superseded") {
						return fmt.Errorf("certificate %s from the old CA is not revoked as superseded", c.Serial)
					}
				}
				return nil
			})
		}
		if step == "retire" {
			var cas client.CAList
			d.call("GET", "/v1/instances/"+n.inst.ID+"/cas", "Authorization", nil, &cas, 200)
			states := map[string]int{}
			for _, ca := range cas.CAs {
				states[ca.State]++
			}
			if states["current"] != 1 || states["retired"] != 1 || len(cas.CAs) != 2 || strings.Count(cas.BundlePEM, "BEGIN CERTIFICATE") != 1 {
				d.t.Fatalf("after retire the CAs are %v and the bundle holds %d, want one current, one retired, a bundle of one", states, strings.Count(cas.BundlePEM, "BEGIN CERTIFICATE"))
			}
		}
	}
}
