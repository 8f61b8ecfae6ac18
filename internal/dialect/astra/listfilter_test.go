package astra_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/credential"
	"github.com/google/uuid"
)

// TestFilterInStoreMatchesInMemory checks that a limited credentials page,
// whose filter the store applies in SQL, lists and counts exactly what the
// same filter applied here to every rendered credential does (a list
// without limit, filtered in memory), on texts where byte order and
// collations part ways, on SQLite and PostgreSQL; and that another
// account's credentials with the same texts are neither listed nor counted.
func TestFilterInStoreMatchesInMemory(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			e := newEnvOn(t, backend, 1<<30)
			mine := filterVariety(t, e, e.acct.ID)
			other, _, err := e.svc.CreateAccount(context.Background(), "other")
			if err != nil {
				t.Fatal(err)
			}
			filterVariety(t, e, other.ID)
			for _, f := range filterCases() {
				q := "?count=true&filter=" + url.QueryEscape(f)
				var all listReply
				if r := e.do(req{method: "GET", path: "/credentials" + q}); r.status != 200 {
					t.Fatalf("filter %q: %d %s", f, r.status, r.body)
				} else {
					r.decode(t, &all)
				}
				items, count := pageByThree(t, e, q)
				want := -1
				if all.Metadata.Count != nil {
					want = *all.Metadata.Count
				}
				if strings.Join(items, ",") != strings.Join(raw(all.Items), ",") || count != want {
					t.Fatalf("filter %q: pages of 3 listed %d items and counted %d; unlimited listed %d, counted %d", f, len(items), count, len(all.Items), want)
				}
				for _, it := range items {
					if !mine[it[strings.Index(it, `"id":"`)+6:][:36]] {
						t.Fatalf("filter %q listed another account's credential: %s", f, it)
					}
				}
			}
		})
	}
}

// filterVariety makes credentials in the account whose names, key types,
// validity, versions and authors vary in case, accents and punctuation, and
// returns their IDs.
func filterVariety(t *testing.T, e *env, accountID string) map[string]bool {
	ctx := context.Background()
	names := []string{"alpha", "Beta", "beta", "_under", "-dash", "é-accent", "e-plain", "Zulu", "it's", "a b", "ALPHA", "~tilde", "日本"}
	keyTypes := []string{"generic", "", "apikey", "s3"}
	authors := []dbtrust.Principal{dbtrust.Operator(accountID),
		{AccountID: accountID, Role: dbtrust.RoleMember, Subject: "token:0123456789abcdef"}}
	ids := map[string]bool{}
	for i, name := range names {
		in := credential.Input{Version: []string{"1.0", "1.1"}[i%2], Name: ptr(name), KeyType: keyTypes[i%len(keyTypes)],
			KeyStore: map[string][]byte{"apikey": []byte("k"), "accessKey": []byte("a"), "accessSecret": []byte("s")}}
		c, err := e.creds.Create(ctx, authors[i%2], in)
		if err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 { // updated: modifiedBy set, not valid
			if _, err := e.creds.Update(ctx, authors[(i+1)%2], c.ID, credential.Input{Version: "1.1", Valid: ptr(false)}, 0); err != nil {
				t.Fatal(err)
			}
		}
		ids[c.ID] = true
	}
	return ids
}

// filterCases are filters on every member the store filters, with each
// operator, and some joined.
func filterCases() []string {
	var out []string
	values := []string{"", "a", "B", "beta", "é", "-", "_", "~", "1.0", "true", "false", "it's", "generic", "日", "0", "f"}
	for _, field := range []string{"id", "name", "version", "keyType", "valid", "metadata.createdBy", "metadata.modifiedBy"} {
		for _, op := range []string{"eq", "lt", "gt", "lte", "gte", "in"} {
			for _, v := range values {
				out = append(out, fmt.Sprintf("%s %s '%s'", field, op, strings.ReplaceAll(v, "'", "''")))
			}
		}
	}
	return append(out, "keyType gte '', name lt 'a'", "valid eq 'true',version in '1'", "name gt 'B', metadata.modifiedBy in '-'")
}

// pageByThree follows continue tokens through the list q names, three at a
// time, and returns the items and the count every page gave.
func pageByThree(t *testing.T, e *env, q string) ([]string, int) {
	var items []string
	count, cont := -1, ""
	for {
		var page listReply
		r := e.do(req{method: "GET", path: "/credentials" + q + "&limit=3" + cont})
		if r.status != 200 {
			t.Fatalf("%s: %d %s", q, r.status, r.body)
		}
		r.decode(t, &page)
		if page.Metadata.Count == nil || count >= 0 && *page.Metadata.Count != count {
			t.Fatalf("%s: pages counted %v, then %v", q, count, page.Metadata.Count)
		}
		count = *page.Metadata.Count
		items = append(items, raw(page.Items)...)
		if page.Metadata.Continue == "" {
			return items, count
		}
		cont = "&continue=" + url.QueryEscape(page.Metadata.Continue)
	}
}

func raw(items []json.RawMessage) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = string(it)
	}
	return out
}

// TestKeptPagesFollowOtherWriters checks that a list answer the server
// keeps is answered anew once another process (SQLite) or replica
// (PostgreSQL) creates, changes or deletes one of the account's
// credentials through its own store.
func TestKeptPagesFollowOtherWriters(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			e := newEnvOn(t, backend, 1<<30)
			other := e.otherStore()
			ctx := context.Background()
			first := e.mustCreate("credentials", credBody("first", map[string]string{"k": "dg=="}))
			e.mustCreate("credentials", credBody("second", map[string]string{"k": "dg=="}))
			const q = "/credentials?limit=1&count=true"
			before := e.do(req{method: "GET", path: q})
			if again := e.do(req{method: "GET", path: q}); string(again.body) != string(before.body) {
				t.Fatalf("the same page twice: %s, then %s", before.body, again.body)
			}
			steps := []struct {
				name, want string
				write      func() error
			}{
				{"rename", `"name":"renamed"`, func() error {
					c, err := other.GetCredential(ctx, e.acct.ID, first.ID)
					if err != nil {
						return err
					}
					c.Name, c.Revision = "renamed", c.Revision+1
					return other.UpdateCredential(ctx, c, c.Revision-1)
				}},
				{"create", `"count":3`, func() error {
					c, err := other.GetCredential(ctx, e.acct.ID, first.ID)
					c.ID, c.Name, c.UniqueKey = uuid.NewString(), "third", ""
					return errors.Join(err, other.CreateCredential(ctx, c))
				}},
				{"delete", `"count":2`, func() error { return other.DeleteCredential(ctx, e.acct.ID, first.ID) }},
			}
			for _, s := range steps {
				if err := s.write(); err != nil {
					t.Fatalf("%s through another store: %v", s.name, err)
				}
				if r := e.do(req{method: "GET", path: q}); !strings.Contains(string(r.body), s.want) {
					t.Fatalf("after a %s through another store the page is %s, want %s in it", s.name, r.body, s.want)
				}
			}
		})
	}
}
