package dbtrust_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/seal"
	"github.com/dbtrust/dbtrust/internal/sqlite"
)

func newService(t *testing.T) (*dbtrust.Service, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dbtrust.db")
	store, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	kek, _ := seal.NewKey()
	sealer, _ := seal.New(kek)
	return dbtrust.NewService(store, sealer, dbtrust.Options{}), path
}

func mac(sk string, msg []byte) []byte {
	m := hmac.New(sha256.New, []byte(sk))
	m.Write(msg)
	return m.Sum(nil)
}

func TestAccessKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, dbPath := newService(t)
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
		if _, _, err := svc.CreateAccessKey(ctx, tt.p, tt.key, tt.role); dbtrust.ErrorCode(err) != tt.want {
			t.Errorf("%s: CreateAccessKey = %v, want %s", tt.name, err, tt.want)
		}
	}

	k, sk, err := svc.CreateAccessKey(ctx, admin, "ci", dbtrust.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	if len(k.ID) != 20 || len(sk) != 40 || bytes.Contains(k.SealedSecret, []byte(sk)) {
		t.Fatalf("CreateAccessKey = %+v, SK of %d characters", k, len(sk))
	}
	msg := []byte("SDK-HMAC-SHA256\n20250101T000000Z\nabc")
	p, err := svc.AuthenticateAccessKey(ctx, k.ID, msg, mac(sk, msg))
	if err != nil || p.AccountID != a.ID || p.Role != dbtrust.RoleMember || p.Subject != "accesskey:"+k.ID {
		t.Fatalf("AuthenticateAccessKey = %+v, %v", p, err)
	}
	for name, try := range map[string]func() error{
		"wrong SK": func() error { _, err := svc.AuthenticateAccessKey(ctx, k.ID, msg, mac(sk+"x", msg)); return err },
		"other msg": func() error {
			_, err := svc.AuthenticateAccessKey(ctx, k.ID, append(msg, '!'), mac(sk, msg))
			return err
		},
		"unknown AK": func() error {
			_, err := svc.AuthenticateAccessKey(ctx, "DBTKAAAAAAAAAAAAAAAA", msg, mac(sk, msg))
			return err
		},
		"not an AK": func() error { _, err := svc.AuthenticateAccessKey(ctx, "x' OR 1=1", msg, mac(sk, msg)); return err },
	} {
		if err := try(); dbtrust.ErrorCode(err) != dbtrust.Unauthorized {
			t.Errorf("AuthenticateAccessKey(%s) = %v, want Unauthorized", name, err)
		}
	}

	list, err := svc.ListAccessKeys(ctx, admin)
	if err != nil || len(list) != 1 || list[0].ID != k.ID {
		t.Fatalf("ListAccessKeys = %+v, %v", list, err)
	}
	if err := svc.RevokeAccessKey(ctx, member, k.ID); dbtrust.ErrorCode(err) != dbtrust.Forbidden {
		t.Fatalf("RevokeAccessKey(member) = %v, want Forbidden", err)
	}
	if err := svc.RevokeAccessKey(ctx, admin, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AuthenticateAccessKey(ctx, k.ID, msg, mac(sk, msg)); dbtrust.ErrorCode(err) != dbtrust.Unauthorized {
		t.Fatalf("AuthenticateAccessKey(revoked) = %v, want Unauthorized", err)
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

func TestServerSigningKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _ := newService(t)
	id1, k1, err := svc.ServerSigningKey(ctx, "download-link")
	if err != nil || len(k1) != 32 || id1 == "" {
		t.Fatalf("ServerSigningKey = %q, %d bytes, %v", id1, len(k1), err)
	}
	id2, k2, err := svc.ServerSigningKey(ctx, "download-link")
	if err != nil || id2 != id1 || !bytes.Equal(k1, k2) {
		t.Fatalf("second ServerSigningKey = %q, %v; want the same key", id2, err)
	}
	id3, k3, err := svc.ServerSigningKey(ctx, "other")
	if err != nil || id3 == id1 || bytes.Equal(k1, k3) {
		t.Fatalf("ServerSigningKey(other) = %q, %v; want another key", id3, err)
	}
}
