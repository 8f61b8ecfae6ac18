package accesskey_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/accesskey"
	"github.com/dbtrust/dbtrust/internal/seal"
	"github.com/dbtrust/dbtrust/internal/sqlite"
)

func newService(t *testing.T) (*dbtrust.Service, *accesskey.Service, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dbtrust.db")
	store, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	kek, _ := seal.NewKey()
	sealer, _ := seal.New(kek)
	svc := dbtrust.NewService(store, sealer, dbtrust.Options{})
	return svc, accesskey.New(svc, store), path
}

func mac(sk string, msg []byte) []byte {
	m := hmac.New(sha256.New, []byte(sk))
	m.Write(msg)
	return m.Sum(nil)
}

func TestAccessKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, keys, dbPath := newService(t)
	a, _, err := svc.CreateAccount(ctx, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	owner := dbtrust.Operator(a.ID)
	admin := dbtrust.Principal{AccountID: a.ID, Role: dbtrust.RoleAdmin, Subject: "token:x"}
	member := dbtrust.Principal{AccountID: a.ID, Role: dbtrust.RoleMember, Subject: "token:y"}

	for _, tt := range []struct {
		name string
		p    dbtrust.Principal
		key  string
		role dbtrust.Role
		want dbtrust.Code
	}{
		{"member cannot create", member, "k", dbtrust.RoleViewer, dbtrust.Forbidden},
		{"admin cannot create an owner key", admin, "k", dbtrust.RoleOwner, dbtrust.Forbidden},
		{"bad role", owner, "k", dbtrust.Role("root"), dbtrust.Invalid},
		{"bad name", owner, "", dbtrust.RoleViewer, dbtrust.Invalid},
	} {
		if _, _, err := keys.Create(ctx, tt.p, tt.key, tt.role); dbtrust.ErrorCode(err) != tt.want {
			t.Errorf("%s: Create = %v, want %s", tt.name, err, tt.want)
		}
	}

	k, sk, err := keys.Create(ctx, admin, "ci", dbtrust.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	if len(k.ID) != 20 || len(sk) != 40 || bytes.Contains(k.SealedSecret, []byte(sk)) {
		t.Fatalf("Create = %+v, SK of %d characters", k, len(sk))
	}
	msg := []byte("SDK-HMAC-SHA256\n20250101T000000Z\nabc")
	p, err := keys.Authenticate(ctx, k.ID, msg, mac(sk, msg))
	if err != nil || p.AccountID != a.ID || p.Role != dbtrust.RoleMember || p.Subject != "accesskey:"+k.ID {
		t.Fatalf("Authenticate = %+v, %v", p, err)
	}
	for _, tt := range []struct {
		name     string
		ak       string
		msg, sig []byte
		reason   error
	}{
		{"wrong SK", k.ID, msg, mac(sk+"x", msg), accesskey.ErrBadSignature},
		{"other msg", k.ID, append(msg, '!'), mac(sk, msg), accesskey.ErrBadSignature},
		{"unknown AK", "DBTKAAAAAAAAAAAAAAAA", msg, mac(sk, msg), accesskey.ErrUnknown},
		{"not an AK", "x' OR 1=1", msg, mac(sk, msg), accesskey.ErrUnknown},
	} {
		_, err := keys.Authenticate(ctx, tt.ak, tt.msg, tt.sig)
		if dbtrust.ErrorCode(err) != dbtrust.Unauthorized || !errors.Is(err, tt.reason) {
			t.Errorf("Authenticate(%s) = %v, want Unauthorized carrying %v", tt.name, err, tt.reason)
		}
	}

	list, err := keys.List(ctx, admin)
	if err != nil || len(list) != 1 || list[0].ID != k.ID {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if err := keys.Revoke(ctx, member, k.ID); dbtrust.ErrorCode(err) != dbtrust.Forbidden {
		t.Fatalf("Revoke(member) = %v, want Forbidden", err)
	}
	ownerKey, _, err := keys.Create(ctx, owner, "root", dbtrust.RoleOwner)
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Revoke(ctx, admin, ownerKey.ID); dbtrust.ErrorCode(err) != dbtrust.Forbidden {
		t.Fatalf("Revoke(admin, owner key) = %v, want Forbidden", err)
	}
	b, _, err := svc.CreateAccount(ctx, "beta")
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Revoke(ctx, dbtrust.Operator(b.ID), k.ID); dbtrust.ErrorCode(err) != dbtrust.NotFound {
		t.Fatalf("Revoke(another account's key) = %v, want NotFound", err)
	}
	if err := keys.Revoke(ctx, admin, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Authenticate(ctx, k.ID, msg, mac(sk, msg)); dbtrust.ErrorCode(err) != dbtrust.Unauthorized || !errors.Is(err, accesskey.ErrUnknown) {
		t.Fatalf("Authenticate(revoked) = %v, want Unauthorized carrying ErrUnknown", err)
	}

	// The SK is sealed at rest: the raw database files never hold it.
	for _, f := range []string{dbPath, dbPath + "-wal"} {
		raw, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(sk)) {
			t.Fatalf("%s holds the secret key in clear", filepath.Base(f))
		}
	}
}
