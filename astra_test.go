package dbtrust_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/seal"
	"github.com/dbtrust/dbtrust/internal/sqlite"
)

// astraService returns a Service over a fresh SQLite store, with its store
// and sealer, and an account to work in.
func astraService(t *testing.T) (*dbtrust.Service, dbtrust.Store, dbtrust.Sealer, dbtrust.Principal) {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "dbtrust.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	kek, _ := seal.NewKey()
	sealer, _ := seal.New(kek)
	svc := dbtrust.NewService(store, sealer, dbtrust.Options{})
	a, _, err := svc.CreateAccount(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	return svc, store, sealer, dbtrust.Principal{AccountID: a.ID, Role: dbtrust.RoleMember, Subject: "token:0123456789abcdef"}
}

func TestCredentialKeyStoreIsSealedToItsCredential(t *testing.T) {
	svc, store, sealer, p := astraService(t)
	ctx := context.Background()
	name := func(s string) *string { return &s }
	c1, err := svc.CreateCredential(ctx, p, dbtrust.CredentialInput{Version: "1.1", Name: name("one"), KeyType: "s3",
		KeyStore: map[string][]byte{"accessKey": []byte("AKIA1"), "accessSecret": []byte("secret-one")}})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := svc.CreateCredential(ctx, p, dbtrust.CredentialInput{Version: "1.1", Name: name("two"), KeyStore: map[string][]byte{"k": []byte("v")}})
	if err != nil {
		t.Fatal(err)
	}
	if c1.SealedKeyStore != nil {
		t.Error("CreateCredential returned the sealed key store")
	}
	stored, err := store.GetCredential(ctx, p.AccountID, c1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored.SealedKeyStore, []byte("secret-one")) {
		t.Fatal("the stored key store holds the secret in clear")
	}
	plain, err := sealer.Open(stored.SealedKeyStore, []byte("astra-credential-keystore:"+c1.ID))
	if err != nil {
		t.Fatalf("the key store does not open with its own credential's ID: %v", err)
	}
	var ks map[string][]byte // values are base64 in the sealed JSON
	if err := json.Unmarshal(plain, &ks); err != nil || string(ks["accessSecret"]) != "secret-one" {
		t.Fatalf("sealed key store = %v, %v", ks, err)
	}
	if _, err := sealer.Open(stored.SealedKeyStore, []byte("astra-credential-keystore:"+c2.ID)); !errors.Is(err, seal.ErrOpen) {
		t.Errorf("the key store opens for another credential: %v", err)
	}

	// An update without a key store keeps the sealed bytes as they were.
	if _, err := svc.UpdateCredential(ctx, p, c1.ID, dbtrust.CredentialInput{Version: "1.1", Name: name("renamed")}, 0); err != nil {
		t.Fatal(err)
	}
	after, _ := store.GetCredential(ctx, p.AccountID, c1.ID)
	if !bytes.Equal(after.SealedKeyStore, stored.SealedKeyStore) || after.Name != "renamed" {
		t.Errorf("update without keyStore: name %q, sealed bytes changed: %v", after.Name, !bytes.Equal(after.SealedKeyStore, stored.SealedKeyStore))
	}
	// A stale revision is PreconditionFailed and changes nothing.
	_, err = svc.UpdateCredential(ctx, p, c1.ID, dbtrust.CredentialInput{Version: "1.1", Name: name("late")}, 1)
	if dbtrust.ErrorCode(err) != dbtrust.PreconditionFailed {
		t.Errorf("UpdateCredential(stale revision) = %v, want PreconditionFailed", err)
	}
}

func TestPasswordHashKeepsNoCleartext(t *testing.T) {
	svc, store, sealer, p := astraService(t)
	ctx := context.Background()
	user := dbtrust.UserID(p)
	c, err := svc.CreateCredential(ctx, p, dbtrust.CredentialInput{Version: "1.1", Name: &user, KeyType: "passwordHash",
		KeyStore: map[string][]byte{"cleartext": []byte("hunter2-password"), "change": []byte("false")}})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := store.GetCredential(ctx, p.AccountID, c.ID)
	plain, err := sealer.Open(stored.SealedKeyStore, []byte("astra-credential-keystore:"+c.ID))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(plain, []byte("cleartext")) || bytes.Contains(plain, []byte("aHVudGVyMi1wYXNzd29yZA")) || !bytes.Contains(plain, []byte("pbkdf2-sha256$")) {
		t.Errorf("passwordHash key store = %s, want a hash and no cleartext", plain)
	}
	// Another user's passwordHash needs an admin.
	other := "9b2f6f0e-1c3d-4e5f-8a9b-0c1d2e3f4a5b"
	_, err = svc.CreateCredential(ctx, p, dbtrust.CredentialInput{Version: "1.1", Name: &other, KeyType: "passwordHash",
		KeyStore: map[string][]byte{"cleartext": []byte("x"), "change": []byte("true")}})
	if dbtrust.ErrorCode(err) != dbtrust.Forbidden {
		t.Errorf("member creating another user's passwordHash = %v, want Forbidden", err)
	}
}

func TestCertificateTrustState(t *testing.T) {
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		desired string
		now     time.Time
		want    string
	}{
		{dbtrust.TrustTrusted, exp.Add(-time.Second), dbtrust.TrustTrusted},
		{dbtrust.TrustUntrusted, exp.Add(-time.Second), dbtrust.TrustUntrusted},
		{dbtrust.TrustTrusted, exp, dbtrust.TrustExpired},
		{dbtrust.TrustUntrusted, exp.Add(time.Hour), dbtrust.TrustExpired},
	}
	for _, tt := range tests {
		c := dbtrust.Certificate{NotAfter: exp, TrustDesired: tt.desired}
		if got := c.TrustState(tt.now); got != tt.want {
			t.Errorf("TrustState(desired %s, at %s) = %s, want %s", tt.desired, tt.now, got, tt.want)
		}
	}
}

func TestUserID(t *testing.T) {
	v5 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a := dbtrust.UserID(dbtrust.Principal{Subject: "token:0123456789abcdef"})
	b := dbtrust.UserID(dbtrust.Principal{Subject: "token:fedcba9876543210"})
	if !v5.MatchString(a) || a == b || a != dbtrust.UserID(dbtrust.Principal{Subject: "token:0123456789abcdef"}) {
		t.Errorf("UserID = %q, %q: want stable, distinct version-5 UUIDs", a, b)
	}
	if got := dbtrust.UserID(dbtrust.Operator("x")); got != dbtrust.NilUserID {
		t.Errorf("UserID(operator) = %q, want the nil UUID", got)
	}
}
