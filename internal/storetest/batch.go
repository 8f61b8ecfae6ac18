package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/dbtrust/dbtrust"
)

// testCreateInstances checks the batch insert: every instance with its CA
// and its audit event in chain order, and nothing written when one of the
// batch is taken (by name in its account, or by ID), the error naming it.
func testCreateInstances(t *testing.T, s dbtrust.Store) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "alpha")
	batch := func(names ...string) ([]dbtrust.NewInstance, []dbtrust.AuditEvent) {
		var b []dbtrust.NewInstance
		var ev []dbtrust.AuditEvent
		for _, n := range names {
			i, ca := NewInstance(a.ID, n)
			b = append(b, dbtrust.NewInstance{Instance: i, CA: ca})
			ev = append(ev, dbtrust.AuditEvent{Time: Time, AccountID: a.ID, Actor: "operator", Action: "instance.create", Resource: "instance/" + i.ID, Outcome: "ok"})
		}
		return b, ev
	}
	// More than one statement's worth of rows, to cross the chunking.
	var names []string
	for k := range 1200 {
		names = append(names, fmt.Sprintf("db-%d", k))
	}
	b, ev := batch(names...)
	must(t, s.CreateInstances(ctx, b, ev))
	list, err := s.ListInstances(ctx, a.ID, "")
	must(t, err)
	if len(list) != 1200 || list[1199].Name != "db-1199" || len(list[0].Tags) != 2 {
		t.Fatalf("after a batch of 1200: %d instances (last %+v)", len(list), list[len(list)-1])
	}
	cas, err := s.ListCAs(ctx, a.ID, b[700].Instance.ID)
	must(t, err)
	if len(cas) != 1 || cas[0].ID != b[700].CA.ID || string(cas[0].SealedKey) != string(b[700].CA.SealedKey) {
		t.Fatalf("CAs of item 700 = %+v", cas)
	}
	if chain := CheckChain(t, s); len(chain) != 1200 || chain[1199].Resource != ev[1199].Resource {
		t.Fatalf("audit chain has %d events, want 1200 in batch order", len(chain))
	}

	// A taken name (item 2) or a taken ID (item 1): Conflict naming it, nothing written.
	b2, ev2 := batch("new-0", "new-1", "db-17")
	err = s.CreateInstances(ctx, b2, ev2)
	var c *dbtrust.ImportConflict
	wantCode(t, "a batch with a taken name", err, dbtrust.Conflict)
	if !errors.As(err, &c) || c.Index != 2 {
		t.Fatalf("a batch whose item 2 is taken: %v, want an ImportConflict naming index 2", err)
	}
	b3, ev3 := batch("new-0", "new-1")
	b3[1].Instance.ID, b3[1].CA.InstanceID = b[5].Instance.ID, b[5].Instance.ID
	err = s.CreateInstances(ctx, b3, ev3)
	if !errors.As(err, &c) || c.Index != 1 {
		t.Fatalf("a batch whose item 1 has a taken ID: %v, want an ImportConflict naming index 1", err)
	}
	list, err = s.ListInstances(ctx, a.ID, "")
	must(t, err)
	if len(list) != 1200 || len(CheckChain(t, s)) != 1200 {
		t.Fatalf("a refused batch wrote: %d instances", len(list))
	}
}
