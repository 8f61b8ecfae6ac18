package astra_test

import (
	"context"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
)

// TestNodeTokenRefused: a node token reads and changes nothing on the Astra
// surface (the account's certificates include every instance's CAs, and its
// credentials are secrets): 403, problem 11, on every collection.
func TestNodeTokenRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	inst, err := e.svc.CreateInstance(ctx, dbtrust.Operator(e.acct.ID), dbtrust.InstanceSpec{Name: "orders", Engine: "pg"})
	if err != nil {
		t.Fatal(err)
	}
	_, node, err := e.svc.CreateNodeToken(ctx, dbtrust.Operator(e.acct.ID), inst.ID, "orders-1")
	if err != nil {
		t.Fatal(err)
	}
	c := e.mustCreate("credentials", credBody("db-password", map[string]string{"k": "dg=="}))
	for _, tt := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/certificates", nil},
		{"GET", "/credentials", nil},
		{"GET", "/credentials/" + c.ID, nil},
		{"DELETE", "/credentials/" + c.ID, nil},
		{"POST", "/credentials", credBody("mine", map[string]string{"k": "dg=="})},
		{"POST", "/certificates", certBody(newCertPEM(t, "node.example.com", e.now().Add(24*time.Hour)))},
	} {
		r := e.do(req{method: tt.method, path: tt.path, body: tt.body, token: node})
		if r.status != 403 || r.problem != 11 {
			t.Errorf("%s %s as a node token = %d problem %d, want 403 problem 11", tt.method, tt.path, r.status, r.problem)
		}
	}
}
