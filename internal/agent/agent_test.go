package agent_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/agent"
	"github.com/dbtrust/dbtrust/internal/pki"
	"github.com/dbtrust/dbtrust/internal/server"
	"github.com/dbtrust/dbtrust/internal/servicetest"
)

// env is a real dbtrust over HTTP with one instance and its node token.
type env struct {
	t     *testing.T
	svc   *dbtrust.Service
	owner dbtrust.Principal
	srv   *httptest.Server
	front atomic.Pointer[http.Handler] // what srv serves; tests put a proxy in front of dbtrust
	real  http.Handler                 // dbtrust itself
	inst  dbtrust.Instance
	node  string // the instance's node token
	dir   string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	se := servicetest.New(t, dbtrust.Options{})
	e := &env{t: t, svc: se.Service, owner: se.Owner(), dir: t.TempDir()}
	e.real = server.New(server.Config{Service: se.Service})
	e.serve(e.real)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*e.front.Load()).ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	ctx := context.Background()
	var err error
	e.inst, err = e.svc.CreateInstance(ctx, e.owner, dbtrust.InstanceSpec{Name: "orders", Engine: "pg",
		Endpoints: []dbtrust.Endpoint{{Host: "db1.example.internal", Port: 5432}, {Host: "127.0.0.1", Port: 5432}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, e.node, err = e.svc.CreateNodeToken(ctx, e.owner, e.inst.ID, "orders-1"); err != nil {
		t.Fatal(err)
	}
	return e
}

// serve puts h in front: the test server serves it from the next request.
func (e *env) serve(h http.Handler) { e.front.Store(&h) }

func (e *env) agent(mod func(*agent.Config)) *agent.Agent {
	e.t.Helper()
	cfg := agent.Config{Server: e.srv.URL, Token: e.node, Instance: "orders", Dir: e.dir,
		Reload: "echo reloaded >> " + filepath.Join(e.t.TempDir(), "reloads")}
	if mod != nil {
		mod(&cfg)
	}
	a, err := agent.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (e *env) rotate(step string) {
	e.t.Helper()
	ctx := context.Background()
	var err error
	switch step {
	case "start":
		_, err = e.svc.RotateStart(ctx, e.owner, e.inst.ID, "")
	case "finish":
		_, _, err = e.svc.RotateFinish(ctx, e.owner, e.inst.ID, false)
	case "retire":
		_, err = e.svc.RotateRetire(ctx, e.owner, e.inst.ID, false) // no force: the agent revoked what it replaced
	}
	if err != nil {
		e.t.Fatalf("rotate %s: %v", step, err)
	}
}

// snapshot reads every file the agent keeps.
func (e *env) snapshot() map[string][]byte {
	out := map[string][]byte{}
	for _, n := range []string{"server.crt", "server.key", "ca.pem", "server.pem"} {
		b, _ := os.ReadFile(filepath.Join(e.dir, n))
		out[n] = b
	}
	return out
}

// checkFiles checks that the folder holds a key (0600) and a certificate for
// it that verifies against ca.pem for every endpoint, and MongoDB's combined
// file; it returns the certificate's issuer CA fingerprint.
func (e *env) checkFiles() *x509.Certificate {
	e.t.Helper()
	files := e.snapshot()
	for name, mode := range map[string]os.FileMode{"server.key": 0o600, "server.pem": 0o600, "server.crt": 0o644, "ca.pem": 0o644} {
		fi, err := os.Stat(filepath.Join(e.dir, name))
		if err != nil || fi.Mode().Perm() != mode {
			e.t.Fatalf("%s: %v, mode %v, want %v", name, err, fi.Mode().Perm(), mode)
		}
	}
	certs, err := pki.ParseCertsPEM(files["server.crt"])
	if err != nil {
		e.t.Fatal(err)
	}
	leaf := certs[0]
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(files["ca.pem"]) {
		e.t.Fatal("ca.pem holds no certificate")
	}
	for _, h := range []string{"db1.example.internal", "127.0.0.1"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: h}); err != nil {
			e.t.Fatalf("server.crt does not verify for %s against ca.pem: %v", h, err)
		}
	}
	if !bytes.Equal(files["server.pem"], append(append([]byte{}, files["server.crt"]...), files["server.key"]...)) {
		e.t.Fatal("server.pem is not server.crt followed by server.key")
	}
	return leaf
}

// TestRotationPasses: each pass does what the moment needs: a first
// certificate, nothing, the new bundle at rotation start, a certificate from
// the new CA after finish (and the old one revoked as superseded, so that
// retire needs no force), the smaller bundle after retire; and the reload
// command runs after each change only.
func TestRotationPasses(t *testing.T) {
	e := newEnv(t)
	reloads := filepath.Join(t.TempDir(), "reloads")
	a := e.agent(func(c *agent.Config) { c.Reload = "echo reloaded >> " + reloads })
	steps := []struct {
		before          string
		bundle, renewed bool
		cas             int
		revoked         bool // the certificate before this pass was revoked as superseded
	}{
		{"", true, true, 1, false},
		{"", false, false, 1, false},
		{"start", true, false, 2, false},
		{"finish", true, true, 2, true},
		{"retire", true, false, 1, false},
	}
	var last *x509.Certificate
	for i, st := range steps {
		if st.before != "" {
			e.rotate(st.before)
		}
		res, err := a.Once(context.Background())
		if err != nil {
			t.Fatalf("pass %d (after %q): %v", i, st.before, err)
		}
		if res.BundleChanged != st.bundle || res.CertRenewed != st.renewed || res.Reloaded != (st.bundle || st.renewed) {
			t.Fatalf("pass %d (after %q) = %+v, want bundle changed %v, renewed %v", i, st.before, res, st.bundle, st.renewed)
		}
		leaf := e.checkFiles()
		if st.revoked != (res.Revoked != "") || st.revoked && res.Revoked != last.SerialNumber.Text(16) {
			t.Fatalf("pass %d (after %q) revoked %q, want the replaced certificate revoked: %v", i, st.before, res.Revoked, st.revoked)
		}
		if st.revoked {
			c, err := e.svc.GetIssuedCertificate(context.Background(), e.owner, e.inst.ID, res.Revoked)
			if err != nil || c.RevokedAt == nil || c.RevocationReason != "superseded" {
				t.Fatalf("replaced certificate after pass %d: %+v, %v; want revoked as superseded", i, c, err)
			}
		}
		if n := strings.Count(string(e.snapshot()["ca.pem"]), "BEGIN CERTIFICATE"); n != st.cas {
			t.Fatalf("pass %d: ca.pem holds %d CAs, want %d", i, n, st.cas)
		}
		if last != nil && !st.renewed && !leaf.Equal(last) {
			t.Fatalf("pass %d replaced the certificate without reason", i)
		}
		last = leaf
	}
	cas, _ := e.svc.InstanceCAs(context.Background(), e.owner, e.inst.ID)
	for _, ca := range cas {
		if ca.State == dbtrust.CACurrent {
			if certs, _ := pki.ParseCertsPEM(ca.CertPEM); last.CheckSignatureFrom(certs[0]) != nil {
				t.Fatal("after the rotation the certificate is not from the new current CA")
			}
		}
	}
	b, _ := os.ReadFile(reloads)
	if n := strings.Count(string(b), "reloaded"); n != 4 {
		t.Fatalf("the reload command ran %d times, want 4 (once per change)", n)
	}
}

// TestServerOutageKeepsFiles: with dbtrust down a pass fails and every file
// stays byte for byte; once it is back the agent goes on.
func TestServerOutageKeepsFiles(t *testing.T) {
	e := newEnv(t)
	a := e.agent(nil)
	if _, err := a.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := e.snapshot()
	e.serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusBadGateway)
	}))
	e.rotate("start")
	if _, err := a.Once(context.Background()); err == nil {
		t.Fatal("a pass with dbtrust down succeeded")
	}
	if after := e.snapshot(); !equalFiles(before, after) {
		t.Fatal("a failed pass changed the files")
	}
	e.serve(e.real)
	if res, err := a.Once(context.Background()); err != nil || !res.BundleChanged {
		t.Fatalf("pass after the outage = %+v, %v; want the new bundle", res, err)
	}
}

// TestBadCertificateNotInstalled: a certificate for another key, or one for
// the node's own key that does not chain to the bundle, is refused and the
// files stay as they were.
func TestBadCertificateNotInstalled(t *testing.T) {
	for _, tc := range []string{"another key", "another instance's CA"} {
		t.Run(tc, func(t *testing.T) {
			e := newEnv(t)
			a := e.agent(nil)
			if _, err := a.Once(context.Background()); err != nil {
				t.Fatal(err)
			}
			e.rotate("start")
			if _, err := a.Once(context.Background()); err != nil { // installs the bundle
				t.Fatal(err)
			}
			before := e.snapshot()
			e.serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/certificates") {
					e.badIssue(w, r, tc)
					return
				}
				e.real.ServeHTTP(w, r)
			}))
			e.rotate("finish") // the agent must renew now
			_, err := a.Once(context.Background())
			if err == nil {
				t.Fatal("the agent accepted a bad certificate")
			}
			t.Logf("refused: %v", err)
			after := e.snapshot()
			if !bytes.Equal(before["server.crt"], after["server.crt"]) || !bytes.Equal(before["server.key"], after["server.key"]) {
				t.Fatal("a refused certificate replaced the files in place")
			}
		})
	}
}

// badIssue answers an issue request with a certificate the agent must
// refuse: one for a key dbtrust generated, or one for the node's CSR signed
// by another instance's CA.
func (e *env) badIssue(w http.ResponseWriter, r *http.Request, kind string) {
	ctx := context.Background()
	var req struct {
		CSR string `json:"csr"`
	}
	json.NewDecoder(r.Body).Decode(&req)
	id, ir := e.inst.ID, dbtrust.IssueRequest{DNSNames: []string{"db1.example.internal"}, IPs: []string{"127.0.0.1"}}
	if kind == "another instance's CA" {
		other, err := e.svc.CreateInstance(ctx, e.owner, dbtrust.InstanceSpec{Name: "other", Engine: "pg"})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		id, ir.CSRPEM = other.ID, []byte(req.CSR)
	}
	c, err := e.svc.IssueCertificate(ctx, e.owner, id, ir)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]string{"certificate_pem": string(c.CertPEM), "instance_id": e.inst.ID})
}

func equalFiles(a, b map[string][]byte) bool {
	for k := range a {
		if !bytes.Equal(a[k], b[k]) {
			return false
		}
	}
	return true
}

// TestRenewsWhenDue: at two thirds of the certificate's life (give or take
// the jitter) the next pass renews; before, it does not.
func TestRenewsWhenDue(t *testing.T) {
	e := newEnv(t)
	var offset time.Duration
	a := e.agent(func(c *agent.Config) { c.Clock = func() time.Time { return time.Now().Add(offset) } })
	res, err := a.Once(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	leaf := e.checkFiles()
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	due := res.NextRenewal.Sub(leaf.NotBefore)
	if due < life*2/3-life/20 || due > life*2/3+life/20 {
		t.Fatalf("renewal at %v of a %v life, want two thirds, give or take a twentieth", due, life)
	}
	offset = time.Until(res.NextRenewal) - time.Hour
	if res, err := a.Once(context.Background()); err != nil || res.CertRenewed {
		t.Fatalf("pass an hour before due = %+v, %v; want no renewal", res, err)
	}
	offset = time.Until(res.NextRenewal) + time.Minute
	if res, err := a.Once(context.Background()); err != nil || !res.CertRenewed {
		t.Fatalf("pass after due = %+v, %v; want a renewal", res, err)
	}
}

// TestReloadFailureReportedAndRetried: a failing reload command fails the
// pass with its output, and the next pass runs it again.
func TestReloadFailureReportedAndRetried(t *testing.T) {
	e := newEnv(t)
	flag := filepath.Join(t.TempDir(), "ok")
	a := e.agent(func(c *agent.Config) { c.Reload = "test -e " + flag + " || { echo server not reloaded >&2; exit 3; }" })
	_, err := a.Once(context.Background())
	if err == nil || !strings.Contains(err.Error(), "server not reloaded") {
		t.Fatalf("pass with a failing reload = %v, want its output", err)
	}
	os.WriteFile(flag, nil, 0o600)
	if res, err := a.Once(context.Background()); err != nil || !res.Reloaded || res.CertRenewed {
		t.Fatalf("next pass = %+v, %v; want the reload retried, nothing renewed", res, err)
	}
}

// TestWrongInstance: a node token used for another instance says so.
func TestWrongInstance(t *testing.T) {
	e := newEnv(t)
	a := e.agent(func(c *agent.Config) { c.Instance = "billing" })
	_, err := a.Once(context.Background())
	if err == nil || !strings.Contains(err.Error(), "belongs to instance orders") {
		t.Fatalf("pass with another instance's name = %v", err)
	}
	if files, _ := os.ReadDir(e.dir); len(files) != 0 {
		t.Fatalf("a refused pass wrote %d files", len(files))
	}
}

// TestNoPrivateKeyLeaves: the node's key is in no request the agent sends.
func TestNoPrivateKeyLeaves(t *testing.T) {
	e := newEnv(t)
	var bodies bytes.Buffer
	var mu sync.Mutex
	e.serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies.Write(b)
		mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		e.real.ServeHTTP(w, r)
	}))
	a := e.agent(nil)
	if _, err := a.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(bodies.String(), "PRIVATE KEY") || !strings.Contains(bodies.String(), "CERTIFICATE REQUEST") {
		t.Fatalf("requests sent: %q; want a CSR and no private key", bodies.String())
	}
}

// TestRevokeRetriedAfterOutage: when dbtrust cannot take the revocation of
// the replaced certificate, the pass still succeeds (the new files are in
// place) and the next pass revokes it; when the reload fails, nothing is
// revoked until it succeeds.
func TestRevokeRetriedAfterOutage(t *testing.T) {
	e := newEnv(t)
	flag := filepath.Join(t.TempDir(), "ok")
	a := e.agent(func(c *agent.Config) { c.Reload = "test -e " + flag })
	os.WriteFile(flag, nil, 0o600)
	if _, err := a.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	old := e.checkFiles().SerialNumber.Text(16)
	e.rotate("start")
	if _, err := a.Once(context.Background()); err != nil { // installs the bundle
		t.Fatal(err)
	}
	e.rotate("finish")
	os.Remove(flag)
	if res, err := a.Once(context.Background()); err == nil || !res.CertRenewed || res.Revoked != "" {
		t.Fatalf("pass with a failing reload = %+v, %v; want the new certificate in place, the reload failed, nothing revoked", res, err)
	}
	os.WriteFile(flag, nil, 0o600)
	e.serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/revoke") {
			http.Error(w, "down for maintenance", http.StatusBadGateway)
			return
		}
		e.real.ServeHTTP(w, r)
	}))
	if res, err := a.Once(context.Background()); err != nil || !res.Reloaded || res.Revoked != "" {
		t.Fatalf("pass with the revocation refused = %+v, %v; want the reload done, nothing revoked", res, err)
	}
	e.serve(e.real)
	if res, err := a.Once(context.Background()); err != nil || res.Revoked != old {
		t.Fatalf("pass after the outage = %+v, %v; want %s revoked", res, err, old)
	}
	e.rotate("retire")
}

// TestUnreachableSaysWhatToDo: when dbtrust cannot be reached, the pass's
// error and the log say so in plain words, with what to check, and never
// Go's transport or TLS text.
func TestUnreachableSaysWhatToDo(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	tests := []struct {
		name, server, want string
	}{
		{"nothing listening", closed.URL, "nothing is listening there"},
		{"HTTPS from an untrusted CA", tlsSrv.URL, "--server-ca FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			var log bytes.Buffer
			a := e.agent(func(c *agent.Config) {
				c.Server = tt.server
				c.Log = slog.New(slog.NewTextHandler(&log, nil))
			})
			_, err := a.Once(context.Background())
			if err == nil {
				t.Fatal("a pass with dbtrust unreachable succeeded")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			a.Run(ctx)
			for what, text := range map[string]string{"error": err.Error(), "log": log.String()} {
				if !strings.Contains(text, "cannot reach the dbtrust server at "+tt.server) || !strings.Contains(text, tt.want) {
					t.Errorf("%s = %q; want it to say it cannot reach %s, and %q", what, text, tt.server, tt.want)
				}
				for _, raw := range []string{"dial tcp", "connection refused", "x509:", "tls:"} {
					if strings.Contains(text, raw) {
						t.Errorf("%s = %q; it holds Go's own text %q", what, text, raw)
					}
				}
			}
			if !strings.Contains(log.String(), "keeping the current files, next try in 1s") {
				t.Errorf("log = %q; want it to say the files are kept and when it tries again", log.String())
			}
		})
	}
}
