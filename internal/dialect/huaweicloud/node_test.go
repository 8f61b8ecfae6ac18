package huaweicloud_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/dbtrust/dbtrust"
)

// TestNodeTokenRefused: a node token sent as X-Auth-Token does nothing on
// the Huawei surface, for its own instance or any other: 403 in Huawei's
// shape (APIGW.0302), like any caller whose policy does not allow the action.
func TestNodeTokenRefused(t *testing.T) {
	e := newEnv(t)
	_, node, err := e.svc.CreateNodeToken(context.Background(), dbtrust.Operator(e.a.ID), e.cache.ID, "cache-1")
	must(t, err)
	pa := e.a.ProjectID
	for _, tt := range []struct{ what, method, path string }{
		{"DDS link, own instance", "GET", ddsPath(pa, e.cache.ID)},
		{"DDS link, another instance", "GET", ddsPath(pa, e.pg.ID)},
		{"DCS download, own instance", "POST", dcsPath(pa, e.cache.ID, "/ssl-certs/download")},
		{"DCS SSL detail, own instance", "GET", dcsPath(pa, e.cache.ID, "/ssl")},
		{"DCS SSL switch, own instance", "PUT", dcsPath(pa, e.cache.ID, "/ssl")},
		{"IAM projects", "GET", "/v3/projects"},
	} {
		wantHuaweiError(t, tt.what, e.token(node, tt.method, tt.path, `{"enabled":true}`), 403, "APIGW.0302")
	}
}

// TestDCSSSLDetailNamesEndpoint: DCS's SSL details carry the instance's
// primary endpoint as domain_name and port.
func TestDCSSSLDetailNamesEndpoint(t *testing.T) {
	e := newEnv(t)
	inst, err := e.svc.CreateInstance(context.Background(), dbtrust.Operator(e.a.ID), dbtrust.InstanceSpec{Name: "sessions", Engine: "redis",
		Endpoints: []dbtrust.Endpoint{{Host: "10.0.0.9", Port: 6380}, {Host: "redis1.example.internal", Port: 6379, Role: "primary"}}})
	must(t, err)
	r := e.signed(e.viewer, "GET", dcsPath(e.a.ProjectID, inst.ID, "/ssl"), "")
	var d struct {
		Port       string `json:"port"`
		DomainName string `json:"domain_name"`
	}
	if err := json.Unmarshal(r.body, &d); err != nil || r.status != 200 || d.DomainName != "redis1.example.internal" || d.Port != "6379" {
		t.Fatalf("DCS SSL detail = %d %s, want the primary endpoint redis1.example.internal:6379", r.status, r.body)
	}
}
