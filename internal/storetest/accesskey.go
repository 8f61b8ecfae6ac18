package storetest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/accesskey"
	"github.com/google/uuid"
)

// NewAccessKey returns an unsaved access key of the account (its sealed
// secret is a placeholder).
func NewAccessKey(accountID string, role dbtrust.Role) accesskey.Key {
	id := uuid.New()
	return accesskey.Key{ID: fmt.Sprintf("DBTK%X", id[:8]), AccountID: accountID, Name: "k-" + id.String()[:8], Role: role,
		SealedSecret: append([]byte{1, 0, 255}, id[:]...), CreatedAt: Later()}
}

// AccessKeyStore is what the accesskey suite needs: an accesskey.Store, and
// accounts to own the keys.
type AccessKeyStore interface {
	dbtrust.AccountStore
	accesskey.Store
}

// RunAccessKey runs the conformance tests of accesskey.Store against stores
// made by open.
func RunAccessKey[S AccessKeyStore](t *testing.T, open func(*testing.T) S) {
	t.Run("AccessKeys", func(t *testing.T) { testAccessKeys(t, open(t)) })
}

func testAccessKeys(t *testing.T, s AccessKeyStore) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "alpha")
	b, _ := NewAccount(t, s, "beta")
	k := NewAccessKey(a.ID, dbtrust.RoleMember)
	must(t, s.CreateAccessKey(ctx, k))
	wantCode(t, "CreateAccessKey(duplicate AK)", s.CreateAccessKey(ctx, k), dbtrust.Conflict)
	wantCode(t, "CreateAccessKey(unknown account)", s.CreateAccessKey(ctx, NewAccessKey(uuid.NewString(), dbtrust.RoleViewer)), dbtrust.NotFound)

	got, err := s.GetAccessKey(ctx, k.ID)
	must(t, err)
	if !bytes.Equal(got.SealedSecret, k.SealedSecret) || got.AccountID != a.ID || got.Role != dbtrust.RoleMember ||
		got.Name != k.Name || got.RevokedAt != nil || !got.CreatedAt.Equal(k.CreatedAt) {
		t.Fatalf("GetAccessKey(%q) = %+v, want %+v", k.ID, got, k)
	}
	_, err = s.GetAccessKey(ctx, "DBTKNOSUCHKEY0000000")
	wantCode(t, "GetAccessKey(unknown)", err, dbtrust.NotFound)

	k2 := NewAccessKey(a.ID, dbtrust.RoleViewer)
	must(t, s.CreateAccessKey(ctx, k2))
	must(t, s.CreateAccessKey(ctx, NewAccessKey(b.ID, dbtrust.RoleOwner)))
	list, err := s.ListAccessKeys(ctx, a.ID)
	must(t, err)
	if len(list) != 2 || list[0].ID != k.ID || list[1].ID != k2.ID {
		t.Fatalf("ListAccessKeys = %+v, want %s then %s", list, k.ID, k2.ID)
	}
	none, err := s.ListAccessKeys(ctx, uuid.NewString())
	must(t, err)
	if none == nil || len(none) != 0 {
		t.Fatalf("ListAccessKeys(unknown account) = %#v, want an empty, non-nil list", none)
	}

	// Another account cannot revoke it; its own can, once.
	wantCode(t, "RevokeAccessKey(other account)", s.RevokeAccessKey(ctx, b.ID, k.ID, Time), dbtrust.NotFound)
	must(t, s.RevokeAccessKey(ctx, a.ID, k.ID, Time.Add(time.Hour)))
	wantCode(t, "RevokeAccessKey(again)", s.RevokeAccessKey(ctx, a.ID, k.ID, Time), dbtrust.NotFound)
	got, err = s.GetAccessKey(ctx, k.ID)
	must(t, err)
	if got.RevokedAt == nil || !got.RevokedAt.Equal(Time.Add(time.Hour)) {
		t.Fatalf("revoked access key RevokedAt = %v, want %v", got.RevokedAt, Time.Add(time.Hour))
	}
}

func testSigningKeys(t *testing.T, s dbtrust.Store) {
	ctx := context.Background()
	_, err := s.GetSigningKey(ctx, "download-link")
	wantCode(t, "GetSigningKey(none yet)", err, dbtrust.NotFound)

	// Racing creators: exactly one wins, the others conflict, and everyone
	// reads back the winner's key byte for byte.
	const n = 8
	keys := make([]dbtrust.SigningKey, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		keys[i] = dbtrust.SigningKey{Name: "download-link", ID: fmt.Sprintf("DBTS%016d", i), SealedKey: []byte{1, byte(i), 2, 3}, CreatedAt: Time}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.CreateSigningKey(ctx, keys[i])
		}()
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			if winner >= 0 {
				t.Fatalf("two CreateSigningKey calls of one name succeeded (%d and %d)", winner, i)
			}
			winner = i
			continue
		}
		wantCode(t, "concurrent CreateSigningKey", err, dbtrust.Conflict)
	}
	if winner < 0 {
		t.Fatal("no concurrent CreateSigningKey succeeded")
	}
	got, err := s.GetSigningKey(ctx, "download-link")
	must(t, err)
	if got.ID != keys[winner].ID || !bytes.Equal(got.SealedKey, keys[winner].SealedKey) || !got.CreatedAt.Equal(Time) {
		t.Fatalf("GetSigningKey = %+v, want %+v", got, keys[winner])
	}
	// Another name is another key; a reused ID conflicts.
	must(t, s.CreateSigningKey(ctx, dbtrust.SigningKey{Name: "other", ID: "DBTSOTHER", SealedKey: []byte{9}, CreatedAt: Time}))
	wantCode(t, "CreateSigningKey(reused ID)",
		s.CreateSigningKey(ctx, dbtrust.SigningKey{Name: "third", ID: "DBTSOTHER", SealedKey: []byte{9}, CreatedAt: Time}), dbtrust.Conflict)
}
