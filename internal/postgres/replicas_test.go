package postgres_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/postgres"
	"github.com/dbtrust/dbtrust/internal/seal"
	"github.com/dbtrust/dbtrust/internal/server"
	"github.com/dbtrust/dbtrust/internal/storetest"
	"github.com/dbtrust/dbtrust/trustcert"
)

// openReplicas opens n stores on one fresh database, as n replicas would.
func openReplicas(t *testing.T, n int) []*postgres.Store {
	t.Helper()
	url := freshDB(t)
	var out []*postgres.Store
	for range n {
		s, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out = append(out, s)
	}
	return out
}

// notices starts s.WatchChanges and returns a channel that receives what
// each change notice says, once the watch listens.
func notices(t *testing.T, s *postgres.Store) <-chan dbtrust.Change {
	t.Helper()
	ch := make(chan dbtrust.Change, 1000)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.WatchChanges(ctx, func(c dbtrust.Change) { ch <- c }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("WatchChanges: %v", err)
		}
	})
	if c := <-ch; c != (dbtrust.Change{}) { // the first call comes once it listens
		t.Fatalf("first notice %+v, want Change{}", c)
	}
	return ch
}

// waitNotice waits for the next notice and checks that it says want.
func waitNotice(t *testing.T, ch <-chan dbtrust.Change, after string, want dbtrust.Change) {
	t.Helper()
	select {
	case got := <-ch:
		if got != want {
			t.Fatalf("notice after %s = %+v, want %+v", after, got, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no change notice after %s", after)
	}
}

// TestChangeNotices: a change committed through one replica to a row a
// cache can hold reaches the other's watch naming its key; new rows, failed
// writes and writes to tables no cache reads (the audit log) send nothing:
// the next notice after them is the change that follows them.
func TestChangeNotices(t *testing.T) {
	t.Parallel()
	r := openReplicas(t, 2)
	a, b := r[0], r[1]
	ch := notices(t, b)
	ctx := context.Background()

	acct, _ := storetest.NewAccount(t, a, "alpha")
	tok := storetest.NewToken(acct.ID, dbtrust.RoleAdmin)
	must(t, a.CreateToken(ctx, tok))
	dup := storetest.NewToken(acct.ID, dbtrust.RoleAdmin)
	dup.ID = tok.ID
	if err := a.CreateToken(ctx, dup); dbtrust.ErrorCode(err) != dbtrust.Conflict {
		t.Fatalf("CreateToken(duplicate) = %v, want Conflict", err)
	}
	must(t, a.AppendAudit(ctx, dbtrust.AuditEvent{Time: time.Now(), AccountID: acct.ID, Actor: "t", Action: "x", Resource: "y", Outcome: "ok"}))
	inst, ca := storetest.NewInstance(acct.ID, "orders")
	must(t, a.CreateInstance(ctx, inst, ca))
	must(t, a.RevokeToken(ctx, acct.ID, tok.ID, time.Now()))
	waitNotice(t, ch, "RevokeToken", dbtrust.Change{Kind: dbtrust.ChangeToken, Key: tok.ID})

	// A CA added to an instance with CAs: its cached list is stale.
	next := storetest.NewCA(inst, dbtrust.CANext)
	must(t, a.AddCA(ctx, next, dbtrust.AuditEvent{Time: time.Now(), AccountID: acct.ID, Actor: "t", Action: "rotation.start", Resource: "instance/" + inst.ID, Outcome: "ok"}))
	waitNotice(t, ch, "AddCA", dbtrust.Change{Kind: dbtrust.ChangeInstance, Key: inst.ID})
	must(t, a.DeleteInstance(ctx, acct.ID, inst.ID)) // the instance and its CAs: one notice, duplicates fold
	waitNotice(t, ch, "DeleteInstance", dbtrust.Change{Kind: dbtrust.ChangeInstance, Key: inst.ID})

	_, err := a.SQL().ExecContext(ctx, "SELECT pg_notify($1, 'marker')", postgres.ChangeChannel)
	must(t, err)
	waitNotice(t, ch, "a notice without a key", dbtrust.Change{})
}

// TestConcurrentReplicaWrites races two replicas over the same records: each
// instance name is taken exactly once, each token is revoked exactly once,
// and every acknowledged write is there afterwards.
func TestConcurrentReplicaWrites(t *testing.T) {
	t.Parallel()
	r := openReplicas(t, 2)
	ctx := context.Background()
	acct, _ := storetest.NewAccount(t, r[0], "alpha")

	const names = 100
	var created, conflicts atomic.Int64
	var tokens []dbtrust.Token
	for range names {
		tok := storetest.NewToken(acct.ID, dbtrust.RoleViewer)
		must(t, r[1].CreateToken(ctx, tok))
		tokens = append(tokens, tok)
	}
	var revoked, notFound atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := map[string]string{} // name -> instance ID
	for i := range names {
		for _, s := range r {
			wg.Add(2)
			go func() {
				defer wg.Done()
				inst, ca := storetest.NewInstance(acct.ID, fmt.Sprintf("db-%03d", i))
				switch err := s.CreateInstance(ctx, inst, ca); dbtrust.ErrorCode(err) {
				case "":
					created.Add(1)
					mu.Lock()
					acked[inst.Name] = inst.ID
					mu.Unlock()
				case dbtrust.Conflict:
					conflicts.Add(1)
				default:
					t.Errorf("CreateInstance: %v", err)
				}
			}()
			go func() {
				defer wg.Done()
				switch err := s.RevokeToken(ctx, acct.ID, tokens[i].ID, time.Now()); dbtrust.ErrorCode(err) {
				case "":
					revoked.Add(1)
				case dbtrust.NotFound:
					notFound.Add(1)
				default:
					t.Errorf("RevokeToken: %v", err)
				}
			}()
		}
	}
	wg.Wait()
	if created.Load() != names || conflicts.Load() != names {
		t.Fatalf("instances: %d created, %d conflicts; want %d and %d", created.Load(), conflicts.Load(), names, names)
	}
	if revoked.Load() != names || notFound.Load() != names {
		t.Fatalf("revocations: %d succeeded, %d NotFound; want %d and %d", revoked.Load(), notFound.Load(), names, names)
	}
	for i, s := range r {
		list, err := s.ListInstances(ctx, acct.ID, "")
		must(t, err)
		if len(list) != names {
			t.Fatalf("replica %d lists %d instances, want %d", i, len(list), names)
		}
		for _, inst := range list {
			if acked[inst.Name] != inst.ID {
				t.Fatalf("replica %d: instance %s has ID %s, acknowledged %s", i, inst.Name, inst.ID, acked[inst.Name])
			}
			cas, err := s.ListCAs(ctx, acct.ID, inst.ID)
			must(t, err)
			if len(cas) != 1 {
				t.Fatalf("replica %d: instance %s has %d CAs, want 1", i, inst.Name, len(cas))
			}
		}
	}
}

// TestReplicasServeEachOthersWrites runs two full servers (Service with its
// read cache and store watch, HTTP handler) on one database: a change made
// through one is what the other serves.
func TestReplicasServeEachOthersWrites(t *testing.T) {
	t.Parallel()
	r := openReplicas(t, 2)
	key, _ := seal.NewKey()
	sealer, _ := seal.New(key)
	var svcs []*dbtrust.Service
	var urls []string
	for _, s := range r {
		svc := dbtrust.NewService(s, sealer, dbtrust.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); svc.WatchStore(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		ts := httptest.NewServer(server.New(server.Config{Service: svc}))
		t.Cleanup(ts.Close)
		svcs, urls = append(svcs, svc), append(urls, ts.URL)
	}
	ctx := context.Background()
	acct, owner, _, err := svcs[0].Bootstrap(ctx)
	must(t, err)
	p := dbtrust.Operator(acct.ID)

	// Created on A, served by B at once.
	inst, err := svcs[0].CreateInstance(ctx, p, dbtrust.InstanceSpec{Name: "orders", Engine: "pg"})
	must(t, err)
	caURL := "/v2/databases/" + inst.ID + "/ca"
	if st := get(t, urls[1]+caURL, owner); st != http.StatusOK {
		t.Fatalf("GET ca via B right after create via A = %d, want 200", st)
	}

	// A token that B has cached, revoked through A: B refuses it once the
	// change notice lands (normally well under a millisecond; see README).
	_, viewer, err := svcs[0].CreateToken(ctx, dbtrust.Principal{AccountID: acct.ID, Role: dbtrust.RoleOwner, Subject: "t"}, "viewer", dbtrust.RoleViewer)
	must(t, err)
	if st := get(t, urls[1]+caURL, viewer); st != http.StatusOK {
		t.Fatalf("GET ca via B with a new token = %d, want 200", st)
	}
	toks, err := svcs[0].ListTokens(ctx, dbtrust.Principal{AccountID: acct.ID, Role: dbtrust.RoleOwner})
	must(t, err)
	for _, tk := range toks {
		if tk.Name == "viewer" {
			must(t, svcs[0].RevokeToken(ctx, dbtrust.Principal{AccountID: acct.ID, Role: dbtrust.RoleOwner, Subject: "t"}, tk.ID))
		}
	}
	waitStatus(t, urls[1]+caURL, viewer, http.StatusUnauthorized)

	// Rotated through A: B serves the new bundle once the notice lands, and
	// keeps its cached entry of another instance (fetching it misses
	// nothing): the notice named one instance.
	other, err := svcs[0].CreateInstance(ctx, p, dbtrust.InstanceSpec{Name: "other", Engine: "pg"})
	must(t, err)
	otherURL := "/v2/databases/" + other.ID + "/ca"
	for misses := -1; misses != instanceMisses(svcs[1]); { // warm B until a round misses nothing
		misses = instanceMisses(svcs[1])
		get(t, urls[1]+caURL, owner)
		get(t, urls[1]+otherURL, owner)
	}
	before := body(t, urls[1]+caURL, owner)
	_, err = svcs[0].RotateStart(ctx, p, inst.ID, "")
	must(t, err)
	deadline := time.Now().Add(10 * time.Second)
	for body(t, urls[1]+caURL, owner) == before {
		if time.Now().After(deadline) {
			t.Fatal("B served the bundle from before the rotation through A for 10s")
		}
		time.Sleep(time.Millisecond)
	}
	misses := instanceMisses(svcs[1])
	get(t, urls[1]+otherURL, owner)
	if got := instanceMisses(svcs[1]); got != misses {
		t.Errorf("B missed its cache for the instance the rotation did not touch (%d misses, %d before)", got, misses)
	}

	// Deleted through B: A stops serving its CA.
	must(t, svcs[1].DeleteInstance(ctx, p, inst.ID))
	waitStatus(t, urls[0]+caURL, owner, http.StatusNotFound)
}

// instanceMisses is how many CA-list reads svc's cache could not answer.
func instanceMisses(svc *dbtrust.Service) int {
	for _, st := range svc.CacheStats() {
		if st.Kind == dbtrust.ChangeInstance {
			return int(st.Misses)
		}
	}
	return -1
}

// body GETs url and returns its body.
func body(t *testing.T, url, token string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func get(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitStatus polls url until it answers want, and logs how many stale
// answers came first.
func waitStatus(t *testing.T, url, token string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for stale := 0; ; stale++ {
		st := get(t, url, token)
		if st == want {
			t.Logf("GET %s: %d after %d stale answers", url, want, stale)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s = %d after 10s, want %d", url, st, want)
		}
		time.Sleep(time.Millisecond)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentReplicaStateChanges races two replicas (full Services) over
// the read-modify-write changes of the other features: a CA rotation started
// through both at once starts once, and an uploaded trust certificate updated through
// both at once from the same revision is updated once; the loser is told so
// (Conflict, PreconditionFailed), never silently overwritten.
func TestConcurrentReplicaStateChanges(t *testing.T) {
	t.Parallel()
	r := openReplicas(t, 2)
	key, _ := seal.NewKey()
	sealer, _ := seal.New(key)
	svcs := []*dbtrust.Service{
		dbtrust.NewService(r[0], sealer, dbtrust.Options{}),
		dbtrust.NewService(r[1], sealer, dbtrust.Options{}),
	}
	for _, svc := range svcs { // as serve runs them
		wctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); svc.WatchStore(wctx) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	ctx := context.Background()
	acct, _, _, err := svcs[0].Bootstrap(ctx)
	must(t, err)
	p := dbtrust.Operator(acct.ID)

	// race runs fn through both replicas at once and returns the two errors.
	race := func(fn func(svc *dbtrust.Service) error) [2]error {
		var errs [2]error
		var wg sync.WaitGroup
		for i, svc := range svcs {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = fn(svc) }()
		}
		wg.Wait()
		return errs
	}
	once := func(what string, errs [2]error, loser ...dbtrust.Code) {
		t.Helper()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if !slices.Contains(loser, dbtrust.ErrorCode(err)) {
				t.Fatalf("%s: %v, want success or %v", what, err, loser)
			}
		}
		if ok != 1 {
			t.Fatalf("%s through both replicas at once: %d succeeded (%v), want exactly 1", what, ok, errs)
		}
	}

	for i := range 10 {
		inst, err := svcs[0].CreateInstance(ctx, p, dbtrust.InstanceSpec{Name: fmt.Sprintf("db-%d", i), Engine: "pg"})
		must(t, err)
		once("RotateStart", race(func(svc *dbtrust.Service) error {
			_, err := svc.RotateStart(ctx, p, inst.ID, "")
			return err
		}), dbtrust.Conflict)
		cas, err := svcs[1].InstanceCAs(ctx, p, inst.ID)
		must(t, err)
		next := 0
		for _, ca := range cas {
			if ca.State == dbtrust.CANext {
				next++
			}
		}
		if len(cas) != 2 || next != 1 {
			t.Fatalf("after racing RotateStart: %d CAs, %d next; want 2 and 1", len(cas), next)
		}
		once("RotateFinish", race(func(svc *dbtrust.Service) error {
			_, _, err := svc.RotateFinish(ctx, p, inst.ID, false)
			return err
		}), dbtrust.Conflict, dbtrust.PreconditionFailed)
	}

	cas, err := svcs[0].InstanceCAs(ctx, p, mustFirstInstance(t, svcs[0], p))
	must(t, err)
	certs := []*trustcert.Service{trustcert.New(svcs[0], r[0]), trustcert.New(svcs[1], r[1])}
	cert, err := certs[0].Create(ctx, p, trustcert.Input{Version: "1.1", CertPEM: cas[0].CertPEM})
	must(t, err)
	for i := range 10 {
		c, err := certs[1].Get(ctx, p, cert.ID)
		must(t, err)
		if c.Revision != cert.Revision+int64(i) {
			t.Fatalf("revision %d after %d raced updates, want %d", c.Revision, i, cert.Revision+int64(i))
		}
		once("trustcert.Update", race(func(svc *dbtrust.Service) error {
			trust := []string{trustcert.Untrusted, trustcert.Trusted}[i%2]
			replica := certs[slices.Index(svcs, svc)]
			_, err := replica.Update(ctx, p, cert.ID, trustcert.Input{Version: "1.1", CertPEM: c.CertPEM, TrustDesired: trust}, c.Revision)
			return err
		}), dbtrust.PreconditionFailed, dbtrust.Conflict)
	}
}

func mustFirstInstance(t *testing.T, svc *dbtrust.Service, p dbtrust.Principal) string {
	t.Helper()
	list, err := svc.ListInstances(context.Background(), p, "")
	must(t, err)
	if len(list) == 0 {
		t.Fatal("no instance")
	}
	return list[0].ID
}
