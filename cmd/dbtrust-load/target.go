package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// dbtrustAPI is a running dbtrust seen from its owner's token.
type dbtrustAPI struct {
	p     *proc
	token string
	hc    *http.Client
}

func (d *dbtrustAPI) request(method, path string, body []byte) *http.Request {
	req, _ := http.NewRequest(method, d.p.URL+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+d.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// createInstances makes n instances through POST /v1/instances from 8
// concurrent clients (the path a fleet import takes today) and returns
// their IDs and the server's CPU time for them.
func (d *dbtrustAPI) createInstances(ctx context.Context, first, n int) ([]string, result, error) {
	ids := make([]string, n)
	r, err := d.fanOut(ctx, n, 1, 8, func(i int) error {
		id, err := d.createInstance(ctx, fmt.Sprintf("load-%d", first+i))
		ids[i] = id
		return err
	})
	return ids, r, err
}

// fanOut calls do(i) for i = 0, step, 2*step, ... below n from clients
// goroutines, stops handing out items at the first error or when ctx ends,
// and returns the server's CPU time and the elapsed time for n operations,
// with the first error.
func (d *dbtrustAPI) fanOut(ctx context.Context, n, step, clients int, do func(i int) error) (result, error) {
	var mu sync.Mutex
	var firstErr error
	failed := func() bool { mu.Lock(); defer mu.Unlock(); return firstErr != nil }
	var wg sync.WaitGroup
	next := make(chan int)
	c0, start := d.p.cpuTime(), time.Now()
	for range clients {
		wg.Go(func() {
			for i := range next {
				if err := do(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := 0; i < n && ctx.Err() == nil && !failed(); i += step {
		next <- i
	}
	close(next)
	wg.Wait()
	r := result{Elapsed: time.Since(start), CPU: d.p.cpuTime() - c0, Lat: make([]time.Duration, n)}
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return r, firstErr
}

func (d *dbtrustAPI) createInstance(ctx context.Context, name string) (string, error) {
	body, _ := json.Marshal(map[string]string{"name": name, "engine": "pg"})
	resp, err := d.hc.Do(d.request("POST", "/v1/instances", body).WithContext(ctx))
	if err != nil {
		return "", err
	}
	b, err := readAll(resp.Body)
	if err != nil {
		return "", err
	}
	var inst struct{ ID string }
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK || json.Unmarshal(b, &inst) != nil || inst.ID == "" {
		return "", fmt.Errorf("creating instance %s answered %d: %.200s", name, resp.StatusCode, b)
	}
	return inst.ID, nil
}

// caFetch is a round of GET /v2/databases/{id}/ca for the instances in ids,
// one at random per request (the same one when there is one).
func (d *dbtrustAPI) caFetch(ids []string, conns int, dur time.Duration) func(context.Context) (result, error) {
	return func(ctx context.Context) (result, error) {
		c0 := d.p.cpuTime()
		r, err := drive(ctx, d.hc, conns, dur, http.StatusOK, func(_, _ int) *http.Request {
			return d.request("GET", "/v2/databases/"+ids[rand.IntN(len(ids))]+"/ca", nil)
		})
		r.CPU = d.p.cpuTime() - c0
		return r, err
	}
}

// issue is a round of POST /v1/instances/{id}/certificates with a key the
// server generates (ECDSA P-256), from clients concurrent clients.
func (d *dbtrustAPI) issue(id string, clients int, dur time.Duration) func(context.Context) (result, error) {
	body := []byte(`{"dns_names":["node-1.load.example"],"key_type":"ecdsa-p256"}`)
	return func(ctx context.Context) (result, error) {
		c0 := d.p.cpuTime()
		r, err := drive(ctx, d.hc, clients, dur, http.StatusCreated, func(_, _ int) *http.Request {
			return d.request("POST", "/v1/instances/"+id+"/certificates", body)
		})
		r.CPU = d.p.cpuTime() - c0
		return r, err
	}
}

// ceilingFetch is a round of GETs against the bare handler.
func ceilingFetch(p *proc, hc *http.Client, conns int, dur time.Duration) func(context.Context) (result, error) {
	return func(ctx context.Context) (result, error) {
		c0 := p.cpuTime()
		r, err := drive(ctx, hc, conns, dur, http.StatusOK, func(_, _ int) *http.Request {
			req, _ := http.NewRequest("GET", p.URL+"/ca", nil)
			return req
		})
		r.CPU = p.cpuTime() - c0
		return r, err
	}
}

// rawCrypto is a round of the same crypto as an issuance (mode "issue") or
// as an instance's first CA (mode "ca"), in a process of its own pinned to
// the server's core.
func rawCrypto(self string, cpu int, dur time.Duration, mode string) func(context.Context) (result, error) {
	return func(ctx context.Context) (result, error) {
		argv := pinned(cpu, self, "rawcrypto", "--duration", dur.String(), "--mode", mode)
		var out, errb strings.Builder
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		var r result
		if err := cmd.Run(); err != nil {
			return r, fmt.Errorf("raw crypto round: %v: %s", err, errb.String())
		}
		if err := json.Unmarshal([]byte(out.String()), &r); err != nil {
			return r, fmt.Errorf("raw crypto round printed %q: %v", out.String(), err)
		}
		return r, nil
	}
}
