package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/httpx"
	"github.com/dbtrust/dbtrust/internal/server"
	"github.com/dbtrust/dbtrust/internal/servicetest"
)

// BenchmarkGetCA measures GET /v2/databases/{id}/ca over loopback HTTP with
// keep-alive and 8 concurrent clients, and in the same run the ceiling: a bare
// net/http handler writing the same bytes from memory. The two alternate in
// bursts of 500 requests so that both see the same machine conditions. It
// reports requests/s and p50/p99 latency for each, and their throughput ratio.
//
//	go test -run '^$' -bench BenchmarkGetCA -benchtime 40000x ./internal/server
func BenchmarkGetCA(b *testing.B) {
	ts, token, id := benchServer(b)
	url := ts.URL + "/v2/databases/" + id + "/ca"
	body := fetch(b, url, token)

	ceiling := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(body)
	}))
	b.Cleanup(ceiling.Close)

	targets := []*loadTarget{newLoadTarget(url, token, 8), newLoadTarget(ceiling.URL+"/v2/databases/"+id+"/ca", token, 8)}
	b.ResetTimer()
	for done := 0; done < b.N; done += 500 {
		n := min(500, b.N-done)
		for _, t := range targets {
			t.run(b, n)
		}
	}
	b.StopTimer()
	d, c := targets[0].summary(), targets[1].summary()
	b.ReportMetric(d.rps, "dbtrust-req/s")
	b.ReportMetric(d.p50, "dbtrust-p50-µs")
	b.ReportMetric(d.p99, "dbtrust-p99-µs")
	b.ReportMetric(c.rps, "ceiling-req/s")
	b.ReportMetric(c.p50, "ceiling-p50-µs")
	b.ReportMetric(c.p99, "ceiling-p99-µs")
	b.ReportMetric(d.rps/c.rps, "ratio")
	b.ReportMetric(0, "ns/op")
}

func benchServer(b *testing.B) (*httptest.Server, string, string) {
	ctx := context.Background()
	env := servicetest.New(b, dbtrust.Options{})
	svc, acct, token := env.Service, env.Account, env.Token
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

// loadTarget sends GETs from concurrent keep-alive clients and accumulates
// the latencies and busy time of every burst.
type loadTarget struct {
	url, token string
	workers    int
	client     *http.Client
	lat        []time.Duration
	busy       time.Duration
}

func newLoadTarget(url, token string, workers int) *loadTarget {
	tr := &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}
	return &loadTarget{url: url, token: token, workers: workers, client: &http.Client{Transport: tr}}
}

// run sends n requests and fails the benchmark on any non-200.
func (lt *loadTarget) run(b *testing.B, n int) {
	lat := make([]time.Duration, n)
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range lt.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", lt.url, nil)
			req.Header.Set("Authorization", "Bearer "+lt.token)
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				t0 := time.Now()
				resp, err := lt.client.Do(req)
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
	lt.busy += time.Since(start)
	if f := failed.Load(); f > 0 {
		b.Fatalf("%s: %d of %d requests failed", lt.url, f, n)
	}
	lt.lat = append(lt.lat, lat...)
}

type loadSummary struct{ rps, p50, p99 float64 }

func (lt *loadTarget) summary() loadSummary {
	slices.Sort(lt.lat)
	return loadSummary{
		rps: float64(len(lt.lat)) / lt.busy.Seconds(),
		p50: float64(lt.lat[len(lt.lat)/2].Microseconds()),
		p99: float64(lt.lat[len(lt.lat)*99/100].Microseconds()),
	}
}

// discardWriter is a ResponseWriter that keeps nothing but its header map,
// emptied for every request, so that an in-process benchmark counts the
// handler's own allocations and not a recorder's.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkGetCAInProcess runs the hot CA fetch through the real handler
// from server.New with no socket in between, and reports the allocations
// dbtrust itself makes per request (net/http's own are not counted here).
//
//	go test -run '^$' -bench BenchmarkGetCAInProcess -benchmem ./internal/server
func BenchmarkGetCAInProcess(b *testing.B) {
	ctx := context.Background()
	env := servicetest.New(b, dbtrust.Options{})
	inst, err := env.Service.CreateInstance(ctx, dbtrust.Operator(env.Account.ID), dbtrust.InstanceSpec{Name: "bench", Engine: "pg"})
	if err != nil {
		b.Fatal(err)
	}
	access := httpx.NewAccessLog(io.Discard, httpx.AccessLogOptions{}) // as serve's
	b.Cleanup(func() { access.Close() })
	h := server.New(server.Config{Service: env.Service, RateLimit: 1 << 30, AccessLog: access})
	req := httptest.NewRequest("GET", "/v2/databases/"+inst.ID+"/ca", nil)
	req.Header.Set("Authorization", "Bearer "+env.Token)
	req.RemoteAddr = "127.0.0.1:40000"
	w := &discardWriter{h: http.Header{}}
	h.ServeHTTP(w, req) // fills the caches
	if w.status != http.StatusOK {
		b.Fatalf("GET %s = %d", req.URL, w.status)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		clear(w.h)
		w.status = 0
		h.ServeHTTP(w, req)
	}
	b.StopTimer()
	if w.status != http.StatusOK {
		b.Fatalf("GET %s = %d", req.URL, w.status)
	}
}
