package storetest

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/credential"
	"github.com/google/uuid"
)

// CredentialStore is what the credential suite needs: a credential.Store,
// and accounts to own the credentials.
type CredentialStore interface {
	dbtrust.AccountStore
	credential.Store
}

// RunCredential runs the conformance tests of credential.Store against
// stores made by open.
func RunCredential[S CredentialStore](t *testing.T, open func(*testing.T) S) {
	tests := map[string]func(*testing.T, CredentialStore){
		"Credentials":        testCredentials,
		"UniqueKey":          testCredentialUniqueKey,
		"ConcurrentUpdates":  testConcurrentUpdates,
		"CredentialsAfter":   testCredentialsAfter,
		"CredentialsWhere":   testCredentialsWhere,
		"CredentialsVersion": testCredentialsVersion,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) { fn(t, open(t)) })
	}
}

// NewCredential returns an unsaved credential of the account with a fake sealed key store.
func NewCredential(accountID, name string) credential.Credential {
	t := Later()
	return credential.Credential{ID: uuid.NewString(), AccountID: accountID, Version: "1.1", Name: name, KeyType: "generic",
		Valid: true, SealedKeyStore: append([]byte{1, 0, 255, 0}, name...),
		Meta: dbtrust.Meta{Labels: []dbtrust.Label{}, CreatedAt: t, ModifiedAt: t, CreatedBy: uuid.NewString(), Revision: 1}}
}

func testCredentials(t *testing.T, s CredentialStore) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "alpha")
	b, _ := NewAccount(t, s, "beta")
	c1 := NewCredential(a.ID, "one")
	from, until := Later(), Later()
	c1.ValidFrom, c1.ValidUntil = &from, &until
	c1.Labels = []dbtrust.Label{{Name: "astra.netapp.io/labels/read-only/credType", Value: "kubeconfig"}}
	c2 := NewCredential(a.ID, "two")
	c2.KeyType, c2.Valid = "", false
	must(t, s.CreateCredential(ctx, c1))
	must(t, s.CreateCredential(ctx, c2))

	got, err := s.GetCredential(ctx, a.ID, c1.ID)
	must(t, err)
	if !reflect.DeepEqual(got, c1) {
		t.Fatalf("GetCredential(%q) = %+v, want %+v", c1.ID, got, c1)
	}
	_, err = s.GetCredential(ctx, b.ID, c1.ID)
	wantCode(t, "GetCredential(other account)", err, dbtrust.NotFound)

	list, err := s.ListCredentials(ctx, a.ID)
	must(t, err)
	if len(list) != 2 || list[0].ID != c1.ID || list[1].ID != c2.ID {
		t.Fatalf("ListCredentials = %d items, want one, two in creation order", len(list))
	}
	for _, c := range list {
		if c.SealedKeyStore != nil {
			t.Fatalf("ListCredentials returned a key store for %s", c.ID)
		}
	}
	if list[1].KeyType != "" || list[1].Valid || list[1].ValidFrom != nil {
		t.Fatalf("ListCredentials()[1] = %+v, want no key type, not valid, no validity window", list[1])
	}

	// An update without a key store keeps the stored one.
	up := c1
	up.Name, up.SealedKeyStore, up.ValidFrom, up.ModifiedAt, up.ModifiedBy, up.Revision = "renamed", nil, nil, Later(), uuid.NewString(), 2
	must(t, s.UpdateCredential(ctx, up, 1))
	got, err = s.GetCredential(ctx, a.ID, c1.ID)
	must(t, err)
	if !bytes.Equal(got.SealedKeyStore, c1.SealedKeyStore) || got.Name != "renamed" || got.ValidFrom != nil || got.Revision != 2 {
		t.Fatalf("after update without key store: %+v", got)
	}
	up.SealedKeyStore, up.Revision = []byte{9, 9, 9}, 3
	must(t, s.UpdateCredential(ctx, up, 2))
	got, err = s.GetCredential(ctx, a.ID, c1.ID)
	must(t, err)
	if !bytes.Equal(got.SealedKeyStore, []byte{9, 9, 9}) {
		t.Fatalf("after update with key store: sealed %x, want 090909", got.SealedKeyStore)
	}
	wantCode(t, "UpdateCredential(stale)", s.UpdateCredential(ctx, up, 2), dbtrust.PreconditionFailed)
	ghost := NewCredential(a.ID, "ghost")
	wantCode(t, "UpdateCredential(missing)", s.UpdateCredential(ctx, ghost, 1), dbtrust.NotFound)

	wantCode(t, "DeleteCredential(other account)", s.DeleteCredential(ctx, b.ID, c1.ID), dbtrust.NotFound)
	must(t, s.DeleteCredential(ctx, a.ID, c1.ID))
	wantCode(t, "DeleteCredential(again)", s.DeleteCredential(ctx, a.ID, c1.ID), dbtrust.NotFound)
}

func testCredentialUniqueKey(t *testing.T, s CredentialStore) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "alpha")
	b, _ := NewAccount(t, s, "beta")
	k1 := NewCredential(a.ID, "k1")
	k1.UniqueKey = "kubeconfig:abc"
	must(t, s.CreateCredential(ctx, k1))
	dup := NewCredential(a.ID, "k2")
	dup.UniqueKey = k1.UniqueKey
	wantCode(t, "CreateCredential(same unique key)", s.CreateCredential(ctx, dup), dbtrust.Conflict)
	if _, err := s.GetCredential(ctx, a.ID, dup.ID); dbtrust.ErrorCode(err) != dbtrust.NotFound {
		t.Fatalf("a conflicting credential was half-written: %v", err)
	}
	elsewhere := NewCredential(b.ID, "k1")
	elsewhere.UniqueKey = k1.UniqueKey
	must(t, s.CreateCredential(ctx, elsewhere))
	// Credentials without a unique key never conflict with each other.
	must(t, s.CreateCredential(ctx, NewCredential(a.ID, "same")))
	must(t, s.CreateCredential(ctx, NewCredential(a.ID, "same")))
	// Updating another credential onto a taken key conflicts too.
	other := NewCredential(a.ID, "k3")
	must(t, s.CreateCredential(ctx, other))
	other.UniqueKey, other.Revision = k1.UniqueKey, 2
	wantCode(t, "UpdateCredential(onto taken unique key)", s.UpdateCredential(ctx, other, 1), dbtrust.Conflict)
}

func testConcurrentUpdates(t *testing.T, s CredentialStore) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "alpha")
	c := NewCredential(a.ID, "contended")
	must(t, s.CreateCredential(ctx, c))
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			up := c
			up.Name, up.Revision = "writer", 2
			errs[i] = s.UpdateCredential(ctx, up, 1)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch dbtrust.ErrorCode(err) {
		case "":
			ok++
		case dbtrust.PreconditionFailed:
		default:
			t.Fatalf("concurrent UpdateCredential: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d updates from the same revision succeeded, want exactly 1", ok, n)
	}
}

func testCredentialsAfter(t *testing.T, s CredentialStore) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "alpha")
	b, _ := NewAccount(t, s, "beta")
	must(t, s.CreateCredential(ctx, NewCredential(b.ID, "elsewhere")))
	var want []string
	same := Later() // two credentials created in the same microsecond are ordered by ID
	for i := range 7 {
		c := NewCredential(a.ID, "c")
		if i == 3 || i == 4 {
			c.CreatedAt = same.Add(time.Hour)
		}
		must(t, s.CreateCredential(ctx, c))
	}
	all, err := s.ListCredentials(ctx, a.ID)
	must(t, err)
	for _, c := range all {
		want = append(want, c.ID)
	}
	n, err := s.CountCredentials(ctx, a.ID, nil)
	must(t, err)
	if n != 7 {
		t.Fatalf("CountCredentials = %d, want 7", n)
	}
	if got := pageAll(t, s, a.ID, nil); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("paging with ListCredentialKeysAfter = %v, want %v (ListCredentials order)", got, want)
	}
	for i, k := range keysAfter(t, s, a.ID, nil, credential.Key{}, 10) {
		if !k.CreatedAt.Equal(all[i].CreatedAt) || k.Revision != all[i].Revision {
			t.Fatalf("key %d = %+v, want the created time and revision of %+v", i, k, all[i])
		}
	}

	// GetCredentials reads the account's credentials named, in list order,
	// without key stores; another account's are left out.
	elsewhere, err := s.ListCredentials(ctx, b.ID)
	must(t, err)
	got, err := s.GetCredentials(ctx, a.ID, []string{want[5], elsewhere[0].ID, want[1], uuid.NewString()})
	must(t, err)
	if len(got) != 2 || got[0].ID != want[1] || got[1].ID != want[5] || !reflect.DeepEqual(got[0], all[1]) {
		t.Fatalf("GetCredentials = %+v, want %s and %s as listed", got, want[1], want[5])
	}
	for _, c := range got {
		if c.SealedKeyStore != nil {
			t.Fatalf("GetCredentials returned a key store")
		}
	}
}

// credentialVariety makes credentials in account a whose listed texts
// differ in case, accents, punctuation and emptiness, where byte order and
// a database's collation part ways, and returns them.
func credentialVariety(t *testing.T, s CredentialStore, accountID string) []credential.Credential {
	ctx := context.Background()
	names := []string{"alpha", "Beta", "beta", "_under", "-dash", "é-accent", "e-plain", "Zulu", "it's", "a b", "ALPHA", "~tilde", "日本"}
	keyTypes := []string{"generic", "", "apikey", "s3", "kubeconfig"}
	var out []credential.Credential
	for i, name := range names {
		c := NewCredential(accountID, name)
		c.KeyType, c.Valid = keyTypes[i%len(keyTypes)], i%3 != 0
		if i%2 == 0 {
			c.Version = "1.0"
		}
		if i%4 == 1 {
			c.ModifiedBy = names[(i+5)%len(names)]
		}
		if i%5 == 2 {
			c.CreatedBy = "Beta"
		}
		must(t, s.CreateCredential(ctx, c))
		out = append(out, c)
	}
	return out
}

// testCredentialsWhere checks that the store applies list conditions as
// credential.Cond.Holds does, on texts where byte order and collations
// differ, counts what it lists, pages through them, and never reaches
// another account's credentials.
func testCredentialsWhere(t *testing.T, s CredentialStore) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "alpha")
	b, _ := NewAccount(t, s, "beta")
	mine := credentialVariety(t, s, a.ID)
	credentialVariety(t, s, b.ID) // the same texts in another account
	values := []string{"", "a", "B", "beta", "Beta", "é", "e", "-", "_", "~", "1.0", "true", "false", "'", "generic", "日", "ALPHA"}
	fields := []credential.Field{credential.FieldID, credential.FieldName, credential.FieldVersion, credential.FieldKeyType,
		credential.FieldValid, credential.FieldCreatedBy, credential.FieldModifiedBy}
	var wheres [][]credential.Cond
	for _, f := range fields {
		for _, op := range []string{"eq", "lt", "gt", "lte", "gte", "in"} {
			for _, v := range values {
				wheres = append(wheres, []credential.Cond{{Field: f, Op: op, Value: v}})
			}
		}
	}
	wheres = append(wheres, []credential.Cond{{Field: credential.FieldKeyType, Op: "gte", Value: ""}, {Field: credential.FieldName, Op: "lt", Value: "a"}},
		[]credential.Cond{{Field: credential.FieldValid, Op: "eq", Value: "true"}, {Field: credential.FieldVersion, Op: "in", Value: "1"}}, nil)
	checkWheres(t, s, a.ID, mine, wheres)

	// Counts follow a credential given its first key type, and deletions.
	retyped := mine[1] // no key type
	retyped.KeyType, retyped.Revision = "s3", 2
	must(t, s.UpdateCredential(ctx, retyped, 1))
	must(t, s.DeleteCredential(ctx, a.ID, mine[2].ID))
	mine = append([]credential.Credential{mine[0], retyped}, mine[3:]...)
	wheres = [][]credential.Cond{nil}
	for _, kt := range []string{"", "generic", "apikey", "s3", "kubeconfig"} {
		wheres = append(wheres, []credential.Cond{{Field: credential.FieldKeyType, Op: "eq", Value: kt}})
	}
	checkWheres(t, s, a.ID, mine, wheres)
	if n, err := s.CountCredentials(ctx, b.ID, nil); err != nil || n != len(mine)+1 { // it lost none
		t.Fatalf("the other account's count = %d, %v; want %d", n, err, len(mine)+1)
	}
}

// checkWheres checks what the store lists and counts for each of wheres
// against mine, the account's credentials in creation order.
func checkWheres(t *testing.T, s CredentialStore, accountID string, mine []credential.Credential, wheres [][]credential.Cond) {
	ctx := context.Background()
	for _, where := range wheres {
		var want []string
		for _, c := range mine {
			if holdsAll(where, c) {
				want = append(want, c.Name)
			}
		}
		got := names(mine, keysAfter(t, s, accountID, where, credential.Key{}, 100))
		n, err := s.CountCredentials(ctx, accountID, where)
		must(t, err)
		if fmt.Sprint(got) != fmt.Sprint(want) || n != len(want) {
			t.Fatalf("where %q: listed %q, counted %d; want %q", where, got, n, want)
		}
		if paged := names(mine, idKeys(pageAll(t, s, accountID, where))); fmt.Sprint(paged) != fmt.Sprint(want) {
			t.Fatalf("where %q: paging by 2 listed %q, want %q", where, paged, want)
		}
	}
}

func holdsAll(where []credential.Cond, c credential.Credential) bool {
	for _, k := range where {
		if !k.Holds(c) {
			return false
		}
	}
	return true
}

// names are the names of the credentials of mine the keys are of.
func names(mine []credential.Credential, keys []credential.Key) []string {
	byID := map[string]string{}
	for _, c := range mine {
		byID[c.ID] = c.Name
	}
	var out []string
	for _, k := range keys {
		out = append(out, byID[k.ID])
	}
	return out
}

func idKeys(ids []string) []credential.Key {
	out := make([]credential.Key, len(ids))
	for i, id := range ids {
		out[i].ID = id
	}
	return out
}

func keysAfter(t *testing.T, s CredentialStore, accountID string, where []credential.Cond, after credential.Key, limit int) []credential.Key {
	t.Helper()
	keys, err := s.ListCredentialKeysAfter(context.Background(), accountID, where, after.CreatedAt, after.ID, limit)
	must(t, err)
	if len(keys) > limit {
		t.Fatalf("ListCredentialKeysAfter(limit %d) = %d keys", limit, len(keys))
	}
	return keys
}

// pageAll lists the IDs of the account's credentials meeting where two at
// a time.
func pageAll(t *testing.T, s CredentialStore, accountID string, where []credential.Cond) []string {
	var out []string
	var last credential.Key
	for {
		page := keysAfter(t, s, accountID, where, last, 2)
		for _, k := range page {
			out = append(out, k.ID)
		}
		if len(page) < 2 {
			return out
		}
		last = page[len(page)-1]
	}
}

// testCredentialsVersion checks that every committed write to an account's
// credentials gives it a version it never had, that a refused write and
// another account's writes leave it as it was.
func testCredentialsVersion(t *testing.T, s CredentialStore) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "alpha")
	b, _ := NewAccount(t, s, "beta")
	seen := map[int64]bool{}
	version := func(want string) int64 {
		t.Helper()
		v, err := s.CredentialsVersion(ctx, a.ID)
		must(t, err)
		if seen[v] {
			t.Fatalf("after %s the version is %d again", want, v)
		}
		seen[v] = true
		return v
	}
	if v := version("nothing"); v != 0 {
		t.Fatalf("the version before any write = %d, want 0", v)
	}
	c := NewCredential(a.ID, "one")
	must(t, s.CreateCredential(ctx, c))
	v := version("a create")
	must(t, s.CreateCredential(ctx, NewCredential(b.ID, "theirs")))
	c.Revision = 5
	if err := s.UpdateCredential(ctx, c, 4); dbtrust.ErrorCode(err) != dbtrust.PreconditionFailed {
		t.Fatalf("UpdateCredential(stale) = %v", err)
	}
	if now, err := s.CredentialsVersion(ctx, a.ID); err != nil || now != v {
		t.Fatalf("after another account's write and a refused update the version = %d, %v; want %d", now, err, v)
	}
	c.Revision = 2
	must(t, s.UpdateCredential(ctx, c, 1))
	version("an update")
	must(t, s.DeleteCredential(ctx, a.ID, c.ID))
	version("a delete")
}
