package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/pgtest"
	"github.com/dbtrust/dbtrust/internal/postgres"
	"github.com/dbtrust/dbtrust/internal/seal"
	"github.com/dbtrust/dbtrust/internal/server"
	"github.com/dbtrust/dbtrust/internal/sqlite"
)

// BenchmarkStores compares, in one run, the embedded SQLite store with
// PostgreSQL behind one replica and behind two replicas (two Services, each
// with its own pool, sharing one database; operations alternate between them):
//
//   - CAFetch: GET /v2/databases/{id}/ca over loopback HTTP, 8 concurrent
//     keep-alive clients; with the core's read cache (the default), and
//     without it (nocache), which is what each request costs the database.
//   - Issue: server certificates (ECDSA P-256, key generated here) issued
//     through the Service by 8 concurrent callers.
//
// Every configuration is set up first; then they take turns in 10 rounds of
// b.N/10 operations each, so that all of them see the same machine
// conditions. It prints a table of ops/s and p50/p99 latency per configuration
// and reports each configuration's ops/s as a metric. PostgreSQL comes from
// DBTRUST_TEST_POSTGRES (skipped without it).
//
//	go test -run '^$' -bench BenchmarkStores -benchtime 4000x ./internal/server
func BenchmarkStores(b *testing.B) {
	type config struct {
		name string
		op   func(i int) error
		lat  []time.Duration
		took time.Duration
	}
	var configs []*config
	stores := []struct {
		name string
		open func(b *testing.B, ttl time.Duration) []*dbtrust.Service
	}{
		{"sqlite", openSQLiteReplicas},
		{"postgres-1", func(b *testing.B, ttl time.Duration) []*dbtrust.Service { return openPGReplicas(b, ttl, 1) }},
		{"postgres-2", func(b *testing.B, ttl time.Duration) []*dbtrust.Service { return openPGReplicas(b, ttl, 2) }},
	}
	for _, cache := range []struct {
		name string
		ttl  time.Duration
	}{{"", 0}, {"-nocache", -1}} {
		for _, st := range stores {
			svcs := st.open(b, cache.ttl)
			acct, token, id := benchInstance(b, svcs[0])
			var urls []string
			for _, svc := range svcs {
				ts := httptest.NewServer(server.New(server.Config{Service: svc, RateLimit: 1 << 30}))
				b.Cleanup(ts.Close)
				urls = append(urls, ts.URL+"/v2/databases/"+id+"/ca")
				fetch(b, urls[len(urls)-1], token) // every replica serves it
			}
			tr := &http.Transport{MaxIdleConnsPerHost: 8, MaxConnsPerHost: 8}
			b.Cleanup(tr.CloseIdleConnections)
			client := &http.Client{Transport: tr}
			configs = append(configs, &config{name: "CAFetch/" + st.name + cache.name, op: func(i int) error {
				req, _ := http.NewRequest("GET", urls[i%len(urls)], nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := client.Do(req)
				if err != nil {
					return err
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					return fmt.Errorf("status %d", resp.StatusCode)
				}
				return nil
			}})
			if cache.name != "" {
				continue // issuance reads the store either way
			}
			p := dbtrust.Operator(acct)
			configs = append(configs, &config{name: "Issue/" + st.name, op: func(i int) error {
				_, err := svcs[i%len(svcs)].IssueCertificate(context.Background(), p, id, dbtrust.IssueRequest{
					CommonName: "node.bench.example", DNSNames: []string{"node.bench.example"}})
				return err
			}})
		}
	}
	const rounds = 10
	per := max(1, b.N/rounds)
	b.ResetTimer()
	for range rounds {
		for _, c := range configs {
			lat, took := burst(b, 8, per, c.op)
			c.lat, c.took = append(c.lat, lat...), c.took+took
		}
	}
	b.StopTimer()
	var table strings.Builder
	fmt.Fprintf(&table, "\n%-32s %9s %9s %9s\n", "configuration", "ops/s", "p50", "p99")
	for _, c := range configs {
		slices.Sort(c.lat)
		rate := float64(len(c.lat)) / c.took.Seconds()
		fmt.Fprintf(&table, "%-32s %9.0f %9s %9s\n", c.name, rate,
			c.lat[len(c.lat)/2].Round(time.Microsecond), c.lat[len(c.lat)*99/100].Round(time.Microsecond))
		b.ReportMetric(rate, strings.ReplaceAll(c.name, "/", "-")+"-ops/s")
	}
	b.ReportMetric(0, "ns/op")
	if b.N > 1 { // the table of the run that counts (go test first runs b.N = 1)
		fmt.Print(table.String())
	}
}

// burst runs op n times from workers goroutines and returns each latency and
// the wall time; any failure ends the benchmark.
func burst(b *testing.B, workers, n int, op func(i int) error) ([]time.Duration, time.Duration) {
	lat := make([]time.Duration, n)
	var next, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				t0 := time.Now()
				if err := op(int(i)); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d operations failed; first: %v", n, len(lat), firstErr.Load())
	}
	return lat, took
}

func benchSealer(b *testing.B) *seal.AESGCM {
	key, err := seal.NewKey()
	if err != nil {
		b.Fatal(err)
	}
	sealer, err := seal.New(key)
	if err != nil {
		b.Fatal(err)
	}
	return sealer
}

func openSQLiteReplicas(b *testing.B, ttl time.Duration) []*dbtrust.Service {
	store, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "dbtrust.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	return []*dbtrust.Service{watched(b, dbtrust.NewService(store, benchSealer(b), dbtrust.Options{CacheTTL: ttl}))}
}

func openPGReplicas(b *testing.B, ttl time.Duration, n int) []*dbtrust.Service {
	url := pgtest.FreshDB(b)
	sealer := benchSealer(b) // replicas share the KEK
	var out []*dbtrust.Service
	for range n {
		store, err := postgres.Open(context.Background(), url)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { store.Close() })
		out = append(out, watched(b, dbtrust.NewService(store, sealer, dbtrust.Options{CacheTTL: ttl})))
	}
	return out
}

// watched runs the service's store watch, as serve does, until b ends.
func watched(b *testing.B, svc *dbtrust.Service) *dbtrust.Service {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); svc.WatchStore(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	return svc
}

func benchInstance(b *testing.B, svc *dbtrust.Service) (accountID, token, instanceID string) {
	ctx := context.Background()
	acct, token, _, err := svc.Bootstrap(ctx)
	if err != nil {
		b.Fatal(err)
	}
	inst, err := svc.CreateInstance(ctx, dbtrust.Operator(acct.ID), dbtrust.InstanceSpec{Name: "bench", Engine: "pg"})
	if err != nil {
		b.Fatal(err)
	}
	return acct.ID, token, inst.ID
}
