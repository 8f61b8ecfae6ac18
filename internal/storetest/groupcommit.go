package storetest

import (
	"context"
	"sync"
	"testing"

	"github.com/dbtrust/dbtrust"
)

// testConcurrentIssuance: certificates recorded from many goroutines at
// once (the store may write them in shared transactions) each get their
// own answer: the good ones are recorded with their audit events, in one
// valid chain; one naming a CA of another instance is NotFound and one
// repeating a recorded serial is Conflict, and neither leaves a row or an
// event, nor fails the others.
func testConcurrentIssuance(t *testing.T, s dbtrust.Store) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "alpha")
	i, ca := NewInstance(a.ID, "backend")
	must(t, s.CreateInstance(ctx, i, ca))
	j, jca := NewInstance(a.ID, "cache")
	must(t, s.CreateInstance(ctx, j, jca))
	first := NewCert(ca, Later())
	must(t, s.InsertIssuedCert(ctx, first, IssueEvent(first)))

	const n = 60
	certs := make([]dbtrust.IssuedCertificate, n)
	want := make([]dbtrust.Code, n)
	for k := range certs {
		certs[k] = NewCert(ca, Later())
		switch k % 20 {
		case 7: // another instance's CA
			certs[k].InstanceID = j.ID
			want[k] = dbtrust.NotFound
		case 13: // a serial already recorded
			certs[k].Serial = first.Serial
			want[k] = dbtrust.Conflict
		}
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for k := range certs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[k] = s.InsertIssuedCert(ctx, certs[k], IssueEvent(certs[k]))
		}()
	}
	wg.Wait()
	recorded := map[string]bool{first.Serial: true}
	for k, err := range errs {
		if got := dbtrust.ErrorCode(err); got != want[k] {
			t.Errorf("InsertIssuedCert #%d = %v (code %q), want code %q", k, err, got, want[k])
		}
		if want[k] == "" {
			recorded[certs[k].Serial] = true
		}
	}
	list, err := s.ListIssuedCerts(ctx, a.ID, dbtrust.CertFilter{})
	must(t, err)
	if len(list) != len(recorded) {
		t.Fatalf("ListIssuedCerts = %d certificates, want the %d recorded", len(list), len(recorded))
	}
	events := map[string]int{}
	for _, e := range CheckChain(t, s) {
		if e.Action == "certificate.issue" {
			events[e.Resource]++
		}
	}
	for _, c := range list {
		if !recorded[c.Serial] || events[IssueEvent(c).Resource] != 1 {
			t.Errorf("certificate %s: recorded %v, %d audit events; want one event for each recorded certificate", c.Serial, recorded[c.Serial], events[IssueEvent(c).Resource])
		}
	}
	if len(events) != len(recorded) {
		t.Errorf("%d certificate.issue events for %d recorded certificates", len(events), len(recorded))
	}
}

// testIssuanceCancelled: a caller whose context is done gets an error and
// does not hold up the others; the store goes on recording.
func testIssuanceCancelled(t *testing.T, s dbtrust.Store) {
	a, _ := NewAccount(t, s, "alpha")
	i, ca := NewInstance(a.ID, "backend")
	must(t, s.CreateInstance(context.Background(), i, ca))
	done, cancel := context.WithCancel(context.Background())
	cancel()
	c := NewCert(ca, Later())
	if err := s.InsertIssuedCert(done, c, IssueEvent(c)); dbtrust.ErrorCode(err) != dbtrust.Unavailable {
		t.Fatalf("InsertIssuedCert(cancelled context) = %v, want Unavailable", err)
	}
	c = NewCert(ca, Later())
	must(t, s.InsertIssuedCert(context.Background(), c, IssueEvent(c)))
	if _, err := s.GetIssuedCert(context.Background(), a.ID, c.Serial); err != nil {
		t.Fatalf("GetIssuedCert after a cancelled insert and a good one = %v", err)
	}
	CheckChain(t, s)
}
