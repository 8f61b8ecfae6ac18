package compat

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust/compat/dbtrusttest"
	"github.com/digitalocean/godo"
	"golang.org/x/oauth2"
)

// newGodo returns the real godo client pointed at dbtrust, authenticated with
// token, without retries (so that each call is one request).
func newGodo(t *testing.T, baseURL, token string) *godo.Client {
	t.Helper()
	hc := oauth2.NewClient(context.Background(), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token}))
	c, err := godo.New(hc, godo.SetBaseURL(baseURL+"/"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantGodoError(t *testing.T, what string, err error, status int) *godo.ErrorResponse {
	t.Helper()
	var er *godo.ErrorResponse
	if !errors.As(err, &er) {
		t.Fatalf("%s: error %v (%T), want *godo.ErrorResponse", what, err, err)
	}
	if er.Response.StatusCode != status {
		t.Fatalf("%s: status %d (%v), want %d", what, er.Response.StatusCode, er, status)
	}
	if er.Message == "" || er.RequestID == "" {
		t.Fatalf("%s: error %+v lacks a message or request ID", what, er)
	}
	return er
}

func TestGodoClusterAndCA(t *testing.T) {
	s := dbtrusttest.Start(t)
	ctx := context.Background()
	c := newGodo(t, s.URL, s.Token)

	db, resp, err := c.Databases.Create(ctx, &godo.DatabaseCreateRequest{
		Name: "backend", EngineSlug: "pg", Version: "16", SizeSlug: "db-s-1vcpu-1gb", Region: "nyc1", NumNodes: 1,
		Tags: []string{"production"},
	})
	if err != nil {
		t.Fatalf("Databases.Create: %v", err)
	}
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("Databases.Create status %d, want 201", resp.StatusCode)
	}
	if db.ID == "" || db.Name != "backend" || db.EngineSlug != "pg" || db.VersionSlug != "16" || db.NumNodes != 1 ||
		db.RegionSlug != "nyc1" || db.SizeSlug != "db-s-1vcpu-1gb" || db.Status != "online" {
		t.Fatalf("Databases.Create = %+v", db)
	}
	if db.Connection == nil || db.Connection.Host == "" || db.Connection.Port == 0 || !db.Connection.SSL || db.Connection.URI == "" {
		t.Fatalf("cluster connection = %+v, want host, port, ssl and uri", db.Connection)
	}
	if time.Since(db.CreatedAt) > time.Minute || time.Until(db.CreatedAt) > time.Minute {
		t.Fatalf("cluster created_at = %v, want about now", db.CreatedAt)
	}
	// The rate-limit headers parse into godo's Rate.
	if resp.Rate.Limit <= 0 || resp.Rate.Remaining >= resp.Rate.Limit || resp.Rate.Reset.Before(time.Now().Add(-time.Second)) {
		t.Fatalf("Rate = %+v, want a positive limit, remaining below it, reset in the future", resp.Rate)
	}

	got, _, err := c.Databases.Get(ctx, db.ID)
	if err != nil || got.ID != db.ID || got.Name != "backend" {
		t.Fatalf("Databases.Get(%q) = %+v, %v", db.ID, got, err)
	}
	list, _, err := c.Databases.List(ctx, nil)
	if err != nil || len(list) != 1 || list[0].ID != db.ID {
		t.Fatalf("Databases.List = %+v, %v", list, err)
	}
	ca, resp, err := c.Databases.GetCA(ctx, db.ID)
	if err != nil {
		t.Fatalf("Databases.GetCA: %v", err)
	}
	if resp.Rate.Limit <= 0 {
		t.Fatalf("GetCA Rate = %+v", resp.Rate)
	}
	block, rest := pem.Decode(ca.Certificate)
	if block == nil || block.Type != "CERTIFICATE" || len(rest) != 0 {
		t.Fatalf("GetCA certificate is not one PEM CERTIFICATE: %q", ca.Certificate)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.IsCA || !cert.BasicConstraintsValid || cert.KeyUsage&x509.KeyUsageCertSign == 0 || len(cert.SubjectKeyId) == 0 {
		t.Fatalf("CA certificate: IsCA=%v BasicConstraintsValid=%v KeyUsage=%v SKI=%x", cert.IsCA, cert.BasicConstraintsValid, cert.KeyUsage, cert.SubjectKeyId)
	}
	if cert.SerialNumber.BitLen() < 100 {
		t.Fatalf("CA serial %x is not a random 128-bit number", cert.SerialNumber)
	}
	if d := cert.NotAfter.Sub(cert.NotBefore); d < 9*365*24*time.Hour {
		t.Fatalf("CA validity %v, want about 10 years", d)
	}

	// A server certificate issued from this cluster's CA (through dbtrust's
	// native API) verifies against the CA that godo fetched, in a real TLS
	// handshake; a client holding another cluster's CA is refused.
	issued := issueServerCert(t, s, db.ID, "db.example.test")
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.Certificate)
	if err := tlsHandshake(t, issued, pool, "db.example.test"); err != nil {
		t.Fatalf("TLS handshake with the CA from Databases.GetCA: %v", err)
	}
	other, _, err := c.Databases.Create(ctx, &godo.DatabaseCreateRequest{Name: "other", EngineSlug: "pg", SizeSlug: "db-s-1vcpu-1gb", Region: "nyc1", NumNodes: 1})
	if err != nil {
		t.Fatal(err)
	}
	otherCA, _, err := c.Databases.GetCA(ctx, other.ID)
	if err != nil {
		t.Fatal(err)
	}
	otherPool := x509.NewCertPool()
	otherPool.AppendCertsFromPEM(otherCA.Certificate)
	if err := tlsHandshake(t, issued, otherPool, "db.example.test"); err == nil {
		t.Fatal("TLS handshake with another cluster's CA succeeded, want a verification failure")
	}

	if _, err := c.Databases.Delete(ctx, db.ID); err != nil {
		t.Fatalf("Databases.Delete: %v", err)
	}
	_, _, err = c.Databases.GetCA(ctx, db.ID)
	wantGodoError(t, "GetCA(deleted)", err, http.StatusNotFound)
}

func TestGodoErrors(t *testing.T) {
	s := dbtrusttest.Start(t)
	ctx := context.Background()
	c := newGodo(t, s.URL, s.Token)
	db, _, err := c.Databases.Create(ctx, &godo.DatabaseCreateRequest{Name: "orders", EngineSlug: "mysql", SizeSlug: "db-s-1vcpu-1gb", Region: "ams3", NumNodes: 1})
	if err != nil {
		t.Fatal(err)
	}

	// Another account's cluster reads exactly like one that does not exist.
	var other struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(s.CLI(t, "account", "create", "other", "-o", "json"), &other); err != nil {
		t.Fatal(err)
	}
	foreign := newGodo(t, s.URL, other.Token)
	_, _, errForeign := foreign.Databases.GetCA(ctx, db.ID)
	eForeign := wantGodoError(t, "GetCA(other account's cluster)", errForeign, http.StatusNotFound)
	_, _, errMissing := c.Databases.GetCA(ctx, "9cc10173-e9ea-4176-9dbc-a4cee4c4ff30")
	eMissing := wantGodoError(t, "GetCA(unknown cluster)", errMissing, http.StatusNotFound)
	if eForeign.Message != eMissing.Message {
		t.Fatalf("foreign cluster message %q differs from unknown cluster message %q", eForeign.Message, eMissing.Message)
	}
	_, _, err = c.Databases.GetCA(ctx, "not-a-uuid")
	wantGodoError(t, "GetCA(malformed id)", err, http.StatusNotFound)

	// Bad tokens.
	for name, tok := range map[string]string{"empty": "", "garbage": "xyz", "unknown": "dbt_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		_, _, err := newGodo(t, s.URL, tok).Databases.GetCA(ctx, db.ID)
		er := wantGodoError(t, "GetCA(token "+name+")", err, http.StatusUnauthorized)
		if er.Message != "Unable to authenticate you." {
			t.Fatalf("401 message %q", er.Message)
		}
	}
	var viewer struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	if err := json.Unmarshal(s.CLI(t, "token", "create", "--account", "default", "--name", "ci", "--role", "viewer", "-o", "json"), &viewer); err != nil {
		t.Fatal(err)
	}
	vc := newGodo(t, s.URL, viewer.Token)
	if _, _, err := vc.Databases.GetCA(ctx, db.ID); err != nil {
		t.Fatalf("viewer GetCA: %v", err)
	}
	_, err = vc.Databases.Delete(ctx, db.ID)
	wantGodoError(t, "Delete as viewer", err, http.StatusForbidden)
	s.CLI(t, "token", "revoke", "--yes", "--account", "default", viewer.ID)
	// The CLI wrote to the data folder from another process; the server sees
	// the revocation as soon as its store watcher notices (about 0.1 s).
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, _, err = vc.Databases.GetCA(ctx, db.ID)
		if err != nil || time.Now().After(deadline) {
			break
		}
	}
	wantGodoError(t, "GetCA(revoked token)", err, http.StatusUnauthorized)

	// Validation failures.
	_, _, err = c.Databases.Create(ctx, &godo.DatabaseCreateRequest{Name: "x", EngineSlug: "oracle", SizeSlug: "s", Region: "nyc1", NumNodes: 1})
	wantGodoError(t, "Create(unknown engine)", err, http.StatusUnprocessableEntity)
	_, _, err = c.Databases.Create(ctx, &godo.DatabaseCreateRequest{Name: "orders", EngineSlug: "pg", SizeSlug: "db-s-1vcpu-1gb", Region: "nyc1", NumNodes: 1})
	wantGodoError(t, "Create(duplicate name)", err, http.StatusConflict)
}

func TestGodoRateLimit(t *testing.T) {
	s := dbtrusttest.Start(t, "--rate-limit", "3")
	ctx := context.Background()
	c := newGodo(t, s.URL, s.Token)
	for i := range 3 {
		_, resp, err := c.Databases.List(ctx, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		if resp.Rate.Limit != 3 || resp.Rate.Remaining != 2-i {
			t.Fatalf("request %d: Rate = %+v, want limit 3, remaining %d", i+1, resp.Rate, 2-i)
		}
	}
	_, _, err := c.Databases.List(ctx, nil)
	er := wantGodoError(t, "fourth request", err, http.StatusTooManyRequests)
	if er.Response.Header.Get("Retry-After") == "" || er.Message != "API Rate limit exceeded." {
		t.Fatalf("429: Retry-After %q, message %q", er.Response.Header.Get("Retry-After"), er.Message)
	}
	// Another token has its own budget.
	var other struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(s.CLI(t, "token", "create", "--name", "second", "--role", "viewer", "-o", "json"), &other); err != nil {
		t.Fatal(err)
	}
	if _, _, err := newGodo(t, s.URL, other.Token).Databases.List(ctx, nil); err != nil {
		t.Fatalf("second token: %v", err)
	}
}

// issueServerCert asks dbtrust's native API for a server certificate with a
// generated key for the cluster and returns it as a TLS certificate.
func issueServerCert(t *testing.T, s *dbtrusttest.Server, clusterID, dnsName string) tls.Certificate {
	t.Helper()
	body := strings.NewReader(`{"dns_names":["` + dnsName + `"]}`)
	req, _ := http.NewRequest("POST", s.URL+"/v1/instances/"+clusterID+"/certificates", body)
	req.Header.Set("Authorization", "Bearer "+s.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		CertificatePEM string `json:"certificate_pem"`
		PrivateKeyPEM  string `json:"private_key_pem"`
	}
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&out) != nil {
		t.Fatalf("POST /v1/instances/%s/certificates = %d", clusterID, resp.StatusCode)
	}
	cert, err := tls.X509KeyPair([]byte(out.CertificatePEM), []byte(out.PrivateKeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// tlsHandshake serves cert on a loopback listener and dials it with a client
// that trusts only roots.
func tlsHandshake(t *testing.T, cert tls.Certificate, roots *x509.CertPool, serverName string) error {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.(*tls.Conn).Handshake()
		c.Close()
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, ServerName: serverName})
	if err == nil {
		c.Close()
	}
	return err
}
