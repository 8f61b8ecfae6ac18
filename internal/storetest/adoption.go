package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
)

// testAdoptions checks RecordAdoptions' upsert: the newer fetch wins whatever
// the order of the flushes, counts add up, a gone instance's records are
// dropped without failing the batch, and accounts stay apart.
func testAdoptions(t *testing.T, s dbtrust.Store) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "adopt-a")
	b, _ := NewAccount(t, s, "adopt-b")
	inst, ca := NewInstance(a.ID, "orders")
	must(t, s.CreateInstance(ctx, inst, ca))
	other, oca := NewInstance(b.ID, "orders")
	must(t, s.CreateInstance(ctx, other, oca))
	gone, _ := NewInstance(a.ID, "gone")

	t1, t2 := Time.Add(time.Minute), Time.Add(2*time.Minute)
	ad := func(acct, id, subject string, at time.Time, fps ...string) dbtrust.Adoption {
		return dbtrust.Adoption{AccountID: acct, InstanceID: id, Subject: subject, Fingerprints: fps, FetchedAt: at, Fetches: 2}
	}
	must(t, s.RecordAdoptions(ctx, []dbtrust.Adoption{
		ad(a.ID, inst.ID, "token:aaaa", t2, "new", "old"),
		ad(a.ID, inst.ID, "token:bbbb", t1, "old"),
		ad(a.ID, gone.ID, "token:aaaa", t1, "x"),
		ad(a.ID, other.ID, "token:cccc", t1, "y"), // another account's instance
		ad(b.ID, other.ID, "token:dddd", t1, "y"),
	}))
	// An older fetch flushed later (by a slower replica) does not win.
	older := ad(a.ID, inst.ID, "token:aaaa", t1, "old")
	older.Via = "link"
	must(t, s.RecordAdoptions(ctx, []dbtrust.Adoption{older}))

	got, err := s.ListAdoptions(ctx, a.ID, inst.ID)
	must(t, err)
	want := []dbtrust.Adoption{
		{AccountID: a.ID, InstanceID: inst.ID, Subject: "token:aaaa", Fingerprints: []string{"new", "old"}, FetchedAt: t2, Fetches: 4},
		{AccountID: a.ID, InstanceID: inst.ID, Subject: "token:bbbb", Fingerprints: []string{"old"}, FetchedAt: t1, Fetches: 2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ListAdoptions(a, orders) = %+v, want %+v", got, want)
	}
	got, err = s.ListAdoptions(ctx, a.ID, other.ID)
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("ListAdoptions(a, b's instance) = %+v, want none", got)
	}
	all, err := s.ListAdoptions(ctx, "", "")
	must(t, err)
	if len(all) != 3 {
		t.Fatalf("ListAdoptions(all) = %d records, want 3", len(all))
	}
	must(t, s.DeleteInstance(ctx, a.ID, inst.ID))
	got, err = s.ListAdoptions(ctx, a.ID, inst.ID)
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("ListAdoptions after DeleteInstance = %+v, want none", got)
	}
}
