package native_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dbtrust/dbtrust/client"
)

// exerciseAccessKeys drives /v1/access-keys to every status the document
// declares: the SK only in the create answer (never in a list or a log
// line), bad input 400 with nothing written, a viewer and a node token
// refused, no key above the caller's role, another account's key not found.
func exerciseAccessKeys(t *testing.T, e *env) {
	t.Helper()
	own, view := e.owner, e.viewer
	admin := decode[client.Token](t, e.do("POST", "/v1/tokens", own, map[string]any{"name": "keys-admin", "role": "admin"}, 201)).Secret

	k := decode[client.AccessKey](t, e.do("POST", "/v1/access-keys", admin, map[string]any{"name": "ci", "role": "member"}, 201))
	if !strings.HasPrefix(k.AccessKey, "DBTK") || len(k.SecretKey) != 40 || len(k.ProjectID) != 32 || k.Role != "member" || k.Name != "ci" {
		t.Fatalf("created access key = %+v, want an AK, a 40-character SK and the project ID", k)
	}
	top := decode[client.AccessKey](t, e.do("POST", "/v1/access-keys", own, map[string]any{"name": "root", "role": "owner"}, 201))

	for _, tt := range []struct {
		name, token string
		body        any
		want        int
		code        string
	}{
		{"unknown role", admin, map[string]any{"name": "x", "role": "emperor"}, 400, "invalid"},
		{"empty name", admin, map[string]any{"name": "", "role": "viewer"}, 400, "invalid"},
		{"unknown field", admin, map[string]any{"name": "x", "role": "viewer", "secret_key": "mine"}, 400, "invalid"},
		{"not JSON", admin, "{name:", 400, "invalid"},
		{"no body", admin, "", 400, "invalid"},
		{"above the admin's role", admin, map[string]any{"name": "x", "role": "owner"}, 403, "forbidden"},
		{"viewer", view, map[string]any{"name": "x", "role": "viewer"}, 403, "forbidden"},
		{"no token", "", map[string]any{"name": "x", "role": "viewer"}, 401, "unauthorized"},
	} {
		if got := code(t, e.do("POST", "/v1/access-keys", tt.token, tt.body, tt.want)); got != tt.code {
			t.Errorf("create (%s): code %q, want %q", tt.name, got, tt.code)
		}
	}

	list := decode[client.AccessKeyList](t, e.do("GET", "/v1/access-keys", admin, nil, 200))
	if len(list.AccessKeys) != 2 || list.AccessKeys[0].AccessKey != k.AccessKey || list.AccessKeys[1].AccessKey != top.AccessKey {
		t.Fatalf("access key list = %+v, want the two created keys and nothing from the refused requests", list)
	}
	for _, x := range list.AccessKeys {
		if x.SecretKey != "" || x.ProjectID != k.ProjectID {
			t.Fatalf("listed access key = %+v, want no SK and the project ID", x)
		}
	}
	e.do("GET", "/v1/access-keys", view, nil, 403)
	e.do("GET", "/v1/access-keys", "", nil, 401)

	ctx := context.Background()
	_, other, err := e.svc.CreateAccount(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	if got := decode[client.AccessKeyList](t, e.do("GET", "/v1/access-keys", other, nil, 200)); len(got.AccessKeys) != 0 {
		t.Fatalf("another account lists %+v", got)
	}
	p := "/v1/access-keys/" + k.AccessKey
	for _, tt := range []struct {
		name, path, token string
		want              int
	}{
		{"another account's key", p, other, 404},
		{"not an AK", "/v1/access-keys/nonsense", admin, 404},
		{"viewer", p, view, 403},
		{"above the admin's role", "/v1/access-keys/" + top.AccessKey, admin, 403},
		{"no token", p, "", 401},
		{"admin", p, admin, 204},
		{"already revoked", p, admin, 404},
		{"owner revokes the owner key", "/v1/access-keys/" + top.AccessKey, own, 204},
	} {
		e.do("DELETE", tt.path, tt.token, nil, tt.want)
	}
	list = decode[client.AccessKeyList](t, e.do("GET", "/v1/access-keys", own, nil, 200))
	if len(list.AccessKeys) != 2 || list.AccessKeys[0].RevokedAt == "" || list.AccessKeys[1].RevokedAt == "" {
		t.Fatalf("after the revocations the list is %+v", list)
	}

	logs := e.logs.String()
	if !strings.Contains(logs, "/v1/access-keys") {
		t.Fatal("the log does not record the access key requests, so it proves nothing about secrets")
	}
	for _, sk := range []string{k.SecretKey, top.SecretKey} {
		if strings.Contains(logs, sk) {
			t.Fatal("a log line carries a secret key")
		}
	}
}

// TestAccessKeysRefuseNodeTokens checks that a node token, which acts on one
// instance only, can neither create, list nor revoke access keys.
func TestAccessKeysRefuseNodeTokens(t *testing.T) {
	e := newEnv(t)
	inst := decode[client.Instance](t, e.do("POST", "/v1/instances", e.owner, map[string]any{"name": "orders", "engine": "pg"}, 201))
	node := decode[client.Token](t, e.do("POST", "/v1/instances/"+inst.ID+"/node-tokens", e.owner, map[string]any{"name": "orders-1"}, 201)).Secret
	k := decode[client.AccessKey](t, e.do("POST", "/v1/access-keys", e.owner, map[string]any{"name": "ci", "role": "viewer"}, 201))
	for _, tt := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/v1/access-keys", map[string]any{"name": "n", "role": "viewer"}},
		{"GET", "/v1/access-keys", nil},
		{"DELETE", "/v1/access-keys/" + k.AccessKey, nil},
	} {
		if got := code(t, e.do(tt.method, tt.path, node, tt.body, 403)); got != "forbidden" {
			t.Errorf("%s %s as a node token: code %q, want forbidden", tt.method, tt.path, got)
		}
	}
	if l := decode[client.AccessKeyList](t, e.do("GET", "/v1/access-keys", e.owner, nil, 200)); len(l.AccessKeys) != 1 || l.AccessKeys[0].RevokedAt != "" {
		t.Fatalf("after the node token's attempts the list is %+v", l)
	}
}
