package dbtrust_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"math/big"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/pgtest"
	"github.com/dbtrust/dbtrust/internal/pki"
	"github.com/dbtrust/dbtrust/internal/seal"
	"github.com/dbtrust/dbtrust/internal/servicetest"
	"github.com/dbtrust/dbtrust/internal/sqlite"
)

// clock is a settable dbtrust.Clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newService returns a Service over a fresh SQLite store, the owner of its
// first account, and the service's clock.
func newLifecycleService(t *testing.T, opt dbtrust.Options) (*dbtrust.Service, dbtrust.Principal, *clock) {
	t.Helper()
	c := &clock{t: time.Now().UTC()}
	opt.Clock = c.now
	env := servicetest.New(t, opt)
	return env.Service, env.Owner(), c
}

func newInstance(t *testing.T, svc *dbtrust.Service, p dbtrust.Principal, name string) dbtrust.Instance {
	t.Helper()
	inst, err := svc.CreateInstance(context.Background(), p, dbtrust.InstanceSpec{Name: name, Engine: "pg"})
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

func wantCode(t *testing.T, what string, err error, want dbtrust.Code) {
	t.Helper()
	if got := dbtrust.ErrorCode(err); got != want {
		t.Fatalf("%s: error %v (code %q), want code %q", what, err, got, want)
	}
}

// bundleIDs returns the fingerprints of the bundle's certificates, in order.
func bundleFPs(t *testing.T, svc *dbtrust.Service, p dbtrust.Principal, id string) []string {
	t.Helper()
	b, err := svc.InstanceCABundle(context.Background(), p, id)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := pki.ParseCertsPEM(b)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range certs {
		out = append(out, pki.Fingerprint(c.Raw))
	}
	return out
}

func byState(cas []dbtrust.CA) map[dbtrust.CAState]string {
	out := map[dbtrust.CAState]string{}
	for _, c := range cas {
		if c.State != dbtrust.CARetired {
			out[c.State] = c.Fingerprint
		}
	}
	return out
}

// verifies reports whether the certificate verifies against the bundle.
func verifies(t *testing.T, certPEM, bundle []byte) bool {
	t.Helper()
	certs, err := pki.ParseCertsPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(bundle)
	_, err = certs[0].Verify(x509.VerifyOptions{Roots: pool, DNSName: certs[0].DNSNames[0]})
	return err == nil
}

func TestRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, p, _ := newLifecycleService(t, dbtrust.Options{})
	inst := newInstance(t, svc, p, "backend")
	cas, err := svc.InstanceCAs(ctx, p, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	a := cas[0].Fingerprint
	oldCert, err := svc.IssueCertificate(ctx, p, inst.ID, dbtrust.IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}

	// State-machine errors before any rotation.
	_, _, err = svc.RotateFinish(ctx, p, inst.ID, false)
	wantCode(t, "finish before start", err, dbtrust.Conflict)
	_, err = svc.RotateRollback(ctx, p, inst.ID)
	wantCode(t, "rollback before finish", err, dbtrust.Conflict)
	_, err = svc.RotateRetire(ctx, p, inst.ID, false)
	wantCode(t, "retire with no previous", err, dbtrust.Conflict)

	cas, err = svc.RotateStart(ctx, p, inst.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	st := byState(cas)
	b := st[dbtrust.CANext]
	if st[dbtrust.CACurrent] != a || b == "" {
		t.Fatalf("after start: %v", st)
	}
	if got := bundleFPs(t, svc, p, inst.ID); strings.Join(got, ",") != a+","+b {
		t.Fatalf("bundle after start = %v, want current %s then next %s", got, a, b)
	}
	for _, c := range cas {
		if c.State == dbtrust.CANext && c.KeyType != "ecdsa-p256" {
			t.Fatalf("next CA key type %q, want the current one's", c.KeyType)
		}
	}
	_, err = svc.RotateStart(ctx, p, inst.ID, "")
	wantCode(t, "second start", err, dbtrust.Conflict)
	_, err = svc.RotateRollback(ctx, p, inst.ID)
	wantCode(t, "rollback during a rotation", err, dbtrust.Conflict)
	afterStart, err := svc.InstanceCABundle(ctx, p, inst.ID)
	if err != nil {
		t.Fatal(err)
	}

	cas, _, err = svc.RotateFinish(ctx, p, inst.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if st := byState(cas); st[dbtrust.CACurrent] != b || st[dbtrust.CAPrevious] != a || st[dbtrust.CANext] != "" {
		t.Fatalf("after finish: %v", st)
	}
	_, _, err = svc.RotateFinish(ctx, p, inst.ID, false)
	wantCode(t, "second finish", err, dbtrust.Conflict)
	newCert, err := svc.IssueCertificate(ctx, p, inst.ID, dbtrust.IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !verifies(t, newCert.CertPEM, afterStart) || !verifies(t, oldCert.CertPEM, afterStart) {
		t.Fatal("the bundle fetched after start does not verify both the old and the new certificate")
	}
	var prevPEM []byte
	for _, c := range cas {
		if c.State == dbtrust.CAPrevious {
			prevPEM = c.CertPEM
		}
	}
	if verifies(t, newCert.CertPEM, prevPEM) {
		t.Fatal("a certificate from the new CA verifies against the old CA alone")
	}

	// Rollback: back to the state between start and finish.
	cas, err = svc.RotateRollback(ctx, p, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st := byState(cas); st[dbtrust.CACurrent] != a || st[dbtrust.CANext] != b || st[dbtrust.CAPrevious] != "" {
		t.Fatalf("after rollback: %v", st)
	}
	if _, _, err = svc.RotateFinish(ctx, p, inst.ID, false); err != nil {
		t.Fatal(err)
	}

	// Retire refuses while a live certificate of the previous CA exists.
	_, err = svc.RotateRetire(ctx, p, inst.ID, false)
	wantCode(t, "retire with a live certificate", err, dbtrust.Conflict)
	if _, err := svc.RevokeIssuedCertificate(ctx, p, inst.ID, oldCert.Serial, "superseded"); err != nil {
		t.Fatal(err)
	}
	cas, err = svc.RotateRetire(ctx, p, inst.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := bundleFPs(t, svc, p, inst.ID); len(got) != 1 || got[0] != b {
		t.Fatalf("bundle after retire = %v, want %s only", got, b)
	}

	// Viewers may not rotate; another account's instance is not found.
	viewer := dbtrust.Principal{AccountID: p.AccountID, Role: dbtrust.RoleViewer, Subject: "token:v"}
	_, err = svc.RotateStart(ctx, viewer, inst.ID, "")
	wantCode(t, "start as viewer", err, dbtrust.Forbidden)
	other, _, err := svc.CreateAccount(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.RotateStart(ctx, dbtrust.Operator(other.ID), inst.ID, "")
	wantCode(t, "start in another account", err, dbtrust.NotFound)
	_, err = svc.RotateStart(ctx, p, inst.ID, "dsa-512")
	wantCode(t, "start with an unknown key type", err, dbtrust.Invalid)

	// A rotation may change the key type.
	cas, err = svc.RotateStart(ctx, p, inst.ID, "ecdsa-p384")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cas {
		if c.State == dbtrust.CANext && c.KeyType != "ecdsa-p384" {
			t.Fatalf("next CA key type %q, want ecdsa-p384", c.KeyType)
		}
	}
}

func TestConcurrentFinish(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, p, _ := newLifecycleService(t, dbtrust.Options{})
	inst := newInstance(t, svc, p, "backend")
	if _, err := svc.RotateStart(ctx, p, inst.ID, ""); err != nil {
		t.Fatal(err)
	}
	const n = 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	for k := range n {
		wg.Add(1)
		go func() { defer wg.Done(); _, _, errs[k] = svc.RotateFinish(ctx, p, inst.ID, false) }()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			wantCode(t, "concurrent finish", err, dbtrust.Conflict)
		}
	}
	if won != 1 {
		t.Fatalf("%d concurrent finishes succeeded, want 1", won)
	}
}

func TestCertificatesAndCRL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, p, clk := newLifecycleService(t, dbtrust.Options{CRLBaseURL: "https://trust.example/"})
	inst := newInstance(t, svc, p, "backend")
	var issued []dbtrust.IssuedCertificate
	for _, req := range []dbtrust.IssueRequest{
		{DNSNames: []string{"node-1.example"}, IPs: []string{"127.0.0.1"}},
		{DNSNames: []string{"node-2.example"}, KeyType: "rsa-2048"},
	} {
		clk.add(time.Second) // list order is issue order
		c, err := svc.IssueCertificate(ctx, p, inst.ID, req)
		if err != nil {
			t.Fatal(err)
		}
		issued = append(issued, c)
	}
	list, err := svc.ListIssuedCertificates(ctx, p, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Serial != issued[0].Serial || list[1].KeyType != "rsa-2048" || list[0].IPs[0] != "127.0.0.1" {
		t.Fatalf("ListIssuedCertificates = %d certificates, want node-1 (ecdsa, 127.0.0.1) then node-2 (rsa-2048)", len(list))
	}
	if len(list[0].KeyPEM) != 0 {
		t.Fatal("a listed certificate carries its private key")
	}
	certs, err := pki.ParseCertsPEM(issued[0].CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	wantCDP := "https://trust.example/v1/cas/" + issued[0].CAID + "/crl"
	if len(certs[0].CRLDistributionPoints) != 1 || certs[0].CRLDistributionPoints[0] != wantCDP {
		t.Fatalf("CRL distribution points = %v, want %s", certs[0].CRLDistributionPoints, wantCDP)
	}

	crlOf := func() *x509.RevocationList {
		der, err := svc.CRL(ctx, issued[0].CAID)
		if err != nil {
			t.Fatal(err)
		}
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			t.Fatal(err)
		}
		ca, err := pki.ParseCertsPEM(issued[0].CAPEM)
		if err != nil {
			t.Fatal(err)
		}
		if err := crl.CheckSignatureFrom(ca[0]); err != nil {
			t.Fatalf("CRL signature: %v", err)
		}
		return crl
	}
	before := crlOf()
	if len(before.RevokedCertificateEntries) != 0 || before.Number.Cmp(big.NewInt(1)) != 0 {
		t.Fatalf("CRL before any revocation: %d entries, number %v", len(before.RevokedCertificateEntries), before.Number)
	}

	_, err = svc.RevokeIssuedCertificate(ctx, p, inst.ID, issued[1].Serial, "no-such-reason")
	wantCode(t, "revoke with a bad reason", err, dbtrust.Invalid)
	rev, err := svc.RevokeIssuedCertificate(ctx, p, inst.ID, issued[1].Serial, "key_compromise")
	if err != nil {
		t.Fatal(err)
	}
	if rev.RevokedAt == nil || rev.RevocationReason != "key_compromise" {
		t.Fatalf("revoked certificate = %+v", rev)
	}
	_, err = svc.RevokeIssuedCertificate(ctx, p, inst.ID, issued[1].Serial, "")
	wantCode(t, "revoke twice", err, dbtrust.Conflict)
	_, err = svc.RevokeIssuedCertificate(ctx, p, inst.ID, "zz", "")
	wantCode(t, "revoke a malformed serial", err, dbtrust.NotFound)
	other := newInstance(t, svc, p, "other")
	_, err = svc.RevokeIssuedCertificate(ctx, p, other.ID, issued[0].Serial, "")
	wantCode(t, "revoke through another instance", err, dbtrust.NotFound)

	after := crlOf()
	if len(after.RevokedCertificateEntries) != 1 || after.Number.Cmp(before.Number) <= 0 {
		t.Fatalf("CRL after a revocation: %d entries, number %v (before %v)", len(after.RevokedCertificateEntries), after.Number, before.Number)
	}
	e := after.RevokedCertificateEntries[0]
	if e.SerialNumber.Text(16) != issued[1].Serial || e.ReasonCode != 1 {
		t.Fatalf("CRL entry serial %s reason %d, want %s reason 1", e.SerialNumber.Text(16), e.ReasonCode, issued[1].Serial)
	}
	if !after.NextUpdate.After(after.ThisUpdate) {
		t.Fatalf("CRL nextUpdate %v not after thisUpdate %v", after.NextUpdate, after.ThisUpdate)
	}

	_, err = svc.CRL(ctx, "not-a-uuid")
	wantCode(t, "CRL of a malformed CA ID", err, dbtrust.NotFound)

	// openssl reads the CRL and lists the revoked serial.
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("openssl is not installed")
		}
		pgtest.Skip(t, "openssl not installed")
	}
	der, err := svc.CRL(ctx, issued[0].CAID)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(openssl, "crl", "-inform", "DER", "-text", "-noout")
	cmd.Stdin = bytes.NewReader(der)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("openssl crl: %v\n%s", err, out)
	}
	if !strings.Contains(strings.ToUpper(string(out)), strings.ToUpper(issued[1].Serial)) || !strings.Contains(string(out), "Key Compromise") {
		t.Fatalf("openssl crl output lacks serial %s or its reason:\n%s", issued[1].Serial, out)
	}
}

func TestAutoRotate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, p, clk := newLifecycleService(t, dbtrust.Options{CAValidity: 365 * 24 * time.Hour})
	inst := newInstance(t, svc, p, "backend")
	manual := newInstance(t, svc, p, "manual")
	day := 24 * time.Hour
	if _, err := svc.SetRotationPolicy(ctx, p, inst.ID, dbtrust.RotationPolicySpec{Enabled: true, StartBefore: 30 * day, FinishAfter: 2 * day, RetireAfter: day}); err != nil {
		t.Fatal(err)
	}
	_, err := svc.SetRotationPolicy(ctx, p, inst.ID, dbtrust.RotationPolicySpec{Enabled: true, StartBefore: time.Second})
	wantCode(t, "policy with a one-second start_before", err, dbtrust.Invalid)
	pol, err := svc.GetRotationPolicy(ctx, p, manual.ID)
	if err != nil || pol.Enabled {
		t.Fatalf("GetRotationPolicy(no policy) = %+v, %v; want a disabled default", pol, err)
	}

	steps := func() string {
		t.Helper()
		done, err := svc.AutoRotate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, d := range done {
			if d.InstanceID != inst.ID {
				t.Fatalf("automatic rotation touched instance %s without a policy", d.InstanceID)
			}
			s = append(s, d.Step)
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct {
		advance time.Duration
		want    string
	}{
		{0, ""},
		{300 * day, ""},     // 65 days left: nothing due
		{40 * day, "start"}, // 25 days left
		{0, ""},             // started already
		{day, ""},           // finish not due yet
		{day, "finish"},
		{12 * time.Hour, ""},
		{12 * time.Hour, "retire"},
		{0, ""},
	} {
		clk.add(tc.advance)
		if got := steps(); got != tc.want {
			t.Fatalf("after advancing %v: AutoRotate took %q, want %q", tc.advance, got, tc.want)
		}
	}
	cas, err := svc.InstanceCAs(ctx, p, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st := byState(cas); len(cas) != 2 || st[dbtrust.CAPrevious] != "" || st[dbtrust.CANext] != "" {
		t.Fatalf("after automatic rotation: %d CAs, %v", len(cas), st)
	}
}

// TestRecipes: every recipe names the host and the bundle; a shell command
// hands the bundle path to its program as one argument, whatever the path
// holds, and runs nothing else; a URI carries it escaped.
func TestRecipes(t *testing.T) {
	t.Parallel()
	paths := []string{"/tmp/ca.pem", "/tmp/my ca.pem", `x" ; touch pwned ; echo "`, "$(touch pwned)", "a'b`touch pwned`\\c", "ca&x=1#y?.pem"}
	for eng := range dbtrust.Engines {
		for _, path := range paths {
			rs := dbtrust.Recipes(eng, "db.example", 1234, path)
			if len(rs) == 0 {
				t.Fatalf("Recipes(%s) is empty", eng)
			}
			for _, r := range rs {
				if r.Client == "" || r.Title == "" || !strings.Contains(r.Command, "db.example") && r.Client != "keytool" {
					t.Fatalf("Recipes(%s): %+v lacks a client, title or host", eng, r)
				}
				if u, err := url.Parse(strings.TrimPrefix(r.Command, "jdbc:")); err == nil && u.Scheme != "" && u.Host != "" {
					checkURIRecipe(t, r.Command, u, path)
				} else {
					checkShellRecipe(t, r.Command, path)
				}
			}
		}
	}
}

// checkURIRecipe: a CA file named in the URI's query is the path, escaped.
func checkURIRecipe(t *testing.T, cmd string, u *url.URL, path string) {
	t.Helper()
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		t.Fatalf("recipe %q: query does not parse: %v", cmd, err)
	}
	for _, k := range []string{"sslrootcert", "tlsCAFile"} {
		if v, ok := q[k]; ok && (len(v) != 1 || v[0] != path) {
			t.Fatalf("recipe %q: %s = %q, want %q", cmd, k, v, path)
		}
	}
}

// checkShellRecipe parses cmd with /bin/sh, printing its words instead of
// running its program: one word must carry the path intact, and nothing
// else may have run.
func checkShellRecipe(t *testing.T, cmd, path string) {
	t.Helper()
	dir := t.TempDir()
	c := exec.Command("/bin/sh", "-c", `printf '%s\0' `+cmd)
	c.Dir = dir
	out, err := c.Output()
	if err != nil {
		t.Fatalf("recipe %q does not parse in sh: %v", cmd, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) > 0 {
		t.Fatalf("recipe %q ran a command: %s appeared", cmd, ents[0].Name())
	}
	for _, w := range strings.Split(string(out), "\x00") {
		if w == path || strings.HasSuffix(w, "="+path) {
			return
		}
		if _, v, ok := strings.Cut(w, "sslrootcert="); ok && libpqUnquote(v) == path {
			return
		}
	}
	t.Fatalf("recipe %q: no word of it is the path %q (words %q)", cmd, path, out)
}

// libpqUnquote reads one conninfo value: bare, or in single quotes with
// backslash escapes.
func libpqUnquote(v string) string {
	if !strings.HasPrefix(v, "'") || !strings.HasSuffix(v, "'") || len(v) < 2 {
		return v
	}
	var b strings.Builder
	for i := 1; i < len(v)-1; i++ {
		if v[i] == '\\' && i+1 < len(v)-1 {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

func TestTTLCappedAtCAExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, p, _ := newLifecycleService(t, dbtrust.Options{CAValidity: 48 * time.Hour})
	inst := newInstance(t, svc, p, "short")
	cas, err := svc.InstanceCAs(ctx, p, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	c, err := svc.IssueCertificate(ctx, p, inst.ID, dbtrust.IssueRequest{TTL: 30 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !c.NotAfter.Equal(cas[0].NotAfter) {
		t.Fatalf("certificate NotAfter %v, want the CA's %v", c.NotAfter, cas[0].NotAfter)
	}
	_, err = svc.IssueCertificate(ctx, p, inst.ID, dbtrust.IssueRequest{TTL: time.Second})
	wantCode(t, "issue with a one-second TTL", err, dbtrust.Invalid)
	_, err = svc.IssueCertificate(ctx, p, inst.ID, dbtrust.IssueRequest{CSRPEM: []byte("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n")})
	wantCode(t, "issue from a broken CSR", err, dbtrust.Invalid)
	list, err := svc.ListIssuedCertificates(ctx, p, inst.ID)
	if err != nil || len(list) != 1 {
		t.Fatalf("after one good and two refused issues: %d recorded, %v; want 1", len(list), err)
	}
}

// TestAutoRotateReplicas runs automatic rotation on two services sharing one
// database, at once, many times: each step is taken exactly once.
func TestAutoRotateReplicas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "dbtrust.db")
	key, _ := seal.NewKey()
	sealer, _ := seal.New(key)
	c := &clock{t: time.Now().UTC()}
	var svcs []*dbtrust.Service
	for range 2 {
		st, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		svcs = append(svcs, dbtrust.NewService(st, sealer, dbtrust.Options{Clock: c.now, CAValidity: 100 * 24 * time.Hour, CacheTTL: -1}))
	}
	a, _, _, err := svcs[0].Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := dbtrust.Operator(a.ID)
	inst := newInstance(t, svcs[0], p, "shared")
	_, err = svcs[1].SetRotationPolicy(ctx, p, inst.ID, dbtrust.RotationPolicySpec{Enabled: true, StartBefore: 200 * 24 * time.Hour})
	wantCode(t, "policy that starts before a new CA's lifetime", err, dbtrust.Invalid)
	if _, err := svcs[1].SetRotationPolicy(ctx, p, inst.ID, dbtrust.RotationPolicySpec{Enabled: true, StartBefore: 30 * 24 * time.Hour, FinishAfter: time.Hour, RetireAfter: time.Hour}); err != nil {
		t.Fatal(err)
	}
	c.add(71 * 24 * time.Hour) // 29 days left: a rotation is due
	count := map[string]int{}
	var mu sync.Mutex
	for round := range 3 {
		var wg sync.WaitGroup
		for _, svc := range svcs {
			for range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					done, err := svc.AutoRotate(ctx)
					if err != nil {
						t.Error(err)
					}
					mu.Lock()
					for _, d := range done {
						count[d.Step]++
					}
					mu.Unlock()
				}()
			}
		}
		wg.Wait()
		if round < 2 {
			c.add(time.Hour)
		}
	}
	if count["start"] != 1 || count["finish"] != 1 || count["retire"] != 1 {
		t.Fatalf("steps taken across replicas: %v, want each of start, finish, retire once", count)
	}
	cas, err := svcs[1].InstanceCAs(ctx, p, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st := byState(cas); len(cas) != 2 || st[dbtrust.CACurrent] == "" || len(st) != 1 {
		t.Fatalf("after automatic rotation on two replicas: %d CAs, %v", len(cas), st)
	}
}
