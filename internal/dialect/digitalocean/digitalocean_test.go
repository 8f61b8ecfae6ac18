package digitalocean_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/pki"
	"github.com/dbtrust/dbtrust/internal/server"
	"github.com/dbtrust/dbtrust/internal/servicetest"
	"github.com/dbtrust/dbtrust/internal/sqlite"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

type env struct {
	url   string
	token string
	acct  dbtrust.Account
	svc   *dbtrust.Service
	store *sqlite.Store
}

// newEnv runs the real server over a real SQLite file.
func newEnv(t *testing.T, rateLimit int) *env {
	t.Helper()
	se := servicetest.New(t, dbtrust.Options{})
	ts := httptest.NewServer(server.New(server.Config{Service: se.Service, RateLimit: rateLimit}))
	t.Cleanup(ts.Close)
	return &env{url: ts.URL, token: se.Token, acct: se.Account, svc: se.Service, store: se.Store}
}

type result struct {
	req    *http.Request
	status int
	header http.Header
	body   []byte
}

// do sends one request with the given bearer token ("" for none).
func (e *env) do(t *testing.T, method, path, token string, body []byte) result {
	t.Helper()
	req, err := http.NewRequest(method, e.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return result{req: req, status: resp.StatusCode, header: resp.Header, body: b}
}

// check sends one request (body "" for none), fails unless it is answered
// with want, and validates the response against DigitalOcean's spec.
func (e *env) check(t *testing.T, method, path, token, body string, want int) result {
	t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	r := e.do(t, method, path, token, b)
	if r.status != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, r.status, r.body, want)
	}
	validate(t, r)
	return r
}

func (e *env) createCluster(t *testing.T, name string) string {
	t.Helper()
	r := e.do(t, "POST", "/v2/databases", e.token, []byte(`{"name":"`+name+`","engine":"pg","version":"16","size":"db-s-1vcpu-1gb","region":"nyc1","num_nodes":1,"private_network_uuid":"","project_id":"","rules":null}`))
	if r.status != http.StatusCreated {
		t.Fatalf("POST /v2/databases = %d %s", r.status, r.body)
	}
	var v struct {
		Database struct {
			ID string `json:"id"`
		} `json:"database"`
	}
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatal(err)
	}
	return v.Database.ID
}

var (
	specOnce   sync.Once
	specRouter routers.Router
	specErr    error
)

// router loads the official DigitalOcean OpenAPI document (bundled in
// testdata with its licence) once.
func router(t *testing.T) routers.Router {
	t.Helper()
	specOnce.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromFile("testdata/digitalocean-openapi.yaml")
		if err != nil {
			specErr = err
			return
		}
		if err := doc.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
			specErr = err
			return
		}
		doc.Servers = nil
		specRouter, specErr = gorillamux.NewRouter(doc)
	})
	if specErr != nil {
		t.Fatal(specErr)
	}
	return specRouter
}

// validate checks r against the operation the spec declares for its request,
// failing on a status the operation does not declare (default included).
func validate(t *testing.T, r result) {
	t.Helper()
	req := r.req.Clone(context.Background())
	req.Body = nil
	route, params, err := router(t).FindRoute(req)
	if err != nil {
		t.Fatalf("%s %s: no operation in the spec: %v", req.Method, req.URL.Path, err)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true}
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts},
		Status:                 r.status,
		Header:                 r.header,
		Body:                   io.NopCloser(bytes.NewReader(r.body)),
		Options:                opts,
	})
	if err != nil {
		t.Fatalf("%s %s -> %d %s\ndoes not match the DigitalOcean spec: %v", req.Method, req.URL.Path, r.status, r.body, err)
	}
}

// TestResponsesMatchSpec drives every endpoint to every status it declares
// and validates each response against DigitalOcean's own OpenAPI document.
func TestResponsesMatchSpec(t *testing.T) {
	e := newEnv(t, 1000)
	id := e.createCluster(t, "backend")
	gone := e.createCluster(t, "gone")
	if r := e.do(t, "DELETE", "/v2/databases/"+gone, e.token, nil); r.status != http.StatusNoContent {
		t.Fatalf("DELETE = %d", r.status)
	}
	missing := "9cc10173-e9ea-4176-9dbc-a4cee4c4ff30"
	cases := []struct {
		name, method, path, token string
		body                      string
		want                      int
	}{
		{"create", "POST", "/v2/databases", e.token, `{"name":"orders","engine":"mysql","size":"db-s-1vcpu-1gb","region":"ams3","num_nodes":2,"tags":["prod"]}`, 201},
		{"create redis", "POST", "/v2/databases", e.token, `{"name":"cache","engine":"redis","size":"db-s-1vcpu-1gb","region":"ams3","num_nodes":1}`, 201},
		{"create mongodb", "POST", "/v2/databases", e.token, `{"name":"docs","engine":"mongodb","size":"db-s-1vcpu-1gb","region":"ams3","num_nodes":3}`, 201},
		{"list", "GET", "/v2/databases", e.token, "", 200},
		{"list by tag", "GET", "/v2/databases?tag_name=prod", e.token, "", 200},
		{"list with doctl paging", "GET", "/v2/databases?page=1&per_page=200", e.token, "", 200},
		{"get", "GET", "/v2/databases/" + id, e.token, "", 200},
		{"ca", "GET", "/v2/databases/" + id + "/ca", e.token, "", 200},
		{"create 401", "POST", "/v2/databases", "", `{}`, 401},
		{"list 401", "GET", "/v2/databases", "nope", "", 401},
		{"get 401", "GET", "/v2/databases/" + id, "", "", 401},
		{"delete 401", "DELETE", "/v2/databases/" + id, "", "", 401},
		{"ca 401", "GET", "/v2/databases/" + id + "/ca", "dbt_0000000000000000_" + strings.Repeat("A", 43), "", 401},
		{"get 404", "GET", "/v2/databases/" + missing, e.token, "", 404},
		{"delete 404", "DELETE", "/v2/databases/" + gone, e.token, "", 404},
		{"ca 404", "GET", "/v2/databases/" + missing + "/ca", e.token, "", 404},
		{"create 422 (default)", "POST", "/v2/databases", e.token, `{"name":"x","engine":"oracle","size":"s","region":"nyc1","num_nodes":1}`, 422},
		{"create 400 (default)", "POST", "/v2/databases", e.token, `{"name":`, 400},
		{"create 409 (default)", "POST", "/v2/databases", e.token, `{"name":"backend","engine":"pg","size":"s","region":"nyc1","num_nodes":1}`, 409},
		{"create 413 (default)", "POST", "/v2/databases", e.token, `{"name":"` + strings.Repeat("a", 2<<20) + `"}`, 413},
		{"delete", "DELETE", "/v2/databases/" + id, e.token, "", 204},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { e.check(t, c.method, c.path, c.token, c.body, c.want) })
	}

	t.Run("403 (default)", func(t *testing.T) {
		_, viewer, err := e.svc.CreateToken(context.Background(), dbtrust.Operator(e.acct.ID), "viewer", dbtrust.RoleViewer)
		if err != nil {
			t.Fatal(err)
		}
		r := e.do(t, "POST", "/v2/databases", viewer, []byte(`{"name":"v","engine":"pg","size":"s","region":"nyc1","num_nodes":1}`))
		if r.status != http.StatusForbidden {
			t.Fatalf("create as viewer = %d %s, want 403", r.status, r.body)
		}
		validate(t, r)
	})
}

func TestRateLimitedAndServerErrorMatchSpec(t *testing.T) {
	e := newEnv(t, 2)
	id := e.createCluster(t, "backend")
	e.do(t, "GET", "/v2/databases/"+id+"/ca", e.token, nil)
	r := e.do(t, "GET", "/v2/databases/"+id+"/ca", e.token, nil)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("third request = %d (Retry-After %q), want 429 with Retry-After", r.status, r.header.Get("Retry-After"))
	}
	validate(t, r)

	// A real failure underneath: the database goes away. The token is still
	// cached, so the request reaches the store and fails there.
	e2 := newEnv(t, 1000)
	e2.do(t, "GET", "/v2/databases", e2.token, nil)
	e2.store.Close()
	r = e2.do(t, "POST", "/v2/databases", e2.token, []byte(`{"name":"x","engine":"pg","size":"s","region":"nyc1","num_nodes":1}`))
	if r.status != http.StatusInternalServerError {
		t.Fatalf("create on a closed store = %d %s, want 500", r.status, r.body)
	}
	assertNoInternals(t, r)
	validate(t, r)
}

// assertNoInternals fails when an error body leaks driver text, SQL, stack
// traces or file paths.
func assertNoInternals(t *testing.T, r result) {
	t.Helper()
	low := strings.ToLower(string(r.body))
	for _, bad := range []string{"sql:", "sqlite", "sqlstate", "select ", "insert ", "goroutine", ".go:", "panic", "/tmp", "database is closed"} {
		if strings.Contains(low, bad) {
			t.Fatalf("error body leaks %q: %s", bad, r.body)
		}
	}
}

func TestCABundleIsStandardBase64OfCAPEM(t *testing.T) {
	e := newEnv(t, 1000)
	id := e.createCluster(t, "backend")
	r := e.do(t, "GET", "/v2/databases/"+id+"/ca", e.token, nil)
	var raw map[string]map[string]string
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatal(err)
	}
	b64 := raw["ca"]["certificate"]
	pemBytes, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil {
		t.Fatalf("certificate is not standard padded base64: %v", err)
	}
	certs, err := pki.ParseCertsPEM(pemBytes)
	if err != nil || len(certs) != 1 || !certs[0].IsCA {
		t.Fatalf("certificate = %d certs, err %v; want one CA", len(certs), err)
	}
	if r.header.Get("X-Request-Id") == "" || r.header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("headers = %v", r.header)
	}
}

// TestBadInput tries what a careless or hostile client sends: each gets a
// DigitalOcean-shaped error with the right status, never a 500, never
// internals, and nothing is written.
func TestBadInput(t *testing.T) {
	e := newEnv(t, 100000)
	id := e.createCluster(t, "backend")
	_, revoked, err := e.svc.CreateToken(context.Background(), dbtrust.Operator(e.acct.ID), "old", dbtrust.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	revokedID := strings.Split(revoked, "_")[1]
	if err := e.svc.RevokeToken(context.Background(), dbtrust.Operator(e.acct.ID), revokedID); err != nil {
		t.Fatal(err)
	}
	valid := `"size":"db-s-1vcpu-1gb","region":"nyc1","num_nodes":1`
	cases := []struct {
		name, method, path, token, body string
		status                          int
		id                              string
	}{
		{"no token", "GET", "/v2/databases/" + id + "/ca", "", "", 401, "unauthorized"},
		{"malformed token", "GET", "/v2/databases/" + id + "/ca", "dbt_zz", "", 401, "unauthorized"},
		{"revoked token", "GET", "/v2/databases/" + id + "/ca", revoked, "", 401, "unauthorized"},
		{"wrong scheme", "GET", "/v2/databases", "", "", 401, "unauthorized"},
		{"malformed id", "GET", "/v2/databases/not-a-uuid/ca", e.token, "", 404, "not_found"},
		{"uuid without dashes", "GET", "/v2/databases/" + strings.ReplaceAll(id, "-", "") + "/ca", e.token, "", 404, "not_found"},
		{"sql in id", "GET", "/v2/databases/x'%20OR%20'1'='1/ca", e.token, "", 404, "not_found"},
		{"very long path", "GET", "/v2/databases/" + strings.Repeat("a", 100000) + "/ca", e.token, "", 404, "not_found"},
		{"unknown route", "GET", "/v2/databases/" + id + "/nope", e.token, "", 404, "not_found"},
		{"wrong method", "PATCH", "/v2/databases/" + id, e.token, "{}", 404, "not_found"},
		{"malformed json", "POST", "/v2/databases", e.token, `{"name": "x",`, 400, "bad_request"},
		{"not an object", "POST", "/v2/databases", e.token, `[1,2]`, 422, "unprocessable_entity"},
		{"empty body", "POST", "/v2/databases", e.token, ``, 422, "unprocessable_entity"},
		{"two values", "POST", "/v2/databases", e.token, `{"name":"a","engine":"pg",` + valid + `} {}`, 422, "unprocessable_entity"},
		{"wrong type name", "POST", "/v2/databases", e.token, `{"name":5,"engine":"pg",` + valid + `}`, 422, "unprocessable_entity"},
		{"wrong type num_nodes", "POST", "/v2/databases", e.token, `{"name":"a","engine":"pg","size":"s","region":"nyc1","num_nodes":"1"}`, 422, "unprocessable_entity"},
		{"unknown engine", "POST", "/v2/databases", e.token, `{"name":"a","engine":"oracle",` + valid + `}`, 422, "unprocessable_entity"},
		{"missing region", "POST", "/v2/databases", e.token, `{"name":"a","engine":"pg","size":"s","num_nodes":1}`, 422, "unprocessable_entity"},
		{"bad name", "POST", "/v2/databases", e.token, `{"name":"Bad Name!","engine":"pg",` + valid + `}`, 422, "unprocessable_entity"},
		{"too many nodes", "POST", "/v2/databases", e.token, `{"name":"a","engine":"pg","size":"s","region":"nyc1","num_nodes":1000}`, 422, "unprocessable_entity"},
		{"bad version", "POST", "/v2/databases", e.token, `{"name":"a","engine":"pg","version":"16; DROP","size":"s","region":"nyc1","num_nodes":1}`, 422, "unprocessable_entity"},
		{"bad tag", "POST", "/v2/databases", e.token, `{"name":"a","engine":"pg","tags":["a b"],` + valid + `}`, 422, "unprocessable_entity"},
		{"bad tag filter", "GET", "/v2/databases?tag_name=%20", e.token, "", 422, "unprocessable_entity"},
		{"oversized body", "POST", "/v2/databases", e.token, `{"name":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "request_entity_too_large"},
		{"duplicate name", "POST", "/v2/databases", e.token, `{"name":"backend","engine":"pg",` + valid + `}`, 409, "conflict"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body []byte
			if c.body != "" || c.method == "POST" {
				body = []byte(c.body)
			}
			r := e.do(t, c.method, c.path, c.token, body)
			var eb struct {
				ID        string `json:"id"`
				Message   string `json:"message"`
				RequestID string `json:"request_id"`
			}
			if err := json.Unmarshal(r.body, &eb); err != nil {
				t.Fatalf("%s %s: body %q is not JSON", c.method, c.path, r.body)
			}
			if r.status != c.status || eb.ID != c.id || eb.Message == "" || eb.RequestID != r.header.Get("X-Request-Id") {
				t.Fatalf("%s %s = %d %+v, want %d %q with a message and the request ID", c.method, c.path[:min(len(c.path), 80)], r.status, eb, c.status, c.id)
			}
			for _, h := range []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} {
				if r.header.Get(h) == "" {
					t.Fatalf("%s missing", h)
				}
			}
			assertNoInternals(t, r)
		})
	}
	// Nothing was half-written: the one cluster is still the only one.
	insts, err := e.svc.ListInstances(context.Background(), dbtrust.Operator(e.acct.ID), "")
	if err != nil || len(insts) != 1 {
		t.Fatalf("after bad input: %d instances (%v), want 1", len(insts), err)
	}
}

func TestOtherAccountReadsAsMissing(t *testing.T) {
	e := newEnv(t, 1000)
	id := e.createCluster(t, "backend")
	_, other, err := e.svc.CreateAccount(context.Background(), "other")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/v2/databases/" + id, "/v2/databases/" + id + "/ca"} {
		foreign := e.do(t, "GET", p, other, nil)
		missing := e.do(t, "GET", strings.Replace(p, id, "9cc10173-e9ea-4176-9dbc-a4cee4c4ff30", 1), e.token, nil)
		strip := func(b []byte) string {
			var v map[string]any
			json.Unmarshal(b, &v)
			delete(v, "request_id")
			out, _ := json.Marshal(v)
			return string(out)
		}
		if foreign.status != 404 || strip(foreign.body) != strip(missing.body) {
			t.Fatalf("GET %s as another account = %d %s; unknown = %d %s; want identical 404s", p, foreign.status, foreign.body, missing.status, missing.body)
		}
	}
	if r := e.do(t, "DELETE", "/v2/databases/"+id, other, nil); r.status != 404 {
		t.Fatalf("DELETE as another account = %d, want 404", r.status)
	}
	if r := e.do(t, "GET", "/v2/databases", other, nil); r.status != 200 || string(r.body) != `{"databases":[]}` {
		t.Fatalf("list as another account = %d %s, want an empty list", r.status, r.body)
	}
}
