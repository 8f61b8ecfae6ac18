package native_test

import (
	"testing"

	"github.com/dbtrust/dbtrust/client"
)

// TestNodeTokenScope drives the native API with a node token: its own
// instance, CAs and bundle, and a certificate from a CSR for an endpoint;
// every other call is 403, another instance 404, each in the native shape and
// as the OpenAPI document declares.
func TestNodeTokenScope(t *testing.T) {
	e := newEnv(t)
	own := e.owner
	inst := decode[client.Instance](t, e.do("POST", "/v1/instances", own, map[string]any{"name": "orders", "engine": "pg",
		"endpoints": []map[string]any{{"host": "db1.example.internal", "port": 5432, "role": "primary"}}}, 201))
	other := decode[client.Instance](t, e.do("POST", "/v1/instances", own, map[string]any{"name": "billing", "engine": "pg"}, 201))
	node := decode[client.Token](t, e.do("POST", "/v1/instances/"+inst.ID+"/node-tokens", own, map[string]any{"name": "orders-1"}, 201)).Secret
	p, q := "/v1/instances/"+inst.ID, "/v1/instances/"+other.ID

	tests := []struct {
		method, path string
		body         any
		want         int
		code         string
	}{
		{"GET", p, nil, 200, ""},
		{"GET", p + "/cas", nil, 200, ""},
		{"GET", p + "/ca-bundle", nil, 200, ""},
		{"POST", p + "/certificates", map[string]any{"csr": csrPEM(t, "db1.example.internal")}, 201, ""},
		{"POST", p + "/certificates", map[string]any{"csr": csrPEM(t, "db9.example.internal")}, 403, "forbidden"},
		{"POST", p + "/certificates", map[string]any{"dns_names": []string{"db1.example.internal"}}, 403, "forbidden"},
		{"GET", q, nil, 404, "not_found"},
		{"GET", q + "/ca-bundle", nil, 404, "not_found"},
		{"POST", q + "/certificates", map[string]any{"csr": csrPEM(t, "db1.example.internal")}, 404, "not_found"},
		{"GET", "/v1/instances", nil, 403, "forbidden"},
		{"GET", p + "/certificates", nil, 403, "forbidden"},
		{"POST", p + "/rotation/start", nil, 403, "forbidden"},
		{"PATCH", p, map[string]any{"endpoints": []map[string]any{{"host": "evil.example", "port": 5432}}}, 403, "forbidden"},
		{"DELETE", p, nil, 403, "forbidden"},
		{"POST", p + "/node-tokens", map[string]any{"name": "more"}, 403, "forbidden"},
		{"GET", "/v1/tokens", nil, 403, "forbidden"},
		{"POST", "/v1/tokens", map[string]any{"name": "x", "role": "viewer"}, 403, "forbidden"},
		{"GET", "/v1/audit", nil, 403, "forbidden"},
	}
	// The agent revokes the certificate it replaced, with reason superseded
	// only, and only its own instance's.
	mine := decode[client.Certificate](t, e.do("POST", p+"/certificates", node, map[string]any{"csr": csrPEM(t, "db1.example.internal")}, 201))
	theirs := decode[client.Certificate](t, e.do("POST", q+"/certificates", own, map[string]any{}, 201))
	tests = append(tests, []struct {
		method, path string
		body         any
		want         int
		code         string
	}{
		{"POST", p + "/certificates/" + mine.Serial + "/revoke", map[string]any{"reason": "key_compromise"}, 403, "forbidden"},
		{"POST", q + "/certificates/" + theirs.Serial + "/revoke", map[string]any{"reason": "superseded"}, 404, "not_found"},
		{"POST", p + "/certificates/" + theirs.Serial + "/revoke", map[string]any{"reason": "superseded"}, 404, "not_found"},
		{"POST", p + "/certificates/" + mine.Serial + "/revoke", map[string]any{"reason": "superseded"}, 200, ""},
	}...)
	for _, tt := range tests {
		body := e.do(tt.method, tt.path, node, tt.body, tt.want)
		if tt.code != "" {
			if got := code(t, body); got != tt.code {
				t.Errorf("%s %s as a node token: code %q, want %q", tt.method, tt.path, got, tt.code)
			}
		}
	}
}
