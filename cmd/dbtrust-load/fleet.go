package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// The fleet scenario (--fleet N): a data folder of its own, N instances
// imported through POST /v1/instances/import (whose CPU per instance is set
// against raw key generation and self-signing of the same key type on one
// core), then dbtrust restarted on it, measuring what the fleet's size must
// not change: start to ready, resident memory, bytes per instance, and the
// CA fetch for random instances among the fleet against the hot instance
// and against random ones among the first 1000.

// importBatch is how many instances one import request creates.
const importBatch = 1000

// importClients is how many import requests are in flight at once: two
// keep the server's cores busy while one batch is written.
const importClients = 2

// fleet runs the fleet scenario.
func (b *bench) fleet(ctx context.Context) error {
	data := filepath.Join(b.dir, "fleet")
	// Unpinned while building, so that the import uses every core as it
	// would in production; pinned like the other scenarios once restarted.
	p, err := b.startDbtrustOn(ctx, data, -1, true)
	if err != nil {
		return err
	}
	defer p.stop()
	d := &dbtrustAPI{p: p, token: p.Token, hc: newClient(b.cfg.Conns, nil)}
	ids, err := b.importFleet(ctx, d, 0, importBatch)
	if err != nil {
		return err
	}
	fetch1k := d.caFetch(ids, b.cfg.Conns, b.cfg.Duration)
	if err := b.interleave(ctx, "fleet: CA fetch, random among the first 1000", fetch1k, "hot instance", d.caFetch(ids[:1], b.cfg.Conns, b.cfg.Duration)); err != nil {
		return err
	}
	p99of1k := median(p99s(b.rows[len(b.rows)-2].Runs))
	more, err := b.importFleet(ctx, d, len(ids), b.cfg.Fleet-len(ids))
	if err != nil {
		return err
	}
	ids = append(ids, more...)
	peak := p.peakRSSMB()
	p.stop()
	return b.restartFleet(ctx, data, p.Token, ids, p99of1k, peak)
}

// restartFleet starts dbtrust again on the fleet's data folder and measures
// start to ready, the random CA fetch among the whole fleet, memory and
// bytes per instance.
func (b *bench) restartFleet(ctx context.Context, data, token string, ids []string, p99of1k time.Duration, peak int) error {
	t0 := time.Now()
	p, err := b.startDbtrustOn(ctx, data, b.cpu, false)
	if err != nil {
		return err
	}
	defer p.stop()
	d := &dbtrustAPI{p: p, token: token, hc: newClient(b.cfg.Conns, nil)}
	if err := waitReady(ctx, d); err != nil {
		return err
	}
	ready := time.Since(t0)
	name := fmt.Sprintf("fleet: CA fetch, random among %d, after a restart", len(ids))
	if err := b.interleave(ctx, name, d.caFetch(ids, b.cfg.Conns, b.cfg.Duration), "hot instance", d.caFetch(ids[:1], b.cfg.Conns, b.cfg.Duration)); err != nil {
		return err
	}
	random := b.rows[len(b.rows)-2]
	size, wal := fileSize(filepath.Join(data, "dbtrust.db")), fileSize(filepath.Join(data, "dbtrust.db-wal"))
	b.notes = append(b.notes,
		fmt.Sprintf("fleet of %d: start to ready %s; peak RSS %d MB while importing, %d MB after restart and fetches; %d bytes per instance (SQLite file %d MB, its WAL %d MB)",
			len(ids), ready.Round(time.Millisecond), peak, p.peakRSSMB(), size/int64(len(ids)), size>>20, wal>>20),
		fmt.Sprintf("fleet of %d: random CA fetch req/s %.2f of the hot instance's, CPU ratio %.2f; p99 %s, %.2f× the p99 among the first 1000 (%s)",
			len(ids), median(random.Ratios), median(random.CPURatios), fmtDur(median(p99s(random.Runs))),
			float64(median(p99s(random.Runs)))/float64(p99of1k), fmtDur(p99of1k)))
	return nil
}

// importFleet imports n more instances (named from first on) in batches
// of importBatch from importClients clients, adds a row with the server's
// CPU per instance beside raw CA crypto's, and returns their IDs.
func (b *bench) importFleet(ctx context.Context, d *dbtrustAPI, first, n int) ([]string, error) {
	ids := make([]string, n)
	r, err := d.fanOut(ctx, n, importBatch, importClients, func(at int) error {
		got, err := d.importBatch(ctx, first+at, min(importBatch, n-at))
		copy(ids[at:], got)
		return err
	})
	if err != nil {
		return nil, err
	}
	return ids, b.importRow(ctx, r)
}

// importRow reports an import's rate and CPU per instance, and a round of
// raw CA crypto (P-256 key generation and self-signing, on one core) with
// the ratio of their CPU per instance.
func (b *bench) importRow(ctx context.Context, r result) error {
	raw, err := rawCrypto(b.self, b.cpu, b.cfg.Duration, "ca")(ctx)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("instance import (%d, batches of %d, %d clients)", len(r.Lat), importBatch, importClients)
	fmt.Fprintf(b.out, "%s in %s: %.0f/s, server CPU %s each; raw keygen+self-sign %s each\n", name, r.Elapsed.Round(time.Millisecond),
		r.rate(), r.cpuPerOp(), raw.cpuPerOp())
	b.rows = append(b.rows, row{Name: name, Target: "dbtrust", Runs: []result{r}, CPURatios: []float64{float64(raw.cpuPerOp()) / float64(r.cpuPerOp())}},
		row{Name: name, Target: "raw Go crypto, 1 core (P-256 keygen+self-sign)", Runs: []result{raw}})
	return nil
}

// importBatch imports n instances named load-fleet-FIRST... and returns
// their IDs. A batch answered 503 (the server's request timeout, on a
// loaded machine) wrote nothing, and is sent again, up to three times.
func (d *dbtrustAPI) importBatch(ctx context.Context, first, n int) ([]string, error) {
	for try := 1; ; try++ {
		ids, status, err := d.importOnce(ctx, first, n)
		if status != http.StatusServiceUnavailable || try == 3 {
			return ids, err
		}
	}
}

// importOnce sends one import request and returns its IDs, or its status
// and an error.
func (d *dbtrustAPI) importOnce(ctx context.Context, first, n int) ([]string, int, error) {
	specs := make([]map[string]any, n)
	for i := range specs {
		specs[i] = map[string]any{"name": fmt.Sprintf("load-fleet-%d", first+i), "engine": "pg", "tags": []string{"fleet"}}
	}
	body, _ := json.Marshal(specs)
	resp, err := d.hc.Do(d.request("POST", "/v1/instances/import", body).WithContext(ctx))
	if err != nil {
		return nil, 0, err
	}
	raw, err := readAll(resp.Body)
	if err != nil {
		return nil, 0, err
	}
	var out struct{ Instances []struct{ ID string } }
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(raw, &out) != nil || len(out.Instances) != n {
		return nil, resp.StatusCode, fmt.Errorf("importing instances %d to %d answered %d: %.200s", first, first+n-1, resp.StatusCode, raw)
	}
	ids := make([]string, n)
	for i, inst := range out.Instances {
		ids[i] = inst.ID
	}
	return ids, resp.StatusCode, nil
}

// waitReady polls GET /readyz until it answers 200.
func waitReady(ctx context.Context, d *dbtrustAPI) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if err := send(d.hc, d.request("GET", "/readyz", nil).WithContext(ctx), http.StatusOK); err == nil {
			return nil
		}
		time.Sleep(2 * time.Millisecond)
	}
	return fmt.Errorf("dbtrust on the fleet was not ready within a minute")
}

func p99s(rs []result) []time.Duration {
	out := make([]time.Duration, len(rs))
	for i, r := range rs {
		out[i] = r.quantile(0.99)
	}
	return out
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
