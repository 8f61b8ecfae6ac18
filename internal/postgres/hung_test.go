package postgres_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/pgtest"
	"github.com/dbtrust/dbtrust/internal/postgres"
	"github.com/dbtrust/dbtrust/internal/seal"
	"github.com/dbtrust/dbtrust/internal/server"
)

// TestHungPostgresAnswersInTime stops a PostgreSQL this test started with
// SIGSTOP (connections stay open, nothing answers) and sends reads and
// writes of every dialect at once: each is answered within the request
// timeout plus one second, and no write is acknowledged.
func TestHungPostgresAnswersInTime(t *testing.T) {
	t.Parallel()
	pg := pgtest.StartServer(t)
	ctx := context.Background()
	store, err := postgres.Open(ctx, pg.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	key, _ := seal.NewKey()
	sealer, _ := seal.New(key)
	svc := dbtrust.NewService(store, sealer, dbtrust.Options{CacheTTL: -1})
	const timeout = time.Second
	ts := httptest.NewServer(server.New(server.Config{Service: svc, RateLimit: 1 << 30, RequestTimeout: timeout}))
	defer ts.Close()
	acct, token, _, err := svc.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := svc.CreateInstance(ctx, dbtrust.Operator(acct.ID), dbtrust.InstanceSpec{Name: "db", Engine: "redis"})
	if err != nil {
		t.Fatal(err)
	}
	reqs := []struct{ method, path, body, header string }{
		{"GET", "/v2/databases/" + inst.ID + "/ca", "", "Authorization"},
		{"POST", "/v2/databases", `{"name":"new-do","engine":"pg"}`, "Authorization"},
		{"GET", "/v1/instances", "", "Authorization"},
		{"POST", "/v1/instances", `{"name":"new-native","engine":"pg"}`, "Authorization"},
		{"POST", "/v1/tokens", `{"name":"t","role":"viewer"}`, "Authorization"},
		{"GET", "/accounts/" + acct.ID + "/core/v1/credentials", "", "Authorization"},
		{"GET", "/v3/projects", "", "X-Auth-Token"},
		{"GET", "/v1/audit", "", "Authorization"},
	}
	pg.Pause()
	start := time.Now()
	var wg sync.WaitGroup
	for round := range 3 {
		for _, r := range reqs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(r.method, ts.URL+r.path, strings.NewReader(r.body))
				v := token
				if r.header == "Authorization" {
					v = "Bearer " + token
				}
				req.Header.Set(r.header, v)
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
				d := time.Since(t0)
				if err != nil {
					t.Errorf("round %d: %s %s: %v", round, r.method, r.path, err)
					return
				}
				resp.Body.Close()
				if d > timeout+time.Second {
					t.Errorf("round %d: %s %s answered after %v, want within %v", round, r.method, r.path, d, timeout+time.Second)
				}
				if r.method == "POST" && resp.StatusCode < 300 {
					t.Errorf("round %d: %s %s = %d with the store hung: a write acknowledged that was never confirmed", round, r.method, r.path, resp.StatusCode)
				}
				if resp.StatusCode != http.StatusServiceUnavailable {
					t.Errorf("round %d: %s %s = %d with the store hung, want 503", round, r.method, r.path, resp.StatusCode)
				}
			}()
		}
	}
	wg.Wait()
	t.Logf("%d requests answered in %v with PostgreSQL stopped (request timeout %v)", 3*len(reqs), time.Since(start), timeout)
	pg.Resume()
}
