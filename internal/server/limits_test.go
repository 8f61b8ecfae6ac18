package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/pgtest"
	"github.com/dbtrust/dbtrust/internal/postgres"
	"github.com/dbtrust/dbtrust/internal/seal"
	"github.com/dbtrust/dbtrust/internal/server"
	"github.com/dbtrust/dbtrust/internal/sqlite"
)

// replicas starts n servers over one database (each with its own store
// handle, service and caches, as separate processes have) and returns their
// URLs, the first service, and the first account with its owner token.
func replicas(t *testing.T, backend string, n int, cfg server.Config) ([]string, *dbtrust.Service, dbtrust.Account, string) {
	t.Helper()
	ctx := context.Background()
	var open func() (dbtrust.Store, error)
	switch backend {
	case "postgres":
		url := pgtest.FreshDB(t)
		open = func() (dbtrust.Store, error) { return postgres.Open(ctx, url) }
	default:
		path := filepath.Join(t.TempDir(), "dbtrust.db")
		open = func() (dbtrust.Store, error) { return sqlite.Open(ctx, path) }
	}
	key, _ := seal.NewKey()
	sealer, _ := seal.New(key)
	var urls []string
	var first *dbtrust.Service
	for range n {
		st, err := open()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		svc := dbtrust.NewService(st, sealer, dbtrust.Options{})
		if first == nil {
			first = svc
		}
		c := cfg
		c.Service = svc
		ts := httptest.NewServer(server.New(c))
		t.Cleanup(ts.Close)
		urls = append(urls, ts.URL)
	}
	acct, token, _, err := first.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return urls, first, acct, token
}

// frozen is the rate limits' clock in these tests: no window ends while
// they count.
func frozen() time.Time { return time.Date(2026, 11, 30, 12, 0, 30, 0, time.UTC) }

func get(t *testing.T, url, header, value string) int {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if header != "" {
		req.Header.Set(header, value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		if resp.Header.Get("Retry-After") == "" {
			t.Fatalf("GET %s = %d without Retry-After", url, resp.StatusCode)
		}
	}
	return resp.StatusCode
}

// TestOneBudgetPerToken: one token, spread round-robin over four dialects
// and two replicas, gets exactly --rate-limit requests in a window.
func TestOneBudgetPerToken(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			const limit = 120
			urls, _, acct, token := replicas(t, backend, 2, server.Config{RateLimit: limit, RealClock: frozen})
			routes := []struct{ path, header, value string }{
				{"/v2/databases", "Authorization", "Bearer " + token},                                 // DigitalOcean
				{"/v1/instances", "Authorization", "Bearer " + token},                                 // native
				{"/accounts/" + acct.ID + "/core/v1/credentials", "Authorization", "Bearer " + token}, // Astra
				{"/v3/projects", "X-Auth-Token", token},                                               // Huawei
			}
			ok, refused := 0, 0
			for i := range limit + 40 {
				r := routes[i%len(routes)]
				switch code := get(t, urls[(i/len(routes))%len(urls)]+r.path, r.header, r.value); {
				case code == http.StatusOK:
					ok++
				case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
					refused++
				default:
					t.Fatalf("GET %s = %d", r.path, code)
				}
			}
			if ok != limit || refused != 40 {
				t.Fatalf("%d requests of one token over 4 dialects and 2 replicas: %d served, %d refused; want %d served", limit+40, ok, refused, limit)
			}
		})
	}
}

// TestFailedLoginFloodSparesCRL: after a flood of bad tokens from one
// address, that address still gets CRLs and still gets through with a
// valid token; the flood is in the audit log as a few counted events.
func TestFailedLoginFloodSparesCRL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	urls, svc, acct, token := replicas(t, "sqlite", 1, server.Config{FailedAuthLimit: 20, PublicLimit: 50, RealClock: frozen})
	inst, err := svc.CreateInstance(ctx, dbtrust.Operator(acct.ID), dbtrust.InstanceSpec{Name: "db", Engine: "pg"})
	if err != nil {
		t.Fatal(err)
	}
	cas, err := svc.InstanceCAs(ctx, dbtrust.Operator(acct.ID), inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	codes := map[int]int{}
	const flood = 200
	for i := range flood {
		codes[get(t, urls[0]+"/v1/instances", "Authorization", fmt.Sprintf("Bearer dbt_%016x_%043d", i, i))]++
	}
	if codes[http.StatusUnauthorized] != 20 || codes[http.StatusTooManyRequests] != flood-20 {
		t.Fatalf("a flood of %d bad tokens got %v, want 20 401s then 429s", flood, codes)
	}
	if code := get(t, urls[0]+"/v1/cas/"+cas[0].ID+"/crl", "", ""); code != http.StatusOK {
		t.Fatalf("CRL after the flood = %d, want 200", code)
	}
	if code := get(t, urls[0]+"/v1/instances", "Authorization", "Bearer "+token); code != http.StatusOK {
		t.Fatalf("a valid token from the flooding address = %d, want 200", code)
	}
	svc.FlushRefusals(ctx)
	events, err := svc.ListAuditEvents(ctx, dbtrust.AuditFilter{Action: dbtrust.ActionAuthFailed})
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, e := range events {
		total += e.Count
	}
	if len(events) == 0 || len(events) > 4 || total != 20 {
		t.Fatalf("audit after %d failed logins (20 answered 401): %d events counting %d, want a few events counting 20", flood, len(events), total)
	}
}
