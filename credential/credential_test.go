package credential_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/credential"
	"github.com/dbtrust/dbtrust/internal/seal"
	"github.com/dbtrust/dbtrust/internal/servicetest"
	"github.com/dbtrust/dbtrust/internal/sqlite"
)

// newService returns a credential Service over a fresh SQLite store, with
// its store and sealer, and a member of the first account to act as.
func newService(t *testing.T) (*credential.Service, *sqlite.Store, dbtrust.Sealer, dbtrust.Principal) {
	t.Helper()
	e := servicetest.New(t, dbtrust.Options{})
	p := dbtrust.Principal{AccountID: e.Account.ID, Role: dbtrust.RoleMember, Subject: "token:0123456789abcdef"}
	return credential.New(e.Service, e.Store), e.Store, e.Sealer, p
}

func TestCredentialKeyStoreIsSealedToItsCredential(t *testing.T) {
	svc, store, sealer, p := newService(t)
	ctx := context.Background()
	name := func(s string) *string { return &s }
	c1, err := svc.Create(ctx, p, credential.Input{Version: "1.1", Name: name("one"), KeyType: "s3",
		KeyStore: map[string][]byte{"accessKey": []byte("AKIA1"), "accessSecret": []byte("secret-one")}})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := svc.Create(ctx, p, credential.Input{Version: "1.1", Name: name("two"), KeyStore: map[string][]byte{"k": []byte("v")}})
	if err != nil {
		t.Fatal(err)
	}
	if c1.SealedKeyStore != nil {
		t.Error("Create returned the sealed key store")
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
	if _, err := svc.Update(ctx, p, c1.ID, credential.Input{Version: "1.1", Name: name("renamed")}, 0); err != nil {
		t.Fatal(err)
	}
	after, _ := store.GetCredential(ctx, p.AccountID, c1.ID)
	if !bytes.Equal(after.SealedKeyStore, stored.SealedKeyStore) || after.Name != "renamed" {
		t.Errorf("update without keyStore: name %q, sealed bytes changed: %v", after.Name, !bytes.Equal(after.SealedKeyStore, stored.SealedKeyStore))
	}
	// A stale revision is PreconditionFailed and changes nothing.
	_, err = svc.Update(ctx, p, c1.ID, credential.Input{Version: "1.1", Name: name("late")}, 1)
	if dbtrust.ErrorCode(err) != dbtrust.PreconditionFailed {
		t.Errorf("Update(stale revision) = %v, want PreconditionFailed", err)
	}
}

func TestPasswordHashKeepsNoCleartext(t *testing.T) {
	svc, store, sealer, p := newService(t)
	ctx := context.Background()
	user := dbtrust.UserID(p)
	c, err := svc.Create(ctx, p, credential.Input{Version: "1.1", Name: &user, KeyType: "passwordHash",
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
	_, err = svc.Create(ctx, p, credential.Input{Version: "1.1", Name: &other, KeyType: "passwordHash",
		KeyStore: map[string][]byte{"cleartext": []byte("x"), "change": []byte("true")}})
	if dbtrust.ErrorCode(err) != dbtrust.Forbidden {
		t.Errorf("member creating another user's passwordHash = %v, want Forbidden", err)
	}
}
