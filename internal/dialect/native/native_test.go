package native_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/client"
	"github.com/dbtrust/dbtrust/internal/dialect/native"
	"github.com/dbtrust/dbtrust/internal/server"
	"github.com/dbtrust/dbtrust/internal/servicetest"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// env is a running dbtrust with the native API, its OpenAPI router, and the
// (operation, status) pairs seen and validated so far.
type env struct {
	t      *testing.T
	url    string
	svc    *dbtrust.Service
	owner  string // owner token
	viewer string // viewer token
	doc    *openapi3.T
	router routers.Router
	mu     sync.Mutex
	seen   map[string]bool
	logs   *lockedBuffer // the service's and the server's log lines, at debug level
}

// lockedBuffer collects log output written from the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var registerDecoders sync.Once

func newEnv(t *testing.T) *env { t.Helper(); return newEnvWith(t, dbtrust.Options{}) }

func newEnvWith(t *testing.T, opt dbtrust.Options) *env {
	t.Helper()
	registerDecoders.Do(func() {
		openapi3filter.RegisterBodyDecoder("application/x-pem-file", openapi3filter.PlainBodyDecoder)
		openapi3filter.RegisterBodyDecoder("application/pkix-crl", openapi3filter.PlainBodyDecoder)
	})
	ctx := context.Background()
	logs := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if opt.Logger == nil {
		opt.Logger = log
	}
	se := servicetest.New(t, opt)
	svc, acct, owner := se.Service, se.Account, se.Token
	_, viewer, err := svc.CreateToken(ctx, dbtrust.Operator(acct.ID), "viewer", dbtrust.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(server.New(server.Config{Service: svc, Logger: log}))
	t.Cleanup(ts.Close)

	// The document is the one the server serves.
	resp, err := http.Get(ts.URL + "/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(raw, native.OpenAPI()) {
		t.Fatal("GET /v1/openapi.json does not serve the embedded document")
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: ts.URL}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, url: ts.URL, svc: svc, owner: owner, viewer: viewer, doc: doc, router: router, seen: map[string]bool{}, logs: logs}
}

// do sends a request, validates the response against the document (the
// status must be declared: no fallback to "default" for the ones the test
// expects), checks the status, and returns the body.
func (e *env) do(method, path, token string, body any, want int) []byte {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		e.t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, got, want)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		e.t.Fatalf("%s %s: no X-Request-Id", method, path)
	}
	route, params, err := e.router.FindRoute(req)
	if err != nil {
		e.t.Fatalf("%s %s: not in the OpenAPI document: %v", method, path, err)
	}
	if route.Operation.Responses.Status(resp.StatusCode) == nil {
		e.t.Fatalf("%s %s: status %d is not declared for %s", method, path, resp.StatusCode, route.Operation.OperationID)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(got)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		e.t.Fatalf("%s %s: %d response does not match the document: %v\n%s", method, path, resp.StatusCode, err, got)
	}
	if resp.StatusCode >= 400 {
		var eb client.ErrorBody
		if err := json.Unmarshal(got, &eb); err != nil || eb.RequestID != resp.Header.Get("X-Request-Id") || eb.Error.Code == "" {
			e.t.Fatalf("%s %s: error body %s lacks code or request_id", method, path, got)
		}
	}
	e.mu.Lock()
	e.seen[fmt.Sprintf("%s %d", route.Operation.OperationID, resp.StatusCode)] = true
	e.mu.Unlock()
	return got
}

// code returns the error code of an error body.
func code(t *testing.T, body []byte) string {
	t.Helper()
	var eb client.ErrorBody
	if err := json.Unmarshal(body, &eb); err != nil {
		t.Fatal(err)
	}
	return eb.Error.Code
}

func decode[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decode %T: %v\n%s", v, err, body)
	}
	return v
}

func csrPEM(t *testing.T, dns string) string { return string(servicetest.CSR(t, dns)) }

// TestEveryOperationAgainstOpenAPI drives every operation of the document to
// every status it declares, validating each real response against it.
func TestEveryOperationAgainstOpenAPI(t *testing.T) {
	e := newEnvWith(t, dbtrust.Options{EmulatedClock: dbtrust.NewEmulatedClock(nil)})
	own, view := e.owner, e.viewer
	bad := "dbt_0000000000000000_" + strings.Repeat("x", 43)
	missing := "00000000-0000-4000-8000-000000000000"

	e.do("GET", "/v1/openapi.json", "", nil, 200)

	// Instances.
	inst := decode[client.Instance](t, e.do("POST", "/v1/instances", own, map[string]any{"name": "backend", "engine": "pg", "tags": []string{"prod"}}, 201))
	if code(t, e.do("POST", "/v1/instances", own, map[string]any{"name": "backend", "engine": "pg"}, 409)) != "conflict" {
		t.Fatal("duplicate instance name: want code conflict")
	}
	if code(t, e.do("POST", "/v1/instances", own, map[string]any{"name": "x", "engine": "oracle"}, 400)) != "invalid" {
		t.Fatal("unknown engine: want code invalid")
	}
	e.do("POST", "/v1/instances", own, `{"name": 5}`, 400)
	e.do("POST", "/v1/instances", own, `{"name":"y","engine":"pg","bogus":1}`, 400)
	e.do("POST", "/v1/instances", view, map[string]any{"name": "z", "engine": "pg"}, 403)
	e.do("POST", "/v1/instances", "", map[string]any{"name": "z", "engine": "pg"}, 401)
	imported := decode[client.InstanceList](t, e.do("POST", "/v1/instances/import", own, []map[string]any{{"name": "bulk-1", "engine": "pg"}, {"name": "bulk-2", "engine": "redis"}}, 201))
	if len(imported.Instances) != 2 || imported.Instances[1].Name != "bulk-2" {
		t.Fatalf("import answered %+v", imported)
	}
	e.do("POST", "/v1/instances/import", own, []map[string]any{{"name": "bulk-3", "engine": "pg"}, {"name": "backend", "engine": "pg"}}, 409)
	e.do("POST", "/v1/instances/import", own, []map[string]any{{"name": "bulk-3", "engine": "oracle"}}, 400)
	e.do("POST", "/v1/instances/import", own, make([]map[string]any, dbtrust.MaxImport+1), 413)
	e.do("POST", "/v1/instances/import", view, []map[string]any{{"name": "bulk-3", "engine": "pg"}}, 403)
	e.do("POST", "/v1/instances/import", "", []map[string]any{{"name": "bulk-3", "engine": "pg"}}, 401)
	e.do("GET", "/v1/instances", own, nil, 200)
	e.do("GET", "/v1/instances?tag=prod", view, nil, 200)
	e.do("GET", "/v1/instances?tag=a%20b", own, nil, 400)
	e.do("GET", "/v1/instances", bad, nil, 401)
	e.do("GET", "/v1/instances/"+inst.ID, view, nil, 200)
	e.do("GET", "/v1/instances/"+missing, own, nil, 404)
	e.do("GET", "/v1/instances/not-a-uuid", own, nil, 404)
	e.do("GET", "/v1/instances/"+inst.ID, "", nil, 401)
	redis := decode[client.Instance](t, e.do("POST", "/v1/instances", own, map[string]any{"name": "cache", "engine": "redis"}, 201))
	e.do("PATCH", "/v1/instances/"+redis.ID, own, map[string]any{"endpoints": []map[string]any{{"host": "cache.example.internal", "port": 6380}}}, 200)
	e.do("PATCH", "/v1/instances/"+redis.ID, own, map[string]any{"endpoints": []map[string]any{{"host": "cache.example.internal", "port": 0}}}, 400)
	e.do("PATCH", "/v1/instances/"+redis.ID, view, map[string]any{"endpoints": []map[string]any{}}, 403)
	e.do("PATCH", "/v1/instances/"+redis.ID, "", map[string]any{"endpoints": []map[string]any{}}, 401)
	e.do("PATCH", "/v1/instances/"+missing, own, map[string]any{"endpoints": []map[string]any{}}, 404)

	// CAs, bundle, rotation.
	p := "/v1/instances/" + inst.ID
	cas := decode[client.CAList](t, e.do("GET", p+"/cas", view, nil, 200))
	if len(cas.CAs) != 1 || cas.CAs[0].State != "current" || len(cas.CAs[0].Fingerprint) != 64 {
		t.Fatalf("CAs of a new instance = %+v", cas.CAs)
	}
	e.do("GET", "/v1/instances/"+missing+"/cas", own, nil, 404)
	e.do("GET", p+"/cas", "", nil, 401)
	e.do("GET", p+"/ca-bundle", view, nil, 200)
	e.do("GET", "/v1/instances/"+missing+"/ca-bundle", own, nil, 404)
	e.do("GET", p+"/ca-bundle", "", nil, 401)

	for _, step := range []string{"finish", "rollback", "retire"} {
		if code(t, e.do("POST", p+"/rotation/"+step, own, nil, 409)) != "conflict" {
			t.Fatalf("%s before start: want code conflict", step)
		}
		e.do("POST", p+"/rotation/"+step, view, nil, 403)
		e.do("POST", p+"/rotation/"+step, "", nil, 401)
		e.do("POST", "/v1/instances/"+missing+"/rotation/"+step, own, nil, 404)
	}
	e.do("POST", p+"/rotation/start", own, map[string]any{"key_type": "dsa"}, 400)
	e.do("POST", p+"/rotation/retire", own, `{"force":"yes"}`, 400)
	e.do("POST", p+"/rotation/start", view, nil, 403)
	e.do("POST", p+"/rotation/start", "", nil, 401)
	e.do("POST", "/v1/instances/"+missing+"/rotation/start", own, nil, 404)

	// A certificate from the first CA, then a full rotation.
	first := decode[client.Certificate](t, e.do("POST", p+"/certificates", own, map[string]any{"dns_names": []string{"db.example"}, "ips": []string{"127.0.0.1"}, "ttl": "720h"}, 201))
	if first.PrivateKeyPEM == "" || first.CAPEM == "" || first.State != "valid" {
		t.Fatalf("issue with a generated key: %+v", first)
	}
	started := decode[client.CAList](t, e.do("POST", p+"/rotation/start", own, nil, 200))
	if len(started.CAs) != 2 || strings.Count(started.BundlePEM, "BEGIN CERTIFICATE") != 2 {
		t.Fatalf("after start: %d CAs, bundle of %d", len(started.CAs), strings.Count(started.BundlePEM, "BEGIN CERTIFICATE"))
	}
	e.do("POST", p+"/rotation/start", own, map[string]any{}, 409)
	e.do("GET", p+"/ca-bundle", view, nil, 200) // the viewer now holds the next CA
	rs := decode[client.RotationStatus](t, e.do("GET", p+"/rotation", own, nil, 200))
	if rs.Stage != "started" || rs.HoldingCount != 1 || rs.LackingCount != 0 || len(rs.Clients) != 1 || rs.Clients[0].Name != "viewer" {
		t.Fatalf("rotation status after start and one fetch = %+v", rs)
	}
	e.do("GET", p+"/rotation", view, nil, 403)
	e.do("GET", p+"/rotation", "", nil, 401)
	e.do("GET", "/v1/instances/"+missing+"/rotation", own, nil, 404)
	e.do("POST", p+"/rotation/finish", own, `{"force":"yes"}`, 400)
	e.do("POST", p+"/rotation/finish", own, nil, 200)
	e.do("POST", p+"/rotation/rollback", own, nil, 200)
	e.do("POST", p+"/rotation/finish", own, nil, 200)
	e.do("POST", p+"/rotation/retire", own, nil, 409) // the first certificate is still live
	e.do("POST", p+"/rotation/retire", own, map[string]any{"force": true}, 200)

	// Policy.
	e.do("GET", p+"/rotation/policy", view, nil, 200)
	e.do("GET", "/v1/instances/"+missing+"/rotation/policy", own, nil, 404)
	e.do("GET", p+"/rotation/policy", "", nil, 401)
	pol := decode[client.RotationPolicy](t, e.do("PUT", p+"/rotation/policy", own, map[string]any{"enabled": true, "start_before": "720h"}, 200))
	if !pol.Enabled || pol.StartBefore != "720h0m0s" || pol.FinishAfter != "168h0m0s" {
		t.Fatalf("policy = %+v", pol)
	}
	e.do("PUT", p+"/rotation/policy", own, map[string]any{"enabled": true, "start_before": "soon"}, 400)
	e.do("PUT", p+"/rotation/policy", view, map[string]any{"enabled": true}, 403)
	e.do("PUT", p+"/rotation/policy", "", map[string]any{"enabled": true}, 401)
	e.do("PUT", "/v1/instances/"+missing+"/rotation/policy", own, map[string]any{"enabled": true}, 404)

	// Certificates.
	fromCSR := decode[client.Certificate](t, e.do("POST", p+"/certificates", own, map[string]any{"csr": csrPEM(t, "node-2.example")}, 201))
	if fromCSR.PrivateKeyPEM != "" || fromCSR.DNSNames[0] != "node-2.example" {
		t.Fatalf("issue from a CSR: %+v", fromCSR)
	}
	e.do("POST", p+"/certificates", own, map[string]any{"csr": "not a csr"}, 400)
	e.do("POST", p+"/certificates", own, map[string]any{"ttl": "forever"}, 400)
	e.do("POST", p+"/certificates", view, nil, 403)
	e.do("POST", p+"/certificates", "", nil, 401)
	e.do("POST", "/v1/instances/"+missing+"/certificates", own, nil, 404)
	list := decode[client.CertificateList](t, e.do("GET", p+"/certificates", view, nil, 200))
	if len(list.Certificates) != 2 || list.Certificates[0].PrivateKeyPEM != "" {
		t.Fatalf("certificate list: %d, or a private key is listed", len(list.Certificates))
	}
	e.do("GET", "/v1/instances/"+missing+"/certificates", own, nil, 404)
	e.do("GET", p+"/certificates", "", nil, 401)
	e.do("GET", p+"/certificates/"+first.Serial, view, nil, 200)
	e.do("GET", p+"/certificates/ffff", own, nil, 404)
	e.do("GET", "/v1/instances/"+redis.ID+"/certificates/"+first.Serial, own, nil, 404)
	e.do("GET", p+"/certificates/"+first.Serial, "", nil, 401)
	e.do("POST", p+"/certificates/"+first.Serial+"/revoke", own, map[string]any{"reason": "lost"}, 400)
	e.do("POST", p+"/certificates/"+first.Serial+"/revoke", view, nil, 403)
	e.do("POST", p+"/certificates/"+first.Serial+"/revoke", "", nil, 401)
	e.do("POST", p+"/certificates/ffff/revoke", own, nil, 404)
	rev := decode[client.Certificate](t, e.do("POST", p+"/certificates/"+first.Serial+"/revoke", own, map[string]any{"reason": "superseded"}, 200))
	if rev.State != "revoked" || rev.RevocationReason != "superseded" {
		t.Fatalf("revoked: %+v", rev)
	}
	e.do("POST", p+"/certificates/"+first.Serial+"/revoke", own, nil, 409)

	// CRLs: public, DER and PEM.
	der := e.do("GET", "/v1/cas/"+first.CAID+"/crl", "", nil, 200)
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Text(16) != first.Serial {
		t.Fatalf("CRL entries = %+v, want %s", crl.RevokedCertificateEntries, first.Serial)
	}
	if openssl, err := exec.LookPath("openssl"); err == nil { // openssl reads the served CRL too
		cmd := exec.Command(openssl, "crl", "-inform", "DER", "-noout", "-text")
		cmd.Stdin = bytes.NewReader(der)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(strings.ToUpper(string(out)), strings.ToUpper(first.Serial)) {
			t.Fatalf("openssl crl of the served CRL: %v\n%s", err, out)
		}
	} else if os.Getenv("CI") == "true" {
		t.Fatal("openssl is not installed")
	}
	b, _ := pem.Decode(e.do("GET", "/v1/cas/"+first.CAID+"/crl.pem", "", nil, 200))
	if b == nil || b.Type != "X509 CRL" {
		t.Fatal("PEM CRL is not an X509 CRL block")
	}
	if pc, err := x509.ParseRevocationList(b.Bytes); err != nil || len(pc.RevokedCertificateEntries) != 1 {
		t.Fatalf("PEM CRL: %v", err)
	}
	e.do("GET", "/v1/cas/"+missing+"/crl", "", nil, 404)
	e.do("GET", "/v1/cas/nope/crl.pem", "", nil, 404)

	// Recipes.
	rc := decode[client.Recipes](t, e.do("GET", p+"/recipes?ca_file=/etc/ssl/backend.pem", view, nil, 200))
	if rc.CAFile != "/etc/ssl/backend.pem" || !strings.Contains(rc.Recipes[0].Command, "sslrootcert=/etc/ssl/backend.pem") {
		t.Fatalf("recipes = %+v", rc)
	}
	rr := decode[client.Recipes](t, e.do("GET", "/v1/instances/"+redis.ID+"/recipes", view, nil, 200))
	if !strings.Contains(rr.Recipes[0].Command, "--tls --cacert cache-ca.pem") {
		t.Fatalf("redis recipes = %+v", rr)
	}
	e.do("GET", p+"/recipes?ca_file="+strings.Repeat("a", 2000), own, nil, 400)
	e.do("GET", "/v1/instances/"+missing+"/recipes", own, nil, 404)
	e.do("GET", p+"/recipes", "", nil, 401)

	// Tokens and audit.
	tok := decode[client.Token](t, e.do("POST", "/v1/tokens", own, map[string]any{"name": "ci", "role": "member"}, 201))
	if !strings.HasPrefix(tok.Secret, dbtrust.TokenPrefix) {
		t.Fatalf("created token has no secret: %+v", tok)
	}
	e.do("POST", "/v1/tokens", own, map[string]any{"name": "ci", "role": "emperor"}, 400)
	e.do("POST", "/v1/tokens", view, map[string]any{"name": "x", "role": "viewer"}, 403)
	e.do("POST", "/v1/tokens", "", map[string]any{"name": "x", "role": "viewer"}, 401)
	tl := decode[client.TokenList](t, e.do("GET", "/v1/tokens", own, nil, 200))
	for _, x := range tl.Tokens {
		if x.Secret != "" {
			t.Fatal("a listed token carries its secret")
		}
	}
	e.do("GET", "/v1/tokens", view, nil, 403)
	e.do("GET", "/v1/tokens", "", nil, 401)
	e.do("DELETE", "/v1/tokens/"+tok.ID, own, nil, 204)
	e.do("GET", "/v1/instances", tok.Secret, nil, 401) // revoked
	e.do("DELETE", "/v1/tokens/"+tok.ID, own, nil, 404)
	e.do("DELETE", "/v1/tokens/"+tok.ID, view, nil, 403)
	e.do("DELETE", "/v1/tokens/"+tok.ID, "", nil, 401)
	exerciseAccessKeys(t, e)
	audit := decode[client.AuditList](t, e.do("GET", "/v1/audit?limit=500", own, nil, 200))
	actions := map[string]bool{}
	for _, ev := range audit.Events {
		actions[ev.Action] = true
	}
	for _, a := range []string{"rotation.start", "rotation.finish", "rotation.rollback", "rotation.retire", "certificate.issue", "certificate.revoke", "accesskey.create", "accesskey.revoke"} {
		if !actions[a] {
			t.Fatalf("audit lacks %s", a)
		}
	}
	nt := decode[client.Token](t, e.do("POST", p+"/node-tokens", own, map[string]any{"name": "backend-node-1"}, 201))
	if nt.Role != "node" || nt.InstanceID != inst.ID || !strings.HasPrefix(nt.Secret, dbtrust.TokenPrefix) {
		t.Fatalf("node token = %+v, want role node, instance %s and a secret", nt, inst.ID)
	}
	e.do("POST", p+"/node-tokens", own, map[string]any{"name": ""}, 400)
	e.do("POST", p+"/node-tokens", view, map[string]any{"name": "n"}, 403)
	e.do("POST", p+"/node-tokens", "", map[string]any{"name": "n"}, 401)
	e.do("POST", "/v1/instances/"+missing+"/node-tokens", own, map[string]any{"name": "n"}, 404)
	if w := decode[client.Whoami](t, e.do("GET", "/v1/whoami", nt.Secret, nil, 200)); w.Role != "node" || w.InstanceID != inst.ID {
		t.Fatalf("whoami as a node token = %+v", w)
	}
	e.do("GET", "/v1/whoami", "", nil, 401)
	for _, path := range []string{"/v1/instances", p + "/rotation/policy", p + "/certificates", p + "/certificates/" + first.Serial} {
		e.do("GET", path, nt.Secret, nil, 403) // a node token reads its bundle, not these
	}
	e.do("GET", "/v1/audit?limit=0", own, nil, 400)
	e.do("GET", "/v1/audit", view, nil, 403)
	e.do("GET", "/v1/audit", "", nil, 401)

	// Webhooks and their delivery log.
	wh := decode[client.Webhook](t, e.do("POST", "/v1/webhooks", own, map[string]any{"url": "http://127.0.0.1:9/hook", "events": []string{"certificate.revoked"}}, 201))
	if !strings.HasPrefix(wh.Secret, "whsec_") || len(wh.ExpiryDays) != 3 {
		t.Fatalf("created webhook = %+v, want a made secret and the default thresholds", wh)
	}
	e.do("POST", "/v1/webhooks", own, map[string]any{"url": "http://hooks.example.com/x"}, 400)
	e.do("POST", "/v1/webhooks", own, map[string]any{"url": "https://hooks.example.com/x", "events": []string{"everything"}}, 400)
	e.do("POST", "/v1/webhooks", view, map[string]any{"url": "https://hooks.example.com/x"}, 403)
	e.do("POST", "/v1/webhooks", "", map[string]any{"url": "https://hooks.example.com/x"}, 401)
	wl := decode[client.WebhookList](t, e.do("GET", "/v1/webhooks", own, nil, 200))
	if len(wl.Webhooks) != 1 || wl.Webhooks[0].Secret != "" {
		t.Fatalf("webhook list = %+v, want one, without its secret", wl)
	}
	e.do("GET", "/v1/webhooks", view, nil, 403)
	e.do("GET", "/v1/webhooks", "", nil, 401)
	late := decode[client.Certificate](t, e.do("POST", p+"/certificates", own, map[string]any{"dns_names": []string{"late.example"}}, 201))
	e.do("POST", p+"/certificates/"+late.Serial+"/revoke", own, nil, 200)
	dl := decode[client.DeliveryList](t, e.do("GET", "/v1/webhooks/"+wh.ID+"/deliveries", own, nil, 200))
	if len(dl.Deliveries) != 1 || dl.Deliveries[0].EventType != "certificate.revoked" || dl.Deliveries[0].State != "pending" {
		t.Fatalf("delivery log after a revocation = %+v", dl)
	}
	e.do("GET", "/v1/webhooks/"+wh.ID+"/deliveries?limit=0", own, nil, 400)
	e.do("GET", "/v1/webhooks/"+missing+"/deliveries", own, nil, 404)
	e.do("GET", "/v1/webhooks/"+wh.ID+"/deliveries", view, nil, 403)
	e.do("GET", "/v1/webhooks/"+wh.ID+"/deliveries", "", nil, 401)
	e.do("DELETE", "/v1/webhooks/"+wh.ID, view, nil, 403)
	e.do("DELETE", "/v1/webhooks/"+wh.ID, "", nil, 401)
	e.do("DELETE", "/v1/webhooks/"+wh.ID, own, nil, 204)
	e.do("DELETE", "/v1/webhooks/"+wh.ID, own, nil, 404)

	// The emulated clock; a server on the real clock has no such routes.
	e.do("GET", "/v1/clock", own, nil, 200)
	e.do("GET", "/v1/clock", view, nil, 403)
	e.do("GET", "/v1/clock", "", nil, 401)
	e.do("POST", "/v1/clock", own, map[string]any{"advance": "720h"}, 200)
	e.do("POST", "/v1/clock", own, map[string]any{"advance": "soon"}, 400)
	e.do("POST", "/v1/clock", own, map[string]any{"now": "2001-01-01T00:00:00Z"}, 409)
	e.do("POST", "/v1/clock", view, map[string]any{"advance": "1h"}, 403)
	e.do("POST", "/v1/clock", "", map[string]any{"advance": "1h"}, 401)
	real := newEnv(t)
	real.do("GET", "/v1/clock", real.owner, nil, 404)
	real.do("POST", "/v1/clock", real.owner, map[string]any{"advance": "1h"}, 404)
	for k := range real.seen {
		e.seen[k] = true
	}

	// Delete last.
	e.do("DELETE", p, view, nil, 403)
	e.do("DELETE", p, "", nil, 401)
	e.do("DELETE", p, own, nil, 204)
	e.do("DELETE", p, own, nil, 404)

	// Every declared (operation, status) was produced and validated.
	var missed []string
	for path, item := range e.doc.Paths.Map() {
		for method, op := range item.Operations() {
			for status := range op.Responses.Map() {
				if status == "default" {
					continue
				}
				if !e.seen[op.OperationID+" "+status] {
					missed = append(missed, fmt.Sprintf("%s %s (%s) %s", method, path, op.OperationID, status))
				}
			}
		}
	}
	sort.Strings(missed)
	if len(missed) > 0 {
		t.Fatalf("declared but never exercised:\n%s", strings.Join(missed, "\n"))
	}
}

// TestErrorTable checks that every Code has a row and that unknown /v1 paths
// answer in the native error shape.
func TestErrorTable(t *testing.T) {
	for _, c := range dbtrust.Codes {
		rec := httptest.NewRecorder()
		native.WriteErrorForTest(rec, httptest.NewRequest("GET", "/v1/x", nil), dbtrust.Errorf(c, "m"))
		var eb client.ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Error.Code != string(c) {
			t.Fatalf("Code %q: body %s, want code %q", c, rec.Body, c)
		}
		if !native.ErrorTableHasRow(c) || rec.Code < 400 {
			t.Fatalf("Code %q has no row in the error table (status %d)", c, rec.Code)
		}
	}
	e := newEnv(t)
	resp, err := http.Get(e.url + "/v1/no/such/route")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var eb client.ErrorBody
	if err := json.NewDecoder(resp.Body).Decode(&eb); err != nil || resp.StatusCode != 404 || eb.Error.Code != "not_found" || eb.RequestID == "" {
		t.Fatalf("unknown /v1 route: %d %+v", resp.StatusCode, eb)
	}
}

// TestRateLimit checks that a token over its limit gets 429 rate_limited
// with Retry-After, and that the public CRL route is limited per address.
func TestRateLimit(t *testing.T) {
	se := servicetest.New(t, dbtrust.Options{})
	svc, token := se.Service, se.Token
	ts := httptest.NewServer(server.New(server.Config{Service: svc, RateLimit: 3}))
	defer ts.Close()
	for _, tc := range []struct{ path, token string }{
		{"/v1/instances", token},
		{"/v1/cas/00000000-0000-4000-8000-000000000000/crl", ""},
	} {
		var last *http.Response
		for range 4 {
			req, _ := http.NewRequest("GET", ts.URL+tc.path, nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = resp
			if resp.StatusCode == 429 && code(t, body) != "rate_limited" {
				t.Fatalf("GET %s: 429 with body %s", tc.path, body)
			}
		}
		if last.StatusCode != 429 || last.Header.Get("Retry-After") == "" {
			t.Fatalf("GET %s, 4th of a limit of 3: %d, Retry-After %q", tc.path, last.StatusCode, last.Header.Get("Retry-After"))
		}
	}
}
