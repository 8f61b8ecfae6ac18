package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
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
)

// TestUnreachableIsUnavailable: a server that refuses connections is Code
// Unavailable, from Ping and from a store call, without waiting out the
// caller's deadline.
func TestUnreachableIsUnavailable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	s, err := postgres.OpenNoMigrate(context.Background(), "postgres://postgres@"+addr+"/x?sslmode=disable")
	if err != nil {
		t.Fatalf("OpenNoMigrate with the server down: %v (it must connect lazily)", err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Ping(ctx); dbtrust.ErrorCode(err) != dbtrust.Unavailable {
		t.Fatalf("Ping = %v, want Code %s", err, dbtrust.Unavailable)
	}
	if _, err := s.GetToken(ctx, "0123456789abcdef"); dbtrust.ErrorCode(err) != dbtrust.Unavailable {
		t.Fatalf("GetToken = %v, want Code %s", err, dbtrust.Unavailable)
	}
	if ctx.Err() != nil {
		t.Fatalf("the calls waited out the caller's deadline")
	}
}

// TestOutage stops a real PostgreSQL under load and starts it again. While it
// is down every request is answered in its dialect's 503 shape (DigitalOcean,
// Huawei DDS, Astra) and /readyz
// says not ready; nothing crashes; once it is back, dbtrust serves again
// without a restart, and every write it acknowledged is there.
func TestOutage(t *testing.T) {
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
	svc := dbtrust.NewService(store, sealer, dbtrust.Options{})
	wctx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan struct{})
	go func() { defer close(watchDone); svc.WatchStore(wctx) }()
	defer func() { stopWatch(); <-watchDone }()
	ts := httptest.NewServer(server.New(server.Config{Service: svc, RateLimit: 1 << 30}))
	defer ts.Close()
	acct, token, _, err := svc.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := svc.CreateInstance(ctx, dbtrust.Operator(acct.ID), dbtrust.InstanceSpec{Name: "fixed", Engine: "pg"})
	if err != nil {
		t.Fatal(err)
	}
	mongo, err := svc.CreateInstance(ctx, dbtrust.Operator(acct.ID), dbtrust.InstanceSpec{Name: "docs", Engine: "mongodb"})
	if err != nil {
		t.Fatal(err)
	}

	var (
		mu         sync.Mutex
		acked      = map[string]string{} // instance name -> ID, for every 201
		ok, down   atomic.Int64          // 2xx answers, 503 answers
		slowest503 atomic.Int64          // nanoseconds
		unexpected []string
		seq        atomic.Int64
		stop       = make(chan struct{})
		wg         sync.WaitGroup
		client     = &http.Client{Timeout: time.Minute}
		badShape   atomic.Int64
		downBy     = map[string]int{} // 503s by first word of what
		lat503     []time.Duration
	)
	creates := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	do := func(method, path, body string, hdrs ...string) (int, []byte, http.Header) {
		req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(hdrs); i += 2 {
			req.Header.Del("Authorization")
			req.Header.Set(hdrs[i], hdrs[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Errorf("%s %s: %v", method, path, err)
			return 0, nil, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b, resp.Header
	}
	// Each dialect's 503: DigitalOcean {"id":"service_unavailable",...};
	// Huawei {"error_code":"DBS.200005","error_msg":...}; Astra's problem 41;
	// all with Retry-After.
	doShape := func(body []byte) bool {
		var e struct{ ID, Message string }
		return json.Unmarshal(body, &e) == nil && e.ID == "service_unavailable" && e.Message != ""
	}
	huaweiShape := func(body []byte) bool {
		var e struct {
			Code string `json:"error_code"`
			Msg  string `json:"error_msg"`
		}
		return json.Unmarshal(body, &e) == nil && e.Code == "DBS.200005" && e.Msg != ""
	}
	astraShape := func(body []byte) bool {
		var e struct{ Type, Title, Status string }
		return json.Unmarshal(body, &e) == nil && e.Type == "https://astra.netapp.io/problems/41" && e.Status == "503" && e.Title != ""
	}
	check := func(what string, status int, body []byte, hdr http.Header, took time.Duration, want int, shape func([]byte) bool) bool {
		switch status {
		case want:
			ok.Add(1)
			return true
		case http.StatusServiceUnavailable:
			down.Add(1)
			mu.Lock()
			downBy[strings.Fields(what)[0]]++
			lat503 = append(lat503, took)
			mu.Unlock()
			if took > time.Duration(slowest503.Load()) {
				slowest503.Store(int64(took))
			}
			if !shape(body) || hdr.Get("Retry-After") == "" {
				badShape.Add(1)
				mu.Lock()
				unexpected = append(unexpected, fmt.Sprintf("%s: 503 not in the dialect's shape: %s", what, body))
				mu.Unlock()
			}
		default:
			mu.Lock()
			unexpected = append(unexpected, fmt.Sprintf("%s: %d %s", what, status, body))
			mu.Unlock()
		}
		return false
	}
	ddsPath := "/v3/" + acct.ProjectID + "/instances/" + mongo.ID + "/ssl-cert/download-link"
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				switch w % 4 {
				case 0:
					name := fmt.Sprintf("db-%05d", seq.Add(1))
					t0 := time.Now()
					st, body, hdr := do("POST", "/v2/databases", `{"name":"`+name+`","engine":"pg","num_nodes":1,"size":"db-s-1vcpu-1gb","region":"nyc1"}`)
					if check("create "+name, st, body, hdr, time.Since(t0), http.StatusCreated, doShape) {
						var r struct{ Database struct{ ID string } }
						json.Unmarshal(body, &r)
						mu.Lock()
						acked[name] = r.Database.ID
						mu.Unlock()
					}
				case 1:
					t0 := time.Now()
					st, body, hdr := do("GET", "/v2/databases/"+inst.ID+"/ca", "")
					check("get ca", st, body, hdr, time.Since(t0), http.StatusOK, doShape)
				case 2:
					t0 := time.Now()
					st, body, hdr := do("GET", ddsPath, "", "X-Auth-Token", token)
					check("huawei dds link", st, body, hdr, time.Since(t0), http.StatusOK, huaweiShape)
				case 3:
					t0 := time.Now()
					st, body, hdr := do("GET", "/accounts/"+acct.ID+"/core/v1/certificates", "")
					check("astra certificates", st, body, hdr, time.Since(t0), http.StatusOK, astraShape)
				}
			}
		}()
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	ready := func() int {
		resp, err := client.Get(ts.URL + "/readyz")
		if err != nil {
			t.Errorf("GET /readyz: %v", err)
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	waitFor("writes before the outage", func() bool { return creates() >= 10 })
	pg.Stop()
	tStop := time.Now()
	waitFor("503s during the outage", func() bool { return down.Load() >= 40 })
	waitFor("/readyz to say not ready", func() bool { return ready() == http.StatusServiceUnavailable })
	createsBefore := creates()
	pg.Start()
	tStart := time.Now()
	waitFor("/readyz to say ready again", func() bool { return ready() == http.StatusOK })
	recovered := time.Since(tStart)
	waitFor("writes after the outage", func() bool { return creates() >= createsBefore+10 })
	close(stop)
	wg.Wait()

	for _, u := range unexpected {
		t.Error(u)
	}
	for _, kind := range []string{"create", "get", "huawei", "astra"} {
		if downBy[kind] == 0 {
			t.Errorf("no 503 for %s requests during the outage (503s: %v)", kind, downBy)
		}
	}
	slices.Sort(lat503)
	t.Logf("outage %v: %d answered, %d x 503 %v (p50 %v, p99 %v, slowest %v); ready again %v after start",
		tStart.Sub(tStop).Round(time.Millisecond), ok.Load(), down.Load(), downBy,
		lat503[len(lat503)/2].Round(time.Microsecond), lat503[len(lat503)*99/100].Round(time.Microsecond),
		time.Duration(slowest503.Load()).Round(time.Millisecond), recovered.Round(time.Millisecond))

	// Full service after: every acknowledged create is there, with its CA,
	// and reads and writes all succeed.
	st, body, _ := do("GET", "/v2/databases", "")
	if st != http.StatusOK {
		t.Fatalf("GET /v2/databases after the outage = %d %s", st, body)
	}
	var list struct{ Databases []struct{ ID, Name string } }
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	listed := map[string]string{}
	for _, d := range list.Databases {
		listed[d.Name] = d.ID
	}
	for name, id := range acked {
		if listed[name] != id {
			t.Errorf("acknowledged create %s (%s) lost after the outage", name, id)
		}
	}
	for name, id := range acked {
		if st, body, _ := do("GET", "/v2/databases/"+id+"/ca", ""); st != http.StatusOK {
			t.Fatalf("GET ca of %s after the outage = %d %s", name, st, body)
		}
	}
	if st, body, _ := do("POST", "/v2/databases", `{"name":"after","engine":"redis","num_nodes":1,"size":"db-s-1vcpu-1gb","region":"nyc1"}`); st != http.StatusCreated {
		t.Fatalf("create after the outage = %d %s", st, body)
	}
	t.Logf("%d acknowledged creates, all present", len(acked))

	// The change watch reconnected: the owner token, cached by now, revoked
	// through another replica, is refused here.
	other, err := postgres.Open(ctx, pg.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tokenID := strings.SplitN(strings.TrimPrefix(token, dbtrust.TokenPrefix), "_", 2)[0]
	if err := other.RevokeToken(ctx, acct.ID, tokenID, time.Now()); err != nil {
		t.Fatal(err)
	}
	waitFor("the revoked token to be refused", func() bool {
		st, _, _ := do("GET", "/v2/databases/"+inst.ID+"/ca", "")
		return st == http.StatusUnauthorized
	})
}

// blackHole accepts TCP connections and never answers, like a server that
// hangs or a network that drops packets after the handshake.
func blackHole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// TestHungServerIsUnavailable: a server that accepts connections and never
// answers does not hold requests: the connect timeout ends a call that has
// no deadline of its own, and the per-request deadline ends an HTTP request,
// which is answered as a 503 in the dialect's shape.
func TestHungServerIsUnavailable(t *testing.T) {
	t.Parallel()
	addr := blackHole(t)
	s, err := postgres.OpenNoMigrate(context.Background(), "postgres://postgres@"+addr+"/x?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(context.Background()); dbtrust.ErrorCode(err) != dbtrust.Unavailable {
		t.Fatalf("Ping without a deadline = %v, want Code %s (after connect_timeout)", err, dbtrust.Unavailable)
	}

	key, _ := seal.NewKey()
	sealer, _ := seal.New(key)
	svc := dbtrust.NewService(s, sealer, dbtrust.Options{})
	ts := httptest.NewServer(server.New(server.Config{Service: svc, RequestTimeout: 200 * time.Millisecond}))
	defer ts.Close()
	req, _ := http.NewRequest("GET", ts.URL+"/v2/databases", nil)
	req.Header.Set("Authorization", "Bearer "+dbtrust.TokenPrefix+"0123456789abcdef_"+strings.Repeat("a", 43))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&e)
	if resp.StatusCode != http.StatusServiceUnavailable || e.ID != "service_unavailable" {
		t.Fatalf("GET /v2/databases with the store hung = %d %q, want 503 service_unavailable", resp.StatusCode, e.ID)
	}
	resp, err = http.Get(ts.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with the store hung = %d, want 503", resp.StatusCode)
	}
}
