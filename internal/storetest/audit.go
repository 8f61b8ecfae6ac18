package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
)

// CheckChain reads the whole audit chain of s and fails t unless it is
// linear (Seq 1, 2, ...), linked (each PrevHash the hash before) and intact
// (each Hash the AuditHash of its event), ending at the head. It returns the
// chain.
func CheckChain(t testing.TB, s dbtrust.Store) []dbtrust.AuditEvent {
	t.Helper()
	ctx := context.Background()
	var all []dbtrust.AuditEvent
	for {
		page, err := s.AuditChain(ctx, int64(len(all)), 1000)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if len(page) < 1000 {
			break
		}
	}
	prev := ""
	for i, e := range all {
		if e.Seq != int64(i+1) || e.PrevHash != prev || e.Hash != dbtrust.AuditHash(e) {
			t.Fatalf("audit chain breaks at position %d: %+v (previous hash %q)", i+1, e, prev)
		}
		prev = e.Hash
	}
	seq, hash, err := s.AuditHead(ctx)
	if err != nil || seq != int64(len(all)) || hash != prev {
		t.Fatalf("AuditHead = %d %q, %v; want %d %q", seq, hash, err, len(all), prev)
	}
	return all
}

func testAudit(t *testing.T, s dbtrust.Store) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "alpha")
	b, _ := NewAccount(t, s, "beta")
	for k := range 5 {
		must(t, s.AppendAudit(ctx, dbtrust.AuditEvent{Time: Time.Add(time.Duration(k) * time.Second), AccountID: a.ID,
			Actor: fmt.Sprintf("token:%d", k%2), Action: fmt.Sprintf("act.%d", k), Resource: "instance/y", Outcome: "ok"}))
	}
	must(t, s.AppendAudit(ctx, dbtrust.AuditEvent{Time: Time, AccountID: b.ID, Actor: "ip:192.0.2.1", Action: "auth.failed",
		Outcome: "unauthorized", Count: 40, Source: "192.0.2.1"}))
	chain := CheckChain(t, s)
	if len(chain) != 6 || chain[5].Count != 40 || chain[5].Source != "192.0.2.1" || chain[0].Count != 1 {
		t.Fatalf("chain = %+v, want 6 events, the last counting 40 from 192.0.2.1", chain)
	}
	list := func(f dbtrust.AuditFilter) []string {
		t.Helper()
		if f.Limit == 0 {
			f.Limit = 100
		}
		got, err := s.ListAudit(ctx, f)
		must(t, err)
		var acts []string
		for _, e := range got {
			acts = append(acts, e.Action)
		}
		return acts
	}
	tests := []struct {
		name string
		f    dbtrust.AuditFilter
		want string
	}{
		{"account, limit 3", dbtrust.AuditFilter{AccountID: a.ID, Limit: 3}, "[act.4 act.3 act.2]"},
		{"every account", dbtrust.AuditFilter{}, "[auth.failed act.4 act.3 act.2 act.1 act.0]"},
		{"actor", dbtrust.AuditFilter{AccountID: a.ID, Actor: "token:1"}, "[act.3 act.1]"},
		{"action", dbtrust.AuditFilter{Action: "act.2"}, "[act.2]"},
		{"resource", dbtrust.AuditFilter{Resource: "instance/y", Actor: "token:0"}, "[act.4 act.2 act.0]"},
		{"time range", dbtrust.AuditFilter{AccountID: a.ID, Since: Time.Add(time.Second), Until: Time.Add(3 * time.Second)}, "[act.2 act.1]"},
		{"other account", dbtrust.AuditFilter{AccountID: b.ID}, "[auth.failed]"},
		{"none", dbtrust.AuditFilter{Action: "nothing"}, "[]"},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(list(tt.f)); got != tt.want {
			t.Errorf("ListAudit(%s) = %s, want %s", tt.name, got, tt.want)
		}
	}
	// Paging: each page starts before the last ID of the one before.
	var pages []string
	f := dbtrust.AuditFilter{AccountID: a.ID, Limit: 2}
	for {
		got, err := s.ListAudit(ctx, f)
		must(t, err)
		if len(got) == 0 {
			break
		}
		pages = append(pages, fmt.Sprint(len(got)))
		f.BeforeID = got[len(got)-1].ID
	}
	if fmt.Sprint(pages) != "[2 2 1]" {
		t.Fatalf("pages of 2 = %v, want [2 2 1]", pages)
	}
}

// testAuditWithWrites: a write under WithAudit records its event in its own
// transaction; a write that fails records none.
func testAuditWithWrites(t *testing.T, s dbtrust.Store) {
	a, _ := NewAccount(t, s, "alpha")
	inst, ca := NewInstance(a.ID, "db")
	tok := NewToken(a.ID, dbtrust.RoleMember)
	ev := func(action string) (context.Context, dbtrust.AuditEvent) {
		e := dbtrust.AuditEvent{Time: Later(), AccountID: a.ID, Actor: "operator", Action: action, Resource: "r/" + action, Outcome: "ok"}
		return dbtrust.WithAudit(context.Background(), e), e
	}
	ok := []struct {
		action string
		write  func(ctx context.Context) error
	}{
		{"instance.create", func(ctx context.Context) error { return s.CreateInstance(ctx, inst, ca) }},
		{"token.create", func(ctx context.Context) error { return s.CreateToken(ctx, tok) }},
		{"token.revoke", func(ctx context.Context) error { return s.RevokeToken(ctx, a.ID, tok.ID, Later()) }},
		{"instance.tls", func(ctx context.Context) error { return s.UpdateInstanceTLS(ctx, a.ID, inst.ID, false) }},
		{"instance.delete", func(ctx context.Context) error { return s.DeleteInstance(ctx, a.ID, inst.ID) }},
	}
	failing := []struct {
		action string
		write  func(ctx context.Context) error
	}{
		{"instance.delete.again", func(ctx context.Context) error { return s.DeleteInstance(ctx, a.ID, inst.ID) }},
		{"token.revoke.again", func(ctx context.Context) error { return s.RevokeToken(ctx, a.ID, tok.ID, Later()) }},
		{"token.create.again", func(ctx context.Context) error { return s.CreateToken(ctx, tok) }},
	}
	for _, w := range ok {
		ctx, e := ev(w.action)
		if err := w.write(ctx); err != nil {
			t.Fatalf("%s: %v", w.action, err)
		}
		got, err := s.ListAudit(context.Background(), dbtrust.AuditFilter{Action: w.action, Limit: 10})
		if err != nil || len(got) != 1 || got[0].Resource != e.Resource {
			t.Fatalf("%s: events %+v, %v; want its one event", w.action, got, err)
		}
	}
	for _, w := range failing {
		ctx, _ := ev(w.action)
		if err := w.write(ctx); err == nil {
			t.Fatalf("%s succeeded, want an error", w.action)
		}
		if got, _ := s.ListAudit(context.Background(), dbtrust.AuditFilter{Action: w.action, Limit: 10}); len(got) != 0 {
			t.Fatalf("%s failed but left its event: %+v", w.action, got)
		}
	}
	CheckChain(t, s)
}

// testAuditChainConcurrent: appends racing from many goroutines (and, on a
// shared database, many processes) make one linear chain.
func testAuditChainConcurrent(t *testing.T, s dbtrust.Store) {
	a, _ := NewAccount(t, s, "alpha")
	const n, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, n*each)
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range each {
				tok := NewToken(a.ID, dbtrust.RoleViewer)
				ctx := dbtrust.WithAudit(context.Background(), dbtrust.AuditEvent{Time: Later(), AccountID: a.ID,
					Actor: fmt.Sprintf("g%d", g), Action: "token.create", Resource: fmt.Sprintf("token/%d", k), Outcome: "ok"})
				errs <- s.CreateToken(ctx, tok)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	if chain := CheckChain(t, s); len(chain) != n*each {
		t.Fatalf("chain has %d events after %d appends", len(chain), n*each)
	}
}
