package main

import (
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust/client"
)

// cacheCounter reads one counter of the read cache from /metrics.
func cacheCounter(t *testing.T, url, name, kind string) int {
	t.Helper()
	return metric(t, url, name, `kind="`+kind+`"`)
}

// metric reads the value of name{labels} from /metrics.
func metric(t *testing.T, url, name, labels string) int {
	t.Helper()
	status, body := doRequest(t, http.DefaultClient, http.MethodGet, url+"/metrics", "", "")
	if status != http.StatusOK {
		t.Fatalf("GET /metrics = %d %s", status, body)
	}
	re := regexp.MustCompile(`(?m)^` + name + `\{` + regexp.QuoteMeta(labels) + `\} (\d+)$`)
	m := re.FindSubmatch(body)
	if m == nil {
		t.Fatalf("/metrics has no %s{%s}:\n%s", name, labels, body)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// TestCacheFollowsTheCLIByKey: 'dbtrust serve' caches two instances' CAs and
// two tokens; the CLI, another store on the same data folder, rotates one
// instance and revokes one token. The server serves both changes once its
// watch sees them, and the other instance's and token's entries stay cached:
// fetching them again misses nothing.
func TestCacheFollowsTheCLIByKey(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	url, owner := serveInProcess(t, "--data", data, "--cache-ttl", "1h")
	var changed, other client.Instance
	cliJSON(t, &changed, "instance", "create", "changed", "--data", data)
	cliJSON(t, &other, "instance", "create", "other", "--data", data)
	var tok client.Token
	cliJSON(t, &tok, "token", "create", "--name", "soon-revoked", "--role", "viewer", "--data", data)

	ca := func(id, token string) (int, string) {
		status, body := doRequest(t, http.DefaultClient, http.MethodGet, url+"/v2/databases/"+id+"/ca", token, "")
		return status, string(body)
	}
	// Warm the cache until a round of fetches misses nothing (the watch's
	// start drops everything once, perhaps after the first round).
	var before string
	for i := 0; ; i++ {
		misses := cacheCounter(t, url, "dbtrust_cache_misses_total", "instance") + cacheCounter(t, url, "dbtrust_cache_misses_total", "token")
		_, before = ca(changed.ID, owner)
		ca(other.ID, owner)
		if st, body := ca(other.ID, tok.Secret); st != http.StatusOK {
			t.Fatalf("CA with the viewer token = %d %s", st, body)
		}
		if cacheCounter(t, url, "dbtrust_cache_misses_total", "instance")+cacheCounter(t, url, "dbtrust_cache_misses_total", "token") == misses {
			break
		}
		if i == 100 {
			t.Fatal("the cache never answered a round of fetches")
		}
	}

	cli(t, "rotate", "start", "changed", "--data", data)
	cli(t, "token", "revoke", "soon-revoked", "--yes", "--data", data)
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, after := ca(changed.ID, owner)
		st, _ := ca(other.ID, tok.Secret)
		if after != before && st == http.StatusUnauthorized {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30s after the CLI rotated and revoked: bundle changed %v, revoked token answered %d", after != before, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, kind := range []string{"instance", "token"} {
		if n := metric(t, url, "dbtrust_cache_invalidations_total", `kind="`+kind+`",reason="notice"`); n != 1 {
			t.Errorf("%s entries dropped by change notices: %d, want 1", kind, n)
		}
	}
	misses := cacheCounter(t, url, "dbtrust_cache_misses_total", "instance")
	tokMisses := cacheCounter(t, url, "dbtrust_cache_misses_total", "token")
	if st, body := ca(other.ID, owner); st != http.StatusOK {
		t.Fatalf("CA of the other instance = %d %s", st, body)
	}
	if got := cacheCounter(t, url, "dbtrust_cache_misses_total", "instance"); got != misses {
		t.Errorf("fetching the unchanged instance missed the cache (%d misses, %d before): the CLI's change dropped more than its key", got, misses)
	}
	if got := cacheCounter(t, url, "dbtrust_cache_misses_total", "token"); got != tokMisses {
		t.Errorf("the owner token missed the cache (%d misses, %d before): a revocation dropped more than its key", got, tokMisses)
	}
}
