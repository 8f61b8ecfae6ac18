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
