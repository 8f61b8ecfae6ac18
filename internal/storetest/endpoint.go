package storetest

import (
	"context"
	"reflect"
	"testing"

	"github.com/dbtrust/dbtrust"
)

// testInstanceEndpoints: endpoints go in with the instance, come back in
// order, are replaced whole, and an empty list stores none.
func testInstanceEndpoints(t *testing.T, s dbtrust.Store) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "alpha")
	b, _ := NewAccount(t, s, "beta")
	i, ca := NewInstance(a.ID, "orders")
	i.Endpoints = []dbtrust.Endpoint{{Host: "db1.example.internal", Port: 5432, Role: "primary"}, {Host: "10.0.0.7", Port: 6432}}
	must(t, s.CreateInstance(ctx, i, ca))
	got, err := s.GetInstance(ctx, a.ID, i.ID)
	must(t, err)
	if !reflect.DeepEqual(got.Endpoints, i.Endpoints) {
		t.Fatalf("GetInstance().Endpoints = %+v, want %+v", got.Endpoints, i.Endpoints)
	}

	next := []dbtrust.Endpoint{{Host: "2001:db8::1", Port: 5432}, {Host: "db2.example.internal", Port: 5432, Role: "replica"}}
	wantCode(t, "UpdateInstanceEndpoints(other account)", s.UpdateInstanceEndpoints(ctx, b.ID, i.ID, next), dbtrust.NotFound)
	must(t, s.UpdateInstanceEndpoints(ctx, a.ID, i.ID, next))
	list, err := s.ListInstances(ctx, a.ID, "")
	must(t, err)
	if len(list) != 1 || !reflect.DeepEqual(list[0].Endpoints, next) {
		t.Fatalf("ListInstances() after update = %+v, want endpoints %+v", list, next)
	}

	must(t, s.UpdateInstanceEndpoints(ctx, a.ID, i.ID, nil))
	got, err = s.GetInstance(ctx, a.ID, i.ID)
	must(t, err)
	if len(got.Endpoints) != 0 {
		t.Fatalf("GetInstance().Endpoints after clearing = %+v, want none", got.Endpoints)
	}
}

// testNodeTokens: a token's instance scope is kept, and the token goes when
// its instance is deleted.
func testNodeTokens(t *testing.T, s dbtrust.Store) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "alpha")
	i, ca := NewInstance(a.ID, "orders")
	must(t, s.CreateInstance(ctx, i, ca))
	tok := NewToken(a.ID, dbtrust.RoleViewer)
	tok.InstanceID = i.ID
	must(t, s.CreateToken(ctx, tok))
	got, err := s.GetToken(ctx, tok.ID)
	must(t, err)
	if got.InstanceID != i.ID {
		t.Fatalf("GetToken().InstanceID = %q, want %q", got.InstanceID, i.ID)
	}
	list, err := s.ListTokens(ctx, a.ID)
	must(t, err)
	scoped := 0
	for _, l := range list {
		if l.InstanceID == i.ID {
			scoped++
		}
	}
	if scoped != 1 {
		t.Fatalf("ListTokens() has %d tokens of the instance, want 1", scoped)
	}
	must(t, s.DeleteInstance(ctx, a.ID, i.ID))
	_, err = s.GetToken(ctx, tok.ID)
	wantCode(t, "GetToken(node token of a deleted instance)", err, dbtrust.NotFound)
}
