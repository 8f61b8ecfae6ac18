package console_test

import (
	"context"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/credential"
	"github.com/dbtrust/dbtrust/internal/pki"
	"github.com/dbtrust/dbtrust/internal/server"
	"github.com/dbtrust/dbtrust/internal/servicetest"
	"github.com/dbtrust/dbtrust/trustcert"
)

// consoleEnv is a running dbtrust (the whole server, console included) with
// two instances, one issued certificate, an owner and a viewer token.
type consoleEnv struct {
	url                     string
	svc                     *dbtrust.Service
	owner                   dbtrust.Principal
	ownerToken, viewerToken string
	orders, cache, events   dbtrust.Instance
	trustCert               trustcert.Certificate
	cred                    credential.Credential
	credSecret              string
}

func startConsole(t *testing.T) *consoleEnv {
	t.Helper()
	env := servicetest.New(t, dbtrust.Options{})
	ctx := context.Background()
	e := &consoleEnv{svc: env.Service, ownerToken: env.Token}
	var err error
	if e.owner, err = e.svc.Authenticate(ctx, env.Token); err != nil {
		t.Fatal(err)
	}
	if _, e.viewerToken, err = e.svc.CreateToken(ctx, e.owner, "viewer", dbtrust.RoleViewer); err != nil {
		t.Fatal(err)
	}
	if e.orders, err = e.svc.CreateInstance(ctx, e.owner, dbtrust.InstanceSpec{Name: "orders", Engine: "pg", Tags: []string{"prod"}}); err != nil {
		t.Fatal(err)
	}
	if e.cache, err = e.svc.CreateInstance(ctx, e.owner, dbtrust.InstanceSpec{Name: "cache", Engine: "redis"}); err != nil {
		t.Fatal(err)
	}
	if e.events, err = e.svc.CreateInstance(ctx, e.owner, dbtrust.InstanceSpec{Name: "events", Engine: "mongodb", Tags: []string{"prod"}}); err != nil {
		t.Fatal(err)
	}
	if _, err = e.svc.RotateStart(ctx, e.owner, e.events.ID, ""); err != nil {
		t.Fatal(err)
	}
	catalog, err := e.svc.CreateInstance(ctx, e.owner, dbtrust.InstanceSpec{Name: "catalog", Engine: "mysql", Tags: []string{"staging"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err = e.svc.RotateStart(ctx, e.owner, catalog.ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err = e.svc.RotateFinish(ctx, e.owner, catalog.ID, false); err != nil {
		t.Fatal(err)
	}
	// Certificates that expire within 30 days (orders) and within 7 (cache).
	for _, c := range []struct {
		inst dbtrust.Instance
		name string
		days int
	}{{e.orders, "db1.orders.internal", 20}, {e.cache, "cache-0.cache.internal", 5}} {
		if _, err = e.svc.IssueCertificate(ctx, e.owner, c.inst.ID, dbtrust.IssueRequest{DNSNames: []string{c.name}, TTL: time.Duration(c.days) * 24 * time.Hour, KeyType: "ecdsa-p256"}); err != nil {
			t.Fatal(err)
		}
	}
	// An uploaded trust anchor (a CA of an instance serves as the PEM) and a
	// stored credential with a secret the console must never show.
	cas, err := e.svc.InstanceCAs(ctx, e.owner, e.cache.ID)
	if err != nil {
		t.Fatal(err)
	}
	if e.trustCert, err = trustcert.New(e.svc, env.Store).Create(ctx, e.owner, trustcert.Input{Version: "1.1", CertPEM: cas[0].CertPEM, TrustDesired: trustcert.Trusted}); err != nil {
		t.Fatal(err)
	}
	name := "backup-s3"
	e.credSecret = "s3cr3t-value-never-shown"
	if e.cred, err = credential.New(e.svc, env.Store).Create(ctx, e.owner, credential.Input{Version: "1.1", Name: &name, KeyType: "s3",
		KeyStore: map[string][]byte{"accessKey": []byte("AKIAEXAMPLE"), "accessSecret": []byte(e.credSecret)}}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &httptest.Server{Listener: ln, Config: &http.Server{Handler: server.New(server.Config{Service: e.svc})}}
	ts.Start()
	t.Cleanup(ts.Close)
	e.url = ts.URL
	return e
}

func currentCA(t *testing.T, e *consoleEnv, instanceID string) *x509.Certificate {
	t.Helper()
	cas, err := e.svc.InstanceCAs(context.Background(), e.owner, instanceID)
	if err != nil {
		t.Fatal(err)
	}
	for _, ca := range cas {
		if ca.State == dbtrust.CACurrent {
			certs, err := pki.ParseCertsPEM(ca.CertPEM)
			if err != nil {
				t.Fatal(err)
			}
			return certs[0]
		}
	}
	t.Fatal("no current CA")
	return nil
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func do(t *testing.T, req *http.Request, c *http.Cookie) (*http.Response, string) {
	t.Helper()
	if c != nil {
		req.AddCookie(c)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func post(t *testing.T, u string, c *http.Cookie, form url.Values) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, _ := do(t, req, c)
	return resp.StatusCode
}

func get(t *testing.T, u string, c *http.Cookie) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	resp, _ := do(t, req, c)
	return resp.StatusCode
}
