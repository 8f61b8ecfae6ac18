package storetest

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/kek"
	"github.com/dbtrust/dbtrust/internal/selftls"
)

// KeyStore is what the keys suite needs: the KEK records and sealed values
// (kek.Store), the serving CA (selftls.Store), and the core's records to
// hold sealed values.
type KeyStore interface {
	dbtrust.Store
	kek.Store
	selftls.Store
}

// RunKeys runs the conformance tests of kek.Store and selftls.Store against
// stores made by open.
func RunKeys[S KeyStore](t *testing.T, open func(*testing.T) S) {
	t.Run("KEKs", func(t *testing.T) { testKEKs(t, open(t)) })
	t.Run("ServingCA", func(t *testing.T) { testServingCA(t, open(t)) })
}

// testKEKs: a store records one current and one next KEK, promotes the
// next one atomically, and lists and replaces sealed values by key.
func testKEKs(t *testing.T, s KeyStore) {
	ctx := context.Background()
	ks := kek.Store(s)
	recs, err := ks.KEKs(ctx)
	if err != nil || len(recs) != 0 {
		t.Fatalf("KEKs(fresh store) = %v, %v, want none", recs, err)
	}
	cur := kek.Record{KeyID: "aaaa000000000001", State: kek.Current, Verifier: []byte{2, 1}, CreatedAt: Time}
	next := kek.Record{KeyID: "bbbb000000000002", State: kek.Next, Verifier: []byte{2, 2}, CreatedAt: Time}
	must(t, ks.AddKEK(ctx, cur))
	wantCode(t, "AddKEK(a second current key)", ks.AddKEK(ctx, kek.Record{KeyID: "cccc", State: kek.Current, Verifier: []byte{1}, CreatedAt: Time}), dbtrust.Conflict)
	wantCode(t, "AddKEK(the same key ID)", ks.AddKEK(ctx, kek.Record{KeyID: cur.KeyID, State: kek.Next, Verifier: []byte{1}, CreatedAt: Time}), dbtrust.Conflict)
	must(t, ks.AddKEK(ctx, next))
	recs, err = ks.KEKs(ctx)
	must(t, err)
	if len(recs) != 2 || recs[0].KeyID != cur.KeyID || recs[1].KeyID != next.KeyID || !bytes.Equal(recs[1].Verifier, next.Verifier) || !recs[0].CreatedAt.Equal(Time) {
		t.Fatalf("KEKs() = %+v, want current %s then next %s", recs, cur.KeyID, next.KeyID)
	}
	wantCode(t, "PromoteKEK(unknown)", ks.PromoteKEK(ctx, "dddd"), dbtrust.NotFound)
	if recs, _ = ks.KEKs(ctx); len(recs) != 2 {
		t.Fatalf("a failed PromoteKEK changed the records: %+v", recs)
	}
	must(t, ks.PromoteKEK(ctx, next.KeyID))
	recs, err = ks.KEKs(ctx)
	must(t, err)
	if len(recs) != 1 || recs[0].KeyID != next.KeyID || recs[0].State != kek.Current {
		t.Fatalf("KEKs() after PromoteKEK = %+v, want only %s, current", recs, next.KeyID)
	}
	testSealedValues(t, s, ks)
}

func testSealedValues(t *testing.T, s dbtrust.Store, ks kek.Store) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "alpha")
	var cas []dbtrust.CA
	for i := range 5 {
		inst, ca := NewInstance(a.ID, fmt.Sprintf("db-%d", i))
		must(t, s.CreateInstance(ctx, inst, ca))
		cas = append(cas, ca)
	}
	tables, err := ks.SealedTables(ctx)
	must(t, err)
	if len(tables) == 0 || tables[0] != "cas" {
		t.Fatalf("SealedTables() = %v, want cas first", tables)
	}
	var all []kek.Sealed
	for after := ""; ; {
		vs, err := ks.SealedValues(ctx, "cas", after, 2)
		must(t, err)
		if len(vs) == 0 {
			break
		}
		if len(vs) > 2 {
			t.Fatalf("SealedValues(limit 2) = %d values", len(vs))
		}
		all, after = append(all, vs...), vs[len(vs)-1].Key
	}
	if len(all) != len(cas) {
		t.Fatalf("SealedValues over every batch = %d values, want %d", len(all), len(cas))
	}
	for _, v := range all {
		if len(v.Ref) != 1 || v.Ref[0] != v.Key || len(v.Value) == 0 {
			t.Fatalf("SealedValues: %+v, want the CA ID as key and ref, and its sealed key", v)
		}
	}
	// One replacement applies; one whose old value is stale is skipped.
	n, err := ks.ReplaceSealed(ctx, "cas", []kek.Replacement{
		{Key: all[0].Key, Old: all[0].Value, New: []byte("resealed-0")},
		{Key: all[1].Key, Old: []byte("stale"), New: []byte("resealed-1")},
	})
	must(t, err)
	if n != 1 {
		t.Fatalf("ReplaceSealed(one current, one stale) = %d, want 1", n)
	}
	got, err := s.GetCA(ctx, all[0].Key)
	must(t, err)
	if string(got.SealedKey) != "resealed-0" {
		t.Fatalf("GetCA after ReplaceSealed: sealed key %q, want resealed-0", got.SealedKey)
	}
	if got, _ := s.GetCA(ctx, all[1].Key); string(got.SealedKey) == "resealed-1" {
		t.Fatal("ReplaceSealed replaced a value whose old value did not match")
	}
	wantCode(t, "SealedValues(a table without sealed values)", func() error { _, err := ks.SealedValues(ctx, "accounts", "", 1); return err }(), dbtrust.Invalid)
}

// testServingCA: the first serving CA recorded stays; a second is Conflict.
func testServingCA(t *testing.T, ss KeyStore) {
	ctx := context.Background()
	_, err := ss.GetServingCA(ctx, selftls.Name)
	wantCode(t, "GetServingCA(none yet)", err, dbtrust.NotFound)
	ca := selftls.StoredCA{Name: selftls.Name, CertPEM: []byte("cert"), SealedKey: []byte{2, 9}, CreatedAt: Time}
	must(t, ss.CreateServingCA(ctx, ca))
	wantCode(t, "CreateServingCA(second)", ss.CreateServingCA(ctx, selftls.StoredCA{Name: selftls.Name, CertPEM: []byte("other"), SealedKey: []byte{1}, CreatedAt: Time}), dbtrust.Conflict)
	got, err := ss.GetServingCA(ctx, selftls.Name)
	must(t, err)
	if string(got.CertPEM) != "cert" || !bytes.Equal(got.SealedKey, ca.SealedKey) || !got.CreatedAt.Equal(Time) {
		t.Fatalf("GetServingCA() = %+v, want the first CA", got)
	}
}
