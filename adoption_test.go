package dbtrust_test

import (
	"context"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/servicetest"
	"github.com/dbtrust/dbtrust/trustcert"
)

// Astra reads of instance CAs count as fetches, and a flush keeps them in the
// store, where another Service over the same store sees them.
func TestAdoptionThroughAstraAndFlush(t *testing.T) {
	se := servicetest.New(t, dbtrust.Options{})
	svc, owner, ctx := se.Service, se.Owner(), context.Background()
	inst, err := svc.CreateInstance(ctx, owner, dbtrust.InstanceSpec{Name: "orders", Engine: "pg"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RotateStart(ctx, owner, inst.ID, ""); err != nil {
		t.Fatal(err)
	}
	lister := dbtrust.Principal{AccountID: se.Account.ID, Role: dbtrust.RoleViewer, Subject: "token:1111111111111111"}
	getter := dbtrust.Principal{AccountID: se.Account.ID, Role: dbtrust.RoleViewer, Subject: "token:2222222222222222"}
	astra := trustcert.New(svc, se.Store)
	certs, err := astra.List(ctx, lister)
	if err != nil || len(certs) != 2 {
		t.Fatalf("ListCertificates = %d, %v; want the 2 served CAs", len(certs), err)
	}
	var current string
	for _, c := range certs {
		if c.CAState == dbtrust.CACurrent {
			current = c.ID
		}
	}
	if _, err := astra.Get(ctx, getter, current); err != nil {
		t.Fatal(err)
	}
	if err := svc.FlushAdoptions(ctx); err != nil {
		t.Fatal(err)
	}
	other := dbtrust.NewService(se.Store, se.Sealer, dbtrust.Options{})
	st, err := other.RotationStatus(ctx, owner, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, c := range st.Clients {
		got[c.Subject] = c.HoldsNext
	}
	if len(got) != 2 || !got[lister.Subject] || got[getter.Subject] || st.Holding != 1 || st.Lacking != 1 {
		t.Fatalf("RotationStatus after Astra reads = %+v, want the lister holding the next CA and the getter (current only) not", st)
	}
	if _, err := svc.RotationStatus(ctx, lister, inst.ID); dbtrust.ErrorCode(err) != dbtrust.Forbidden {
		t.Fatalf("RotationStatus as a viewer = %v, want Forbidden", err)
	}
}
