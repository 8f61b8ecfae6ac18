package dbtrust_test

import (
	"context"
	"net"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/servicetest"
)

// nodeFixture is a service with two instances, orders (with endpoints
// db1.example.internal and 10.0.0.7) and billing, and a node token of orders.
type nodeFixture struct {
	svc         *dbtrust.Service
	owner       dbtrust.Principal
	inst, other dbtrust.Instance
	tok         dbtrust.Token
	secret      string
}

func newNodeFixture(t *testing.T) nodeFixture {
	t.Helper()
	ctx := context.Background()
	se := servicetest.New(t, dbtrust.Options{})
	f := nodeFixture{svc: se.Service, owner: se.Owner()}
	eps := []dbtrust.Endpoint{{Host: "db1.example.internal", Port: 5432}, {Host: "10.0.0.7", Port: 5432}}
	var err error
	if f.inst, err = f.svc.CreateInstance(ctx, f.owner, dbtrust.InstanceSpec{Name: "orders", Engine: "pg", Endpoints: eps}); err != nil {
		t.Fatal(err)
	}
	if f.other, err = f.svc.CreateInstance(ctx, f.owner, dbtrust.InstanceSpec{Name: "billing", Engine: "pg"}); err != nil {
		t.Fatal(err)
	}
	if f.tok, f.secret, err = f.svc.CreateNodeToken(ctx, f.owner, f.inst.ID, "orders-node-1"); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestNodeTokenScope: a node token reads its own instance and bundle and
// gets certificates for its endpoints from a CSR, and nothing else: other
// instances read as missing, everything else is Forbidden.
func TestNodeTokenScope(t *testing.T) {
	ctx := context.Background()
	f := newNodeFixture(t)
	svc, owner, inst, other, tok, secret := f.svc, f.owner, f.inst, f.other, f.tok, f.secret
	if tok.PrincipalRole() != dbtrust.RoleNode || tok.InstanceID != inst.ID {
		t.Fatalf("CreateNodeToken = %+v, want a node token of %s", tok, inst.ID)
	}
	p, err := svc.Authenticate(ctx, secret)
	if err != nil || p.Role != dbtrust.RoleNode || p.InstanceID != inst.ID {
		t.Fatalf("Authenticate(node token) = %+v, %v", p, err)
	}

	ok := []struct {
		name string
		call func() error
	}{
		{"GetInstance(own)", func() error { _, err := svc.GetInstance(ctx, p, inst.ID); return err }},
		{"InstanceCABundle(own)", func() error { _, err := svc.InstanceCABundle(ctx, p, inst.ID); return err }},
		{"IssueCertificate(own, CSR without names)", func() error {
			_, err := svc.IssueCertificate(ctx, p, inst.ID, dbtrust.IssueRequest{CSRPEM: servicetest.CSRFor(t, "", nil, nil)})
			return err
		}},
		{"IssueCertificate(own, CSR for an endpoint)", func() error {
			_, err := svc.IssueCertificate(ctx, p, inst.ID, dbtrust.IssueRequest{CSRPEM: servicetest.CSRFor(t, "10.0.0.7", nil, []net.IP{net.ParseIP("10.0.0.7")})})
			return err
		}},
	}
	for _, tt := range ok {
		if err := tt.call(); err != nil {
			t.Errorf("%s as the node token = %v, want nil", tt.name, err)
		}
	}
	refused := []struct {
		name string
		call func() error
		want dbtrust.Code
	}{
		{"GetInstance(other)", func() error { _, err := svc.GetInstance(ctx, p, other.ID); return err }, dbtrust.NotFound},
		{"InstanceCABundle(other)", func() error { _, err := svc.InstanceCABundle(ctx, p, other.ID); return err }, dbtrust.NotFound},
		{"IssueCertificate(other)", func() error {
			_, err := svc.IssueCertificate(ctx, p, other.ID, dbtrust.IssueRequest{CSRPEM: servicetest.CSRFor(t, "", nil, nil)})
			return err
		}, dbtrust.NotFound},
		{"IssueCertificate(own, name outside the endpoints)", func() error {
			_, err := svc.IssueCertificate(ctx, p, inst.ID, dbtrust.IssueRequest{CSRPEM: servicetest.CSRFor(t, "", []string{"db1.example.internal", "evil.example"}, nil)})
			return err
		}, dbtrust.Forbidden},
		{"IssueCertificate(own, explicit IP outside the endpoints)", func() error {
			_, err := svc.IssueCertificate(ctx, p, inst.ID, dbtrust.IssueRequest{CSRPEM: servicetest.CSRFor(t, "", nil, nil), IPs: []string{"10.0.0.8"}})
			return err
		}, dbtrust.Forbidden},
		{"IssueCertificate(own, common name outside the endpoints)", func() error {
			_, err := svc.IssueCertificate(ctx, p, inst.ID, dbtrust.IssueRequest{CSRPEM: servicetest.CSRFor(t, "evil.example", []string{"db1.example.internal"}, nil)})
			return err
		}, dbtrust.Forbidden},
		{"IssueCertificate(own, generated key)", func() error {
			_, err := svc.IssueCertificate(ctx, p, inst.ID, dbtrust.IssueRequest{})
			return err
		}, dbtrust.Forbidden},
		{"ListInstances", func() error { _, err := svc.ListInstances(ctx, p, ""); return err }, dbtrust.Forbidden},
		{"ListIssuedCertificates(own)", func() error { _, err := svc.ListIssuedCertificates(ctx, p, inst.ID); return err }, dbtrust.Forbidden},
		{"RotateStart(own)", func() error { _, err := svc.RotateStart(ctx, p, inst.ID, ""); return err }, dbtrust.Forbidden},
		{"UpdateInstance(own)", func() error { _, err := svc.UpdateInstance(ctx, p, inst.ID, dbtrust.InstanceUpdate{}); return err }, dbtrust.Forbidden},
		{"DeleteInstance(own)", func() error { return svc.DeleteInstance(ctx, p, inst.ID) }, dbtrust.Forbidden},
		{"CreateNodeToken(own)", func() error { _, _, err := svc.CreateNodeToken(ctx, p, inst.ID, "x"); return err }, dbtrust.Forbidden},
		{"ListTokens", func() error { _, err := svc.ListTokens(ctx, p); return err }, dbtrust.Forbidden},
		{"Audit", func() error { _, err := svc.Audit(ctx, p, dbtrust.AuditFilter{Limit: 10}); return err }, dbtrust.Forbidden},
		{"AccountOf", func() error { _, err := svc.AccountOf(ctx, p); return err }, dbtrust.Forbidden},
	}
	for _, tt := range refused {
		if err := tt.call(); dbtrust.ErrorCode(err) != tt.want {
			t.Errorf("%s as the node token = %v, want %s", tt.name, err, tt.want)
		}
	}

	// The token goes with its instance.
	if err := svc.DeleteInstance(ctx, owner, inst.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, secret); dbtrust.ErrorCode(err) != dbtrust.Unauthorized {
		t.Fatalf("Authenticate(node token of a deleted instance) = %v, want Unauthorized", err)
	}
}

// TestNodeTokenRevoke: a node token revokes a certificate its node replaced
// (its own instance's, naming only its endpoints) with reason superseded,
// and nothing else: another reason or a certificate naming other hosts is
// Forbidden, another instance's certificate NotFound, twice Conflict.
func TestNodeTokenRevoke(t *testing.T) {
	ctx := context.Background()
	f := newNodeFixture(t)
	svc, owner, inst, other := f.svc, f.owner, f.inst, f.other
	p, err := svc.Authenticate(ctx, f.secret)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(who dbtrust.Principal, instanceID string, req dbtrust.IssueRequest) string {
		t.Helper()
		c, err := svc.IssueCertificate(ctx, who, instanceID, req)
		if err != nil {
			t.Fatal(err)
		}
		return c.Serial
	}
	csr := func() dbtrust.IssueRequest { return dbtrust.IssueRequest{CSRPEM: servicetest.CSRFor(t, "", nil, nil)} }
	byNode, byNode2 := issue(p, inst.ID, csr()), issue(p, inst.ID, csr())
	byOwner := issue(owner, inst.ID, dbtrust.IssueRequest{})                                                            // the endpoints' names: the node may revoke it
	wider := issue(owner, inst.ID, dbtrust.IssueRequest{DNSNames: []string{"db1.example.internal", "reports.example"}}) // names more than the endpoints
	otherInst := issue(owner, other.ID, dbtrust.IssueRequest{})

	tests := []struct {
		name             string
		instance, serial string
		reason           string
		want             dbtrust.Code // "" for success
	}{
		{"own, issued to the node, superseded", inst.ID, byNode, "superseded", ""},
		{"own, issued to the node, twice", inst.ID, byNode, "superseded", dbtrust.Conflict},
		{"own, issued by the owner for the endpoints", inst.ID, byOwner, "superseded", ""},
		{"own, key_compromise", inst.ID, byNode2, "key_compromise", dbtrust.Forbidden},
		{"own, no reason (unspecified)", inst.ID, byNode2, "", dbtrust.Forbidden},
		{"own, naming a host outside the endpoints", inst.ID, wider, "superseded", dbtrust.Forbidden},
		{"another instance's certificate", other.ID, otherInst, "superseded", dbtrust.NotFound},
		{"another instance's certificate through its own", inst.ID, otherInst, "superseded", dbtrust.NotFound},
	}
	for _, tt := range tests {
		_, err := svc.RevokeIssuedCertificate(ctx, p, tt.instance, tt.serial, tt.reason)
		if got := dbtrust.ErrorCode(err); err != nil && got != tt.want || err == nil && tt.want != "" {
			t.Errorf("%s: RevokeIssuedCertificate as the node token = %v, want %q", tt.name, err, tt.want)
		}
	}
	// What was refused stays unrevoked.
	for _, c := range []struct{ instance, serial string }{{inst.ID, byNode2}, {inst.ID, wider}, {other.ID, otherInst}} {
		got, err := svc.GetIssuedCertificate(ctx, owner, c.instance, c.serial)
		if err != nil || got.RevokedAt != nil {
			t.Errorf("certificate %s after refused revocations: revoked at %v, %v; want unrevoked", c.serial, got.RevokedAt, err)
		}
	}
}
