package dbtrust_test

import (
	"context"
	"crypto/x509"
	"reflect"
	"strings"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/pki"
	"github.com/dbtrust/dbtrust/internal/servicetest"
)

func TestParseEndpoint(t *testing.T) {
	tests := []struct {
		in   string
		want dbtrust.Endpoint
		ok   bool
	}{
		{"db1.example.internal:5432", dbtrust.Endpoint{Host: "db1.example.internal", Port: 5432}, true},
		{"DB1.Example.Internal.:5432,role=primary", dbtrust.Endpoint{Host: "db1.example.internal", Port: 5432, Role: "primary"}, true},
		{"10.0.0.7:6379,role=node-1", dbtrust.Endpoint{Host: "10.0.0.7", Port: 6379, Role: "node-1"}, true},
		{"[2001:DB8::1]:27017", dbtrust.Endpoint{Host: "2001:db8::1", Port: 27017}, true},
		{"localhost:65535", dbtrust.Endpoint{Host: "localhost", Port: 65535}, true},
		{"db1.example.internal", dbtrust.Endpoint{}, false},                    // no port
		{"db1.example.internal:0", dbtrust.Endpoint{}, false},                  // port 0
		{"db1.example.internal:65536", dbtrust.Endpoint{}, false},              // port over 65535
		{"db1.example.internal:-1", dbtrust.Endpoint{}, false},                 // negative port
		{"db1.example.internal:pg", dbtrust.Endpoint{}, false},                 // named port
		{":5432", dbtrust.Endpoint{}, false},                                   // no host
		{"db_1.example:5432", dbtrust.Endpoint{}, false},                       // underscore
		{"*.example.internal:5432", dbtrust.Endpoint{}, false},                 // wildcard
		{"300.1.1.1:5432", dbtrust.Endpoint{}, false},                          // neither a name nor an address
		{"-db.example:5432", dbtrust.Endpoint{}, false},                        // label starts with '-'
		{"db.example:5432,primary", dbtrust.Endpoint{}, false},                 // role without role=
		{"db.example:5432,role=Primary!", dbtrust.Endpoint{}, false},           // bad role
		{"2001:db8::1:5432", dbtrust.Endpoint{}, false},                        // IPv6 without brackets
		{strings.Repeat("a", 64) + ".example:5432", dbtrust.Endpoint{}, false}, // label too long
	}
	for _, tt := range tests {
		got, err := dbtrust.ParseEndpoint(tt.in)
		if tt.ok && (err != nil || got != tt.want) {
			t.Errorf("ParseEndpoint(%q) = %+v, %v; want %+v, nil", tt.in, got, err, tt.want)
		}
		if !tt.ok && (dbtrust.ErrorCode(err) != dbtrust.Invalid || dbtrust.ErrorField(err) != "endpoints") {
			t.Errorf("ParseEndpoint(%q) = %+v, %v; want an Invalid error on endpoints", tt.in, got, err)
		}
	}
}

func TestCheckEndpointsDuplicates(t *testing.T) {
	_, err := dbtrust.CheckEndpoints([]dbtrust.Endpoint{{Host: "db.example", Port: 5432}, {Host: "DB.example", Port: 5432, Role: "replica"}})
	if dbtrust.ErrorCode(err) != dbtrust.Invalid {
		t.Fatalf("CheckEndpoints(same host:port twice) = %v, want Invalid", err)
	}
	many := make([]dbtrust.Endpoint, dbtrust.MaxEndpoints+1)
	for i := range many {
		many[i] = dbtrust.Endpoint{Host: "db.example", Port: 1000 + i}
	}
	if _, err := dbtrust.CheckEndpoints(many); dbtrust.ErrorCode(err) != dbtrust.Invalid {
		t.Fatalf("CheckEndpoints(%d endpoints) = %v, want Invalid", len(many), err)
	}
}

// TestEndpointsDriveSANsAndRecipes: a certificate issued with no names
// passes hostname verification on every endpoint, an explicit list still
// wins, recipes name the primary, and bad endpoints write nothing.
func TestEndpointsDriveSANsAndRecipes(t *testing.T) {
	ctx := context.Background()
	se := servicetest.New(t, dbtrust.Options{})
	svc, p := se.Service, se.Owner()
	eps := []dbtrust.Endpoint{{Host: "db2.example.internal", Port: 5433, Role: "replica"}, {Host: "db1.example.internal", Port: 5432, Role: "primary"}, {Host: "10.1.2.3", Port: 5432}}
	inst, err := svc.CreateInstance(ctx, p, dbtrust.InstanceSpec{Name: "orders", Engine: "pg", Endpoints: eps})
	if err != nil {
		t.Fatal(err)
	}
	if got := svc.InstanceEndpoint(inst); got != eps[1] {
		t.Fatalf("InstanceEndpoint = %+v, want the primary %+v", got, eps[1])
	}
	c, err := svc.IssueCertificate(ctx, p, inst.ID, dbtrust.IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	leaf := parseLeaf(t, c.CertPEM)
	for _, e := range eps {
		if err := leaf.VerifyHostname(e.Host); err != nil {
			t.Errorf("default certificate VerifyHostname(%q) = %v, want nil", e.Host, err)
		}
	}
	explicit, err := svc.IssueCertificate(ctx, p, inst.ID, dbtrust.IssueRequest{DNSNames: []string{"other.example"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := parseLeaf(t, explicit.CertPEM).DNSNames; !reflect.DeepEqual(got, []string{"other.example"}) {
		t.Fatalf("explicit SANs = %v, want [other.example]", got)
	}
	_, rs, err := svc.ConnectionRecipes(ctx, p, inst.ID, "ca.pem")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rs[0].Command, "host=db1.example.internal port=5432 ") {
		t.Fatalf("psql recipe %q does not name the primary endpoint", rs[0].Command)
	}

	// Bad endpoints: nothing written, at creation or at update.
	_, err = svc.CreateInstance(ctx, p, dbtrust.InstanceSpec{Name: "bad", Engine: "pg", Endpoints: []dbtrust.Endpoint{{Host: "db.example", Port: 0}}})
	if dbtrust.ErrorCode(err) != dbtrust.Invalid {
		t.Fatalf("CreateInstance(port 0) = %v, want Invalid", err)
	}
	if list, _ := svc.ListInstances(ctx, p, ""); len(list) != 1 {
		t.Fatalf("a refused create left %d instances, want 1", len(list))
	}
	bad := []dbtrust.Endpoint{{Host: "ok.example", Port: 5432}, {Host: "not a host", Port: 5432}}
	if _, err := svc.UpdateInstance(ctx, p, inst.ID, dbtrust.InstanceUpdate{Endpoints: &bad}); dbtrust.ErrorCode(err) != dbtrust.Invalid {
		t.Fatalf("UpdateInstance(bad host) = %v, want Invalid", err)
	}
	got, _ := svc.GetInstance(ctx, p, inst.ID)
	if !reflect.DeepEqual(got.Endpoints, eps) {
		t.Fatalf("a refused update changed the endpoints to %+v", got.Endpoints)
	}

	// Clearing brings back the generated default, which certificates then name.
	none := []dbtrust.Endpoint{}
	got, err = svc.UpdateInstance(ctx, p, inst.ID, dbtrust.InstanceUpdate{Endpoints: &none})
	if err != nil {
		t.Fatal(err)
	}
	def := svc.InstanceEndpoints(got)
	if len(def) != 1 || !strings.HasPrefix(def[0].Host, "orders-") || def[0].Port != dbtrust.Engines[dbtrust.EnginePostgres].Port {
		t.Fatalf("InstanceEndpoints after clearing = %+v, want the generated default", def)
	}
	c, err = svc.IssueCertificate(ctx, p, inst.ID, dbtrust.IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if err := parseLeaf(t, c.CertPEM).VerifyHostname(def[0].Host); err != nil {
		t.Fatalf("default certificate after clearing: VerifyHostname(%q) = %v", def[0].Host, err)
	}
}

func parseLeaf(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	certs, err := pki.ParseCertsPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	return certs[0]
}
