package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/seal"
	"github.com/dbtrust/dbtrust/internal/server"
	"github.com/dbtrust/dbtrust/internal/sqlite"
)

// BenchmarkGetCA measures GET /v2/databases/{id}/ca over loopback HTTP with
// keep-alive and several concurrent clients, and in the same run the ceiling:
// a bare net/http handler writing the same bytes from memory. Each reports
// requests/s and the p50 and p99 latency.
//
//	go test -run '^$' -bench BenchmarkGetCA -benchtime 20000x ./internal/server
func BenchmarkGetCA(b *testing.B) {
	ts, token, id := benchServer(b)
	url := ts.URL + "/v2/databases/" + id + "/ca"
	body := fetch(b, url, token)

	ceiling := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(body)
	}))
	b.Cleanup(ceiling.Close)

	for _, c := range []struct{ name, url string }{{"dbtrust", url}, {"ceiling", ceiling.URL + "/v2/databases/" + id + "/ca"}} {
		b.Run(c.name, func(b *testing.B) { load(b, c.url, token, 8) })
	}
}

func benchServer(b *testing.B) (*httptest.Server, string, string) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "dbtrust.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	key, _ := seal.NewKey()
	sealer, _ := seal.New(key)
	svc := dbtrust.NewService(store, sealer, dbtrust.Options{})
	acct, token, _, err := svc.Bootstrap(ctx)
	if err != nil {
		b.Fatal(err)
	}
	inst, err := svc.CreateInstance(ctx, dbtrust.Operator(acct.ID), dbtrust.InstanceSpec{Name: "bench", Engine: "pg"})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(server.New(server.Config{Service: svc, RateLimit: 1 << 30}))
	b.Cleanup(ts.Close)
	return ts, token, inst.ID
}

func fetch(b *testing.B, url, token string) []byte {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var v struct {
		CA struct {
			Certificate []byte `json:"certificate"`
		} `json:"ca"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &v) != nil || len(v.CA.Certificate) == 0 {
		b.Fatalf("GET %s = %d %s", url, resp.StatusCode, body)
	}
	return body
}

// load sends b.N GETs from workers concurrent keep-alive clients and reports
// requests/s, p50 and p99.
func load(b *testing.B, url, token string, workers int) {
	tr := &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d requests failed", n, b.N)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(0, "ns/op")
}
