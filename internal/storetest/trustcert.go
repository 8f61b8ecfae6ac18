package storetest

import (
	"context"
	"reflect"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/trustcert"
	"github.com/google/uuid"
)

// TrustCertStore is what the trustcert suite needs: a trustcert.Store, and
// accounts to own the certificates.
type TrustCertStore interface {
	dbtrust.AccountStore
	trustcert.Store
}

// RunTrustCert runs the conformance tests of trustcert.Store against stores
// made by open.
func RunTrustCert[S TrustCertStore](t *testing.T, open func(*testing.T) S) {
	t.Run("TrustCerts", func(t *testing.T) { testTrustCerts(t, open(t)) })
}

// NewCertificate returns an unsaved certificate of the account.
func NewCertificate(accountID string) trustcert.Certificate {
	t := Later()
	return trustcert.Certificate{ID: uuid.NewString(), AccountID: accountID, Version: "1.1", CertUse: trustcert.UseRootCA,
		CertPEM: []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), CN: "ca.example.com",
		NotAfter: Time.AddDate(1, 0, 0), SelfSigned: true, TrustDesired: trustcert.Trusted,
		Meta: dbtrust.Meta{Labels: []dbtrust.Label{{Name: "astra.netapp.io/labels/read-only/x", Value: "ü ' \" y"}, {Name: "b", Value: ""}},
			CreatedAt: t, ModifiedAt: t, CreatedBy: uuid.NewString(), Revision: 1}}
}

func testTrustCerts(t *testing.T, s TrustCertStore) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "alpha")
	b, _ := NewAccount(t, s, "beta")
	c1, c2 := NewCertificate(a.ID), NewCertificate(a.ID)
	must(t, s.CreateTrustCert(ctx, c1))
	must(t, s.CreateTrustCert(ctx, c2))
	must(t, s.CreateTrustCert(ctx, NewCertificate(b.ID)))
	wantCode(t, "CreateTrustCert(duplicate id)", s.CreateTrustCert(ctx, c1), dbtrust.Conflict)

	got, err := s.GetTrustCert(ctx, a.ID, c1.ID)
	must(t, err)
	if !reflect.DeepEqual(got, c1) {
		t.Fatalf("GetTrustCert(%q) = %+v, want %+v", c1.ID, got, c1)
	}
	_, err = s.GetTrustCert(ctx, b.ID, c1.ID)
	wantCode(t, "GetTrustCert(other account)", err, dbtrust.NotFound)

	list, err := s.ListTrustCerts(ctx, a.ID)
	must(t, err)
	if len(list) != 2 || list[0].ID != c1.ID || list[1].ID != c2.ID {
		t.Fatalf("ListTrustCerts = %d items, want c1, c2 in creation order", len(list))
	}

	up := c1
	up.Labels, up.TrustDesired, up.SelfSigned, up.ModifiedBy, up.ModifiedAt, up.Revision = []dbtrust.Label{}, trustcert.Untrusted, false, uuid.NewString(), Later(), 2
	must(t, s.UpdateTrustCert(ctx, up, 1))
	got, err = s.GetTrustCert(ctx, a.ID, c1.ID)
	must(t, err)
	if !reflect.DeepEqual(got, up) {
		t.Fatalf("after UpdateTrustCert: %+v, want %+v", got, up)
	}
	wantCode(t, "UpdateTrustCert(stale revision)", s.UpdateTrustCert(ctx, up, 1), dbtrust.PreconditionFailed)
	other := up
	other.AccountID = b.ID
	wantCode(t, "UpdateTrustCert(other account)", s.UpdateTrustCert(ctx, other, 2), dbtrust.NotFound)

	wantCode(t, "DeleteTrustCert(other account)", s.DeleteTrustCert(ctx, b.ID, c1.ID), dbtrust.NotFound)
	must(t, s.DeleteTrustCert(ctx, a.ID, c1.ID))
	wantCode(t, "DeleteTrustCert(again)", s.DeleteTrustCert(ctx, a.ID, c1.ID), dbtrust.NotFound)
	_, err = s.GetTrustCert(ctx, a.ID, c1.ID)
	wantCode(t, "GetTrustCert(deleted)", err, dbtrust.NotFound)
}
