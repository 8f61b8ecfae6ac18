package astra_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/credential"
	"github.com/dbtrust/dbtrust/internal/pgtest"
	"github.com/dbtrust/dbtrust/internal/postgres"
	"github.com/dbtrust/dbtrust/internal/seal"
	"github.com/dbtrust/dbtrust/internal/server"
	"github.com/dbtrust/dbtrust/internal/sqlite"
	"github.com/dbtrust/dbtrust/trustcert"
)

// lockedBuffer collects the server's log output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]byte(nil), l.b.Bytes()...)
}

// env is a real dbtrust server (SQLite file, AES-GCM sealer, every dialect)
// with one account and its owner token.
type env struct {
	t       testing.TB
	url     string
	svc     *dbtrust.Service
	certs   *trustcert.Service
	creds   *credential.Service
	acct    dbtrust.Account
	token   string
	dataDir string
	dsn     string // the PostgreSQL database, on that backend
	logs    *lockedBuffer
	offset  atomic.Int64 // added to the real time: tests move the clock forward
	client  *http.Client
}

func (e *env) now() time.Time { return time.Now().Add(time.Duration(e.offset.Load())) }

func newEnv(t testing.TB) *env { return newEnvOn(t, "sqlite", 1<<30) }

// newEnvLimited is newEnv with a per-token limit of rateLimit requests a minute.
func newEnvLimited(t testing.TB, rateLimit int) *env { return newEnvOn(t, "sqlite", rateLimit) }

// newEnvOn is newEnv on the given backend: "sqlite" (a file in dataDir) or
// "postgres" (a fresh database; skipped without DBTRUST_TEST_POSTGRES).
func newEnvOn(t testing.TB, backend string, rateLimit int) *env {
	t.Helper()
	e := &env{t: t, dataDir: t.TempDir(), logs: &lockedBuffer{}, client: &http.Client{}}
	ctx := context.Background()
	var store interface {
		dbtrust.Store
		trustcert.Store
		credential.Store
	}
	switch backend {
	case "sqlite":
		s, err := sqlite.Open(ctx, filepath.Join(e.dataDir, "dbtrust.db"))
		if err != nil {
			t.Fatal(err)
		}
		store = s
	case "postgres":
		e.dsn = pgtest.FreshDB(t)
		s, err := postgres.Open(ctx, e.dsn)
		if err != nil {
			t.Fatal(err)
		}
		store = s
	default:
		t.Fatalf("unknown backend %q", backend)
	}
	t.Cleanup(func() { store.Close() })
	var err error
	kek := make([]byte, seal.KeySize)
	rand.Read(kek)
	sealer, err := seal.New(kek)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.svc = dbtrust.NewService(store, sealer, dbtrust.Options{Clock: e.now, Logger: log})
	e.certs, e.creds = trustcert.New(e.svc, store), credential.New(e.svc, store)
	e.acct, e.token, err = e.svc.CreateAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.New(server.Config{Service: e.svc, Logger: log, Clock: e.now, RateLimit: rateLimit}))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

// tokenFor makes a token of the env's account with the given role.
func (e *env) tokenFor(role dbtrust.Role) string {
	e.t.Helper()
	_, full, err := e.svc.CreateToken(context.Background(), dbtrust.Operator(e.acct.ID), "t-"+string(role), role)
	if err != nil {
		e.t.Fatal(err)
	}
	return full
}

func (e *env) base() string { return e.url + "/accounts/" + e.acct.ID + "/core/v1" }

// reply is a response, read whole.
type reply struct {
	status  int
	header  http.Header
	body    []byte
	problem int // the problem number when the reply is a problem
}

func (r reply) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// req is one request. Header values "" are left out; token "" sends none.
type req struct {
	method, path string
	body         any // string, []byte, or a value to encode as JSON
	token        string
	header       map[string]string
	noAuth       bool
	unchecked    bool // skip the conformance checks (benchmarks measure the server alone)
}

// do sends r to the server and checks the reply against the declared
// responses of its operation (when it addresses one), and that every
// timestamp in it is in whole seconds. path is relative to /accounts/{id}/core/v1
// unless it starts with "/accounts" or "http".
func (e *env) do(r req) reply {
	e.t.Helper()
	url := r.path
	switch {
	case strings.HasPrefix(url, "http"):
	case strings.HasPrefix(url, "/accounts"):
		url = e.url + url
	default:
		url = e.base() + url
	}
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		body = bytes.NewReader(j)
	}
	hr, err := http.NewRequest(r.method, url, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if !r.noAuth {
		tok := r.token
		if tok == "" {
			tok = e.token
		}
		hr.Header.Set("Authorization", "Bearer "+tok)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	resp, err := e.client.Do(hr)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	out := reply{status: resp.StatusCode, header: resp.Header, body: b}
	if resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable { // 503 is a deliberate answer (rate limit, store down)
		e.t.Errorf("%s %s: status %d: %s", r.method, r.path, resp.StatusCode, b)
	}
	if r.unchecked {
		return out
	}
	if op := operation(r.method, hr.URL.Path); op != "" {
		n, err := checkResponse(op, resp.StatusCode, resp.Header, b)
		if err != nil {
			e.t.Errorf("%s %s: response does not conform: %v\nbody: %.600s", r.method, r.path, err, b)
		}
		out.problem = n
	} else if resp.Header.Get("Content-Type") == "application/problem+json" {
		var p struct{ Type string }
		json.Unmarshal(b, &p)
		out.problem = problemNumber(p.Type)
	}
	checkWholeSeconds(e.t, b)
	return out
}

func problemNumber(typ string) int {
	n := 0
	for _, c := range strings.TrimPrefix(typ, "https://astra.netapp.io/problems/") {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// operation names the declared operation a request addresses, or "".
func operation(method, path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) < 5 || parts[0] != "accounts" || parts[2] != "core" || parts[3] != "v1" {
		return ""
	}
	var route string
	switch {
	case len(parts) == 5 && parts[4] == "certificates":
		route = rCerts
	case len(parts) == 6 && parts[4] == "certificates":
		route = rCert
	case len(parts) == 5 && parts[4] == "credentials":
		route = rCreds
	case len(parts) == 6 && parts[4] == "credentials":
		route = rCred
	default:
		return ""
	}
	op := method + " " + route
	if declared[op] == nil {
		return ""
	}
	return op
}

// checkWholeSeconds fails when a timestamp in body has a fraction.
func checkWholeSeconds(t testing.TB, body []byte) {
	t.Helper()
	var v any
	if json.Unmarshal(body, &v) != nil {
		return
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		case string:
			if specTime.MatchString(x) && !wholeSeconds.MatchString(x) {
				t.Errorf("timestamp %q is not in whole seconds", x)
			}
		}
	}
	walk(v)
}

// newCertPEM returns a self-signed CA certificate with the given CN, valid
// from an hour ago until notAfter.
func newCertPEM(t testing.TB, cn string, notAfter time.Time) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func newKeyPEM(t testing.TB) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// certBody is a certificate POST body.
func certBody(pemText []byte) map[string]any {
	return map[string]any{"type": "application/astra-certificate", "version": "1.1", "cert": b64(pemText)}
}

// credBody is a credential POST body with a generic key store.
func credBody(name string, ks map[string]string) map[string]any {
	return map[string]any{"type": "application/astra-credential", "version": "1.1", "name": name, "keyStore": ks}
}

// resource is the part of a certificate or credential the tests read.
type resource struct {
	ID                  string `json:"id"`
	Name                string `json:"name"`
	Version             string `json:"version"`
	KeyType             string `json:"keyType"`
	Valid               string `json:"valid"`
	CN                  string `json:"cn"`
	TrustState          string `json:"trustState"`
	TrustStateDesired   string `json:"trustStateDesired"`
	IsSelfSigned        string `json:"isSelfSigned"`
	ExpiryTimestamp     string `json:"expiryTimestamp"`
	ValidFromTimestamp  string `json:"validFromTimestamp"`
	ValidUntilTimestamp string `json:"validUntilTimestamp"`
	Metadata            struct {
		Labels     []dbtrust.Label `json:"labels"`
		CreatedBy  string          `json:"createdBy"`
		ModifiedBy string          `json:"modifiedBy"`
	} `json:"metadata"`
}

type listReply struct {
	Items    []json.RawMessage `json:"items"`
	Metadata struct {
		Continue string `json:"continue"`
		Count    *int   `json:"count"`
	} `json:"metadata"`
}

// mustCreate POSTs body to the collection and returns the new resource.
func (e *env) mustCreate(collection string, body any) resource {
	e.t.Helper()
	r := e.do(req{method: "POST", path: "/" + collection, body: body})
	if r.status != http.StatusCreated {
		e.t.Fatalf("POST /%s = %d %s, want 201", collection, r.status, r.body)
	}
	var res resource
	r.decode(e.t, &res)
	return res
}

// timeIn returns the time days from now.
func timeIn(days int) time.Time { return time.Now().Add(time.Duration(days) * 24 * time.Hour) }

// otherStore opens the env's database a second time, as another process
// (SQLite) or replica (PostgreSQL) would.
func (e *env) otherStore() credential.Store {
	e.t.Helper()
	ctx := context.Background()
	var s interface {
		credential.Store
		Close() error
	}
	var err error
	if e.dsn != "" {
		s, err = postgres.Open(ctx, e.dsn)
	} else {
		s, err = sqlite.Open(ctx, filepath.Join(e.dataDir, "dbtrust.db"))
	}
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { s.Close() })
	return s
}
