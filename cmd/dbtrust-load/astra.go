package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// The Astra list scenario: an account holding many credentials, read a page
// of 100 at a time with a filter and count=true, as Astra clients list them.
// Its cost is set against the hot CA fetch's, measured in the same rounds.

// astraFilter matches half of the credentials astraCredentials makes.
const astraFilter = "keyType eq 'apikey'"

// astraKeyTypes cycles over the credentials made: half apikey.
var astraKeyTypes = []struct{ keyType, entry string }{{"apikey", "apikey"}, {"s3", "accessKey"}, {"apikey", "apikey"}, {"generic", "token"}}

// astraLists stores the credentials through the Astra API, then measures
// the first page and a later one (through continue tokens) against the hot
// CA fetch, interleaved.
func (b *bench) astraLists(ctx context.Context, d *dbtrustAPI, account, hot string) error {
	n := b.cfg.AstraCredentials
	if n == 0 {
		return nil
	}
	base := "/accounts/" + account + "/core/v1/credentials"
	r, err := d.createCredentials(ctx, base, n)
	if err != nil {
		return err
	}
	fmt.Fprintf(b.out, "created %d Astra credentials in %s: %.0f/s, server CPU %s each\n", n, r.Elapsed.Round(time.Millisecond), r.rate(), r.cpuPerOp())
	first := base + "?limit=100&count=true&filter=" + url.QueryEscape(astraFilter)
	later, pages, err := d.laterPage(ctx, first)
	if err != nil {
		return err
	}
	ca := d.caFetch([]string{hot}, b.cfg.Conns, b.cfg.Duration)
	for _, s := range []struct{ name, path string }{
		{"Astra list, first page of 100, filter + count, of " + fmt.Sprint(n), first},
		{fmt.Sprintf("Astra list, page %d of 100 (continue), filter + count, of %d", pages, n), later},
	} {
		if err := b.interleave(ctx, s.name, d.fetch(s.path, b.cfg.Conns, b.cfg.Duration), "hot CA fetch, same rounds", ca); err != nil {
			return err
		}
		page, caRow := b.rows[len(b.rows)-2], b.rows[len(b.rows)-1]
		fmt.Fprintf(b.out, "%s: server CPU %s per page, %.1f× the hot CA fetch's (%s per request)\n", s.name,
			median(cpus(page.Runs)), float64(median(cpus(page.Runs)))/float64(median(cpus(caRow.Runs))), median(cpus(caRow.Runs)))
	}
	return nil
}

func cpus(rs []result) []time.Duration {
	out := make([]time.Duration, len(rs))
	for i, r := range rs {
		out[i] = r.cpuPerOp()
	}
	return out
}

// createCredentials posts n credentials from 8 concurrent clients and
// returns the server's CPU time for them.
func (d *dbtrustAPI) createCredentials(ctx context.Context, base string, n int) (result, error) {
	return d.fanOut(ctx, n, 1, 8, func(i int) error {
		return send(d.hc, d.request("POST", base, astraCredential(i)).WithContext(ctx), http.StatusCreated)
	})
}

// astraCredential is the body of the i-th credential: a key type from
// astraKeyTypes and the read-only credType label Astra's clients set.
func astraCredential(i int) []byte {
	kt := astraKeyTypes[i%len(astraKeyTypes)]
	ks := map[string]string{kt.entry: base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "secret-%d", i))}
	if kt.keyType == "s3" {
		ks["accessSecret"] = ks[kt.entry]
	}
	body, _ := json.Marshal(map[string]any{"type": "application/astra-credential", "version": "1.1",
		"name": fmt.Sprintf("load-cred-%05d", i), "keyType": kt.keyType, "keyStore": ks,
		"metadata": map[string]any{"labels": []map[string]string{{"name": "astra.netapp.io/labels/read-only/credType", "value": kt.keyType}}}})
	return body
}

// laterPage follows continue tokens from first to the middle of the list
// and returns that page's path and number.
func (d *dbtrustAPI) laterPage(ctx context.Context, first string) (string, int, error) {
	path, page := first, 1
	for {
		resp, err := d.hc.Do(d.request("GET", path, nil).WithContext(ctx))
		if err != nil {
			return "", 0, err
		}
		body, err := readAll(resp.Body)
		if err != nil {
			return "", 0, err
		}
		var list struct {
			Metadata struct {
				Continue string `json:"continue"`
				Count    int    `json:"count"`
			} `json:"metadata"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &list) != nil {
			return "", 0, fmt.Errorf("GET %s answered %d: %.200s", path, resp.StatusCode, body)
		}
		if list.Metadata.Continue == "" || page*100*2 >= list.Metadata.Count {
			return path, page, nil
		}
		path, page = first+"&continue="+url.QueryEscape(list.Metadata.Continue), page+1
	}
}

// fetch is a round of GETs of one path.
func (d *dbtrustAPI) fetch(path string, conns int, dur time.Duration) func(context.Context) (result, error) {
	return func(ctx context.Context) (result, error) {
		c0 := d.p.cpuTime()
		r, err := drive(ctx, d.hc, conns, dur, http.StatusOK, func(_, _ int) *http.Request { return d.request("GET", path, nil) })
		r.CPU = d.p.cpuTime() - c0
		return r, err
	}
}
