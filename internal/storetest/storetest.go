// Package storetest holds the conformance suites of the stores: Run for the
// core's dbtrust.Store, and one per capability beside the core
// (RunTrustCert, RunCredential, RunAccessKey, RunClusterSettings). A store's own tests call each
// suite its store implements with a function that opens a fresh, empty store.
package storetest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/google/uuid"
)

// Run runs the conformance tests of dbtrust.Store against stores made by
// open, which returns a fresh, empty, migrated store and registers its own
// cleanup.
func Run[S dbtrust.Store](t *testing.T, open func(*testing.T) S) {
	tests := map[string]func(*testing.T, dbtrust.Store){
		"Accounts":              testAccounts,
		"Tokens":                testTokens,
		"Instances":             testInstances,
		"InstanceNameConflict":  testInstanceNameConflict,
		"InstanceEndpoints":     testInstanceEndpoints,
		"CreateInstances":       testCreateInstances,
		"NodeTokens":            testNodeTokens,
		"CAs":                   testCAs,
		"DeleteCascades":        testDeleteCascades,
		"ConcurrentCreates":     testConcurrentCreates,
		"Audit":                 testAudit,
		"AuditWithWrites":       testAuditWithWrites,
		"AuditChainConcurrent":  testAuditChainConcurrent,
		"SigningKeys":           testSigningKeys,
		"Ping":                  func(t *testing.T, s dbtrust.Store) { must(t, s.Ping(context.Background())) },
		"Certificates":          testCertificates,
		"ConcurrentIssuance":    testConcurrentIssuance,
		"IssuanceCancelled":     testIssuanceCancelled,
		"CertificateRevocation": testCertificateRevocation,
		"Rotation":              testRotation,
		"ConcurrentRotation":    testConcurrentRotation,
		"RotationPolicies":      testRotationPolicies,
		"Expiries":              testExpiries,
		"ServedCAs":             testServedCAs,
		"Sessions":              testSessions,
		"Adoptions":             testAdoptions,
		"Webhooks":              testWebhooks,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) { fn(t, open(t)) })
	}
}

// Time is a fixed instant with microsecond precision, as stores keep it.
var Time = time.Date(2026, 11, 22, 10, 30, 15, 123456000, time.UTC)

var tick atomic.Int64

// Later returns a time after every earlier call's, so that records made one
// after another sort in creation order.
func Later() time.Time { return Time.Add(time.Duration(tick.Add(1)) * time.Millisecond) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantCode(t *testing.T, what string, err error, want dbtrust.Code) {
	t.Helper()
	if got := dbtrust.ErrorCode(err); got != want {
		t.Fatalf("%s: error code %q (%v), want %q", what, got, err, want)
	}
}

// NewAccount inserts an account with a first token and returns both.
func NewAccount(t *testing.T, s dbtrust.AccountStore, name string) (dbtrust.Account, dbtrust.Token) {
	t.Helper()
	a := dbtrust.Account{ID: uuid.NewString(), Name: name, ProjectID: dbtrust.NewProjectID(), CreatedAt: Later()}
	tok := NewToken(a.ID, dbtrust.RoleOwner)
	must(t, s.CreateAccount(context.Background(), a, tok))
	return a, tok
}

// NewToken returns an unsaved token of the account.
func NewToken(accountID string, role dbtrust.Role) dbtrust.Token {
	id := uuid.New()
	return dbtrust.Token{ID: fmt.Sprintf("%x", id[:8]), AccountID: accountID, Name: "t-" + id.String()[:8], Role: role,
		SecretHash: bytes.Repeat([]byte{id[0]}, 32), CreatedAt: Time}
}

// NewInstance returns an unsaved instance of the account and its first CA.
func NewInstance(accountID, name string) (dbtrust.Instance, dbtrust.CA) {
	i := dbtrust.Instance{ID: uuid.NewString(), AccountID: accountID, Name: name, Engine: dbtrust.EnginePostgres,
		Version: "16", Region: "nyc1", Size: "db-s-1vcpu-1gb", NumNodes: 1, TLS: true, Status: "online",
		Tags: []string{"prod", "team:a"}, CreatedAt: Later()}
	return i, NewCA(i, dbtrust.CACurrent)
}

// NewCA returns an unsaved CA record of inst (its certificate is a placeholder).
func NewCA(i dbtrust.Instance, state dbtrust.CAState) dbtrust.CA {
	id := uuid.NewString()
	return dbtrust.CA{ID: id, InstanceID: i.ID, AccountID: i.AccountID, State: state, KeyType: "ecdsa-p256",
		CertPEM:   []byte("-----BEGIN CERTIFICATE-----\n" + id + "\n-----END CERTIFICATE-----\n"),
		SealedKey: append([]byte{1, 0, 255}, id...), Serial: id[:8], Fingerprint: id,
		NotBefore: Time, NotAfter: Time.AddDate(10, 0, 0), CreatedAt: Time}
}

func testAccounts(t *testing.T, s dbtrust.Store) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "alpha")
	got, err := s.GetAccount(ctx, a.ID)
	must(t, err)
	if got != a {
		t.Fatalf("GetAccount(%q) = %+v, want %+v", a.ID, got, a)
	}
	got, err = s.GetAccountByProject(ctx, a.ProjectID)
	must(t, err)
	if got.ID != a.ID {
		t.Fatalf("GetAccountByProject(%q) = %+v, want %+v", a.ProjectID, got, a)
	}
	_, err = s.GetAccount(ctx, uuid.NewString())
	wantCode(t, "GetAccount(unknown)", err, dbtrust.NotFound)
	_, err = s.GetAccountByProject(ctx, dbtrust.NewProjectID())
	wantCode(t, "GetAccountByProject(unknown)", err, dbtrust.NotFound)

	// A second account with the same name conflicts, and leaves no token behind.
	dup := dbtrust.Account{ID: uuid.NewString(), Name: "alpha", ProjectID: dbtrust.NewProjectID(), CreatedAt: Time}
	tok := NewToken(dup.ID, dbtrust.RoleOwner)
	wantCode(t, "CreateAccount(duplicate name)", s.CreateAccount(ctx, dup, tok), dbtrust.Conflict)
	_, err = s.GetToken(ctx, tok.ID)
	wantCode(t, "GetToken(token of failed account)", err, dbtrust.NotFound)

	b, _ := NewAccount(t, s, "beta")
	list, err := s.ListAccounts(ctx)
	must(t, err)
	if len(list) != 2 || list[0].ID != a.ID || list[1].ID != b.ID {
		t.Fatalf("ListAccounts = %+v, want alpha then beta", list)
	}
}

func testTokens(t *testing.T, s dbtrust.Store) {
	ctx := context.Background()
	a, first := NewAccount(t, s, "alpha")
	b, _ := NewAccount(t, s, "beta")
	got, err := s.GetToken(ctx, first.ID)
	must(t, err)
	if !bytes.Equal(got.SecretHash, first.SecretHash) || got.Role != dbtrust.RoleOwner || got.AccountID != a.ID || got.RevokedAt != nil || !got.CreatedAt.Equal(Time) {
		t.Fatalf("GetToken(%q) = %+v, want %+v", first.ID, got, first)
	}
	v := NewToken(a.ID, dbtrust.RoleViewer)
	must(t, s.CreateToken(ctx, v))
	wantCode(t, "CreateToken(duplicate id)", s.CreateToken(ctx, v), dbtrust.Conflict)
	list, err := s.ListTokens(ctx, a.ID)
	must(t, err)
	if len(list) != 2 {
		t.Fatalf("ListTokens = %d tokens, want 2", len(list))
	}
	// Another account cannot revoke it; the owner can, once.
	wantCode(t, "RevokeToken(other account)", s.RevokeToken(ctx, b.ID, v.ID, Time), dbtrust.NotFound)
	must(t, s.RevokeToken(ctx, a.ID, v.ID, Time.Add(time.Hour)))
	wantCode(t, "RevokeToken(again)", s.RevokeToken(ctx, a.ID, v.ID, Time), dbtrust.NotFound)
	got, err = s.GetToken(ctx, v.ID)
	must(t, err)
	if got.RevokedAt == nil || !got.RevokedAt.Equal(Time.Add(time.Hour)) {
		t.Fatalf("revoked token RevokedAt = %v, want %v", got.RevokedAt, Time.Add(time.Hour))
	}
}

func testInstances(t *testing.T, s dbtrust.Store) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "alpha")
	b, _ := NewAccount(t, s, "beta")
	i, ca := NewInstance(a.ID, "backend")
	must(t, s.CreateInstance(ctx, i, ca))
	got, err := s.GetInstance(ctx, a.ID, i.ID)
	must(t, err)
	if fmt.Sprint(got) != fmt.Sprint(i) {
		t.Fatalf("GetInstance = %+v, want %+v", got, i)
	}
	_, err = s.GetInstance(ctx, b.ID, i.ID)
	wantCode(t, "GetInstance(other account)", err, dbtrust.NotFound)

	j, jca := NewInstance(a.ID, "cache")
	j.Tags = nil
	must(t, s.CreateInstance(ctx, j, jca))
	all, err := s.ListInstances(ctx, a.ID, "")
	must(t, err)
	if len(all) != 2 || all[0].ID != i.ID || all[1].ID != j.ID {
		t.Fatalf("ListInstances = %+v, want backend then cache", all)
	}
	if len(all[1].Tags) != 0 {
		t.Fatalf("instance without tags came back with %v", all[1].Tags)
	}
	tagged, err := s.ListInstances(ctx, a.ID, "team:a")
	must(t, err)
	if len(tagged) != 1 || tagged[0].ID != i.ID {
		t.Fatalf("ListInstances(tag) = %+v, want backend only", tagged)
	}
	none, err := s.ListInstances(ctx, b.ID, "")
	must(t, err)
	if none == nil || len(none) != 0 {
		t.Fatalf("ListInstances(other account) = %#v, want an empty, non-nil list", none)
	}

	wantCode(t, "UpdateInstanceTLS(other account)", s.UpdateInstanceTLS(ctx, b.ID, i.ID, false), dbtrust.NotFound)
	must(t, s.UpdateInstanceTLS(ctx, a.ID, i.ID, false))
	got, err = s.GetInstance(ctx, a.ID, i.ID)
	must(t, err)
	if got.TLS {
		t.Fatal("UpdateInstanceTLS(false) did not stick")
	}
}

func testInstanceNameConflict(t *testing.T, s dbtrust.Store) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "alpha")
	b, _ := NewAccount(t, s, "beta")
	i, ca := NewInstance(a.ID, "backend")
	must(t, s.CreateInstance(ctx, i, ca))
	dup, dupCA := NewInstance(a.ID, "backend")
	wantCode(t, "CreateInstance(duplicate name)", s.CreateInstance(ctx, dup, dupCA), dbtrust.Conflict)
	cas, err := s.ListCAs(ctx, a.ID, dup.ID)
	must(t, err)
	if len(cas) != 0 {
		t.Fatalf("failed CreateInstance left %d CAs behind", len(cas))
	}
	// The same name in another account is fine.
	other, otherCA := NewInstance(b.ID, "backend")
	must(t, s.CreateInstance(ctx, other, otherCA))
	// A CA that breaks a constraint (a second use of a fingerprint) undoes its instance.
	k, kca := NewInstance(a.ID, "broken")
	kca.Fingerprint = ca.Fingerprint
	wantCode(t, "CreateInstance(duplicate CA fingerprint)", s.CreateInstance(ctx, k, kca), dbtrust.Conflict)
	_, err = s.GetInstance(ctx, a.ID, k.ID)
	wantCode(t, "GetInstance(instance whose CA failed)", err, dbtrust.NotFound)
}

func testCAs(t *testing.T, s dbtrust.Store) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "alpha")
	b, _ := NewAccount(t, s, "beta")
	i, ca := NewInstance(a.ID, "backend")
	must(t, s.CreateInstance(ctx, i, ca))
	cas, err := s.ListCAs(ctx, a.ID, i.ID)
	must(t, err)
	if len(cas) != 1 {
		t.Fatalf("ListCAs = %d CAs, want 1", len(cas))
	}
	got := cas[0]
	if !bytes.Equal(got.SealedKey, ca.SealedKey) || !bytes.Equal(got.CertPEM, ca.CertPEM) {
		t.Fatal("CA sealed key or certificate did not come back byte for byte")
	}
	if got.State != dbtrust.CACurrent || got.Fingerprint != ca.Fingerprint || !got.NotAfter.Equal(ca.NotAfter) || !got.NotBefore.Equal(Time) {
		t.Fatalf("ListCAs()[0] = %+v, want %+v", got, ca)
	}
	other, err := s.ListCAs(ctx, b.ID, i.ID)
	must(t, err)
	if len(other) != 0 {
		t.Fatalf("ListCAs(other account) = %d CAs, want 0", len(other))
	}
}

func testDeleteCascades(t *testing.T, s dbtrust.Store) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "alpha")
	b, _ := NewAccount(t, s, "beta")
	i, ca := NewInstance(a.ID, "backend")
	must(t, s.CreateInstance(ctx, i, ca))
	wantCode(t, "DeleteInstance(other account)", s.DeleteInstance(ctx, b.ID, i.ID), dbtrust.NotFound)
	must(t, s.DeleteInstance(ctx, a.ID, i.ID))
	wantCode(t, "DeleteInstance(again)", s.DeleteInstance(ctx, a.ID, i.ID), dbtrust.NotFound)
	_, err := s.GetInstance(ctx, a.ID, i.ID)
	wantCode(t, "GetInstance(deleted)", err, dbtrust.NotFound)
	cas, err := s.ListCAs(ctx, a.ID, i.ID)
	must(t, err)
	if len(cas) != 0 {
		t.Fatalf("deleted instance still has %d CAs", len(cas))
	}
	// The name is free again.
	again, againCA := NewInstance(a.ID, "backend")
	must(t, s.CreateInstance(ctx, again, againCA))
}

func testConcurrentCreates(t *testing.T, s dbtrust.Store) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "alpha")
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, 2*n)
	for k := range n {
		wg.Add(2)
		go func() { // distinct names: all succeed
			defer wg.Done()
			i, ca := NewInstance(a.ID, fmt.Sprintf("db-%d", k))
			errs[k] = s.CreateInstance(ctx, i, ca)
		}()
		go func() { // one name: exactly one succeeds
			defer wg.Done()
			i, ca := NewInstance(a.ID, "contended")
			errs[n+k] = s.CreateInstance(ctx, i, ca)
		}()
	}
	wg.Wait()
	won := 0
	for k, err := range errs {
		switch {
		case err == nil && k >= n:
			won++
		case err != nil && k < n:
			t.Fatalf("concurrent CreateInstance(db-%d): %v", k, err)
		case err != nil:
			wantCode(t, "concurrent CreateInstance(contended)", err, dbtrust.Conflict)
		}
	}
	if won != 1 {
		t.Fatalf("%d concurrent creates of one name succeeded, want 1", won)
	}
	list, err := s.ListInstances(ctx, a.ID, "")
	must(t, err)
	if len(list) != n+1 {
		t.Fatalf("ListInstances = %d, want %d", len(list), n+1)
	}
}

func testServedCAs(t *testing.T, s dbtrust.Store) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "alpha")
	b, _ := NewAccount(t, s, "beta")
	i1, ca1 := NewInstance(a.ID, "one")
	must(t, s.CreateInstance(ctx, i1, ca1))
	i2, ca2 := NewInstance(b.ID, "two")
	must(t, s.CreateInstance(ctx, i2, ca2))
	got, err := s.ListServedCAs(ctx, a.ID)
	must(t, err)
	if len(got) != 1 || got[0].ID != ca1.ID || !bytes.Equal(got[0].CertPEM, ca1.CertPEM) {
		t.Fatalf("ListServedCAs(%q) = %d CAs, want only %s", a.ID, len(got), ca1.ID)
	}
	got, err = s.ListServedCAs(ctx, uuid.NewString())
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("ListServedCAs(unknown account) = %d CAs, want none", len(got))
	}
}
