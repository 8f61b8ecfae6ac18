package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// result is one round against one target.
type result struct {
	Lat     []time.Duration // every request's latency
	Elapsed time.Duration
	CPU     time.Duration // the server's CPU time in the round, 0 if unknown
}

func (r result) rate() float64 { return float64(len(r.Lat)) / r.Elapsed.Seconds() }

// quantile returns the q-quantile of the latencies (sorted in place).
func (r result) quantile(q float64) time.Duration {
	if len(r.Lat) == 0 {
		return 0
	}
	slices.Sort(r.Lat)
	return r.Lat[int(q*float64(len(r.Lat)-1))]
}

// cpuPerOp is the server's CPU per request in the round, 0 if unknown.
func (r result) cpuPerOp() time.Duration {
	if r.CPU == 0 || len(r.Lat) == 0 {
		return 0
	}
	return r.CPU / time.Duration(len(r.Lat))
}

// drive sends requests from conns goroutines for d over hc, each made by
// next (given the goroutine's running count), and fails on the first answer
// that is not want.
func drive(ctx context.Context, hc *http.Client, conns int, d time.Duration, want int, next func(w, i int) *http.Request) (result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lats := make([][]time.Duration, conns)
	errs := make(chan error, conns)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline) && ctx.Err() == nil; i++ {
				t0 := time.Now()
				if err := send(hc, next(w, i).WithContext(ctx), want); err != nil {
					errs <- err
					cancel()
					return
				}
				lats[w] = append(lats[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	r := result{Elapsed: time.Since(start)}
	select {
	case err := <-errs:
		return r, err
	default:
	}
	for _, l := range lats {
		r.Lat = append(r.Lat, l...)
	}
	return r, ctx.Err()
}

// send makes one request and reads the whole answer.
func send(hc *http.Client, req *http.Request, want int) error {
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s answered %d, want %d: %.200s", req.Method, req.URL.Path, resp.StatusCode, want, b)
	}
	return nil
}

// newClient is a keep-alive client with room for conns idle connections.
func newClient(conns int, tr *http.Transport) *http.Client {
	if tr == nil {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost, tr.MaxConnsPerHost = conns, conns, conns
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}
