package dbtrust_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/pki"
	"github.com/dbtrust/dbtrust/internal/seal"
	"github.com/dbtrust/dbtrust/internal/sqlite"
)

// env is a Service over a real SQLite file in a temporary folder.
type env struct {
	svc    *dbtrust.Service
	store  *sqlite.Store
	sealer *seal.AESGCM
	path   string
}

func newEnv(t *testing.T, opt dbtrust.Options) *env {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dbtrust.db")
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("sqlite.Open(%q) = %v, want nil", path, err)
	}
	t.Cleanup(func() { st.Close() })
	kek, err := seal.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := seal.New(kek)
	if err != nil {
		t.Fatal(err)
	}
	return &env{svc: dbtrust.NewService(st, sealer, opt), store: st, sealer: sealer, path: path}
}

// account creates an account and returns the Principal of its owner token.
func (e *env) account(t *testing.T, name string) (dbtrust.Account, dbtrust.Principal, string) {
	t.Helper()
	ctx := context.Background()
	a, token, err := e.svc.CreateAccount(ctx, name)
	if err != nil {
		t.Fatalf("CreateAccount(%q) = %v, want nil", name, err)
	}
	p, err := e.svc.Authenticate(ctx, token)
	if err != nil {
		t.Fatalf("Authenticate(owner token of %q) = %v, want nil", name, err)
	}
	if p.AccountID != a.ID || p.Role != dbtrust.RoleOwner {
		t.Fatalf("Authenticate(owner token of %q) = %+v, want account %s, role owner", name, p, a.ID)
	}
	return a, p, token
}

// principal mints a token of role in p's account and authenticates it.
func (e *env) principal(t *testing.T, p dbtrust.Principal, role dbtrust.Role) (dbtrust.Principal, dbtrust.Token, string) {
	t.Helper()
	ctx := context.Background()
	tok, full, err := e.svc.CreateToken(ctx, p, "t-"+string(role)+"-"+time.Now().Format("150405.000000000"), role)
	if err != nil {
		t.Fatalf("CreateToken(%q) = %v, want nil", role, err)
	}
	q, err := e.svc.Authenticate(ctx, full)
	if err != nil || q.Role != role || q.AccountID != p.AccountID {
		t.Fatalf("Authenticate(%s token) = %+v, %v, want role %s in account %s", role, q, err, role, p.AccountID)
	}
	return q, tok, full
}

func (e *env) instance(t *testing.T, p dbtrust.Principal, spec dbtrust.InstanceSpec) dbtrust.Instance {
	t.Helper()
	inst, err := e.svc.CreateInstance(context.Background(), p, spec)
	if err != nil {
		t.Fatalf("CreateInstance(%+v) = %v, want nil", spec, err)
	}
	return inst
}

func expectCode(t *testing.T, what string, err error, want dbtrust.Code) {
	t.Helper()
	if got := dbtrust.ErrorCode(err); got != want {
		t.Errorf("%s = %v (code %q), want code %q", what, err, got, want)
	}
}

const missingID = "5b2c8f62-3f0e-4a7e-9d59-0c1b6f1e2a33"

func TestRoles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, dbtrust.Options{})
	_, owner, _ := e.account(t, "roles")
	inst := e.instance(t, owner, dbtrust.InstanceSpec{Name: "shared", Engine: "pg"})
	roles := map[dbtrust.Role]dbtrust.Principal{dbtrust.RoleOwner: owner}
	for _, r := range []dbtrust.Role{dbtrust.RoleViewer, dbtrust.RoleMember, dbtrust.RoleAdmin} {
		roles[r], _, _ = e.principal(t, owner, r)
	}
	roles["none"] = dbtrust.Principal{AccountID: owner.AccountID, Subject: "token:x"}

	type action struct {
		name string
		min  dbtrust.Role
		do   func(p dbtrust.Principal) error
	}
	n := 0
	actions := []action{
		{"GetInstance", dbtrust.RoleViewer, func(p dbtrust.Principal) error {
			_, err := e.svc.GetInstance(ctx, p, inst.ID)
			return err
		}},
		{"ListInstances", dbtrust.RoleViewer, func(p dbtrust.Principal) error {
			_, err := e.svc.ListInstances(ctx, p, "")
			return err
		}},
		{"InstanceCABundle", dbtrust.RoleViewer, func(p dbtrust.Principal) error {
			_, err := e.svc.InstanceCABundle(ctx, p, inst.ID)
			return err
		}},
		{"CreateInstance", dbtrust.RoleMember, func(p dbtrust.Principal) error {
			n++
			_, err := e.svc.CreateInstance(ctx, p, dbtrust.InstanceSpec{Name: "db-" + string(rune('a'+n)), Engine: "redis"})
			return err
		}},
		{"IssueCertificate", dbtrust.RoleMember, func(p dbtrust.Principal) error {
			_, err := e.svc.IssueCertificate(ctx, p, inst.ID, dbtrust.IssueRequest{})
			return err
		}},
		{"DeleteInstance", dbtrust.RoleMember, func(p dbtrust.Principal) error {
			n++
			victim, err := e.svc.CreateInstance(ctx, owner, dbtrust.InstanceSpec{Name: "victim-" + string(rune('a'+n)), Engine: "pg"})
			if err != nil {
				t.Fatal(err)
			}
			return e.svc.DeleteInstance(ctx, p, victim.ID)
		}},
		{"SetInstanceTLS", dbtrust.RoleAdmin, func(p dbtrust.Principal) error {
			return e.svc.SetInstanceTLS(ctx, p, inst.ID, true)
		}},
		{"ListTokens", dbtrust.RoleAdmin, func(p dbtrust.Principal) error {
			_, err := e.svc.ListTokens(ctx, p)
			return err
		}},
		{"CreateToken viewer", dbtrust.RoleAdmin, func(p dbtrust.Principal) error {
			_, _, err := e.svc.CreateToken(ctx, p, "made-by-"+string(p.Role), dbtrust.RoleViewer)
			return err
		}},
		{"CreateToken admin", dbtrust.RoleAdmin, func(p dbtrust.Principal) error {
			_, _, err := e.svc.CreateToken(ctx, p, "admin-by-"+string(p.Role), dbtrust.RoleAdmin)
			return err
		}},
		{"CreateToken owner", dbtrust.RoleOwner, func(p dbtrust.Principal) error {
			_, _, err := e.svc.CreateToken(ctx, p, "owner-by-"+string(p.Role), dbtrust.RoleOwner)
			return err
		}},
		{"RevokeToken", dbtrust.RoleAdmin, func(p dbtrust.Principal) error {
			tok, _, err := e.svc.CreateToken(ctx, owner, "to-revoke", dbtrust.RoleViewer)
			if err != nil {
				t.Fatal(err)
			}
			return e.svc.RevokeToken(ctx, p, tok.ID)
		}},
		{"RevokeToken of an owner", dbtrust.RoleOwner, func(p dbtrust.Principal) error {
			tok, _, err := e.svc.CreateToken(ctx, owner, "owner-to-revoke", dbtrust.RoleOwner)
			if err != nil {
				t.Fatal(err)
			}
			return e.svc.RevokeToken(ctx, p, tok.ID)
		}},
		{"Audit", dbtrust.RoleAdmin, func(p dbtrust.Principal) error {
			_, err := e.svc.Audit(ctx, p, dbtrust.AuditFilter{Limit: 10})
			return err
		}},
	}
	// Not parallel: the actions share one store and one counter.
	for _, a := range actions {
		for _, r := range []dbtrust.Role{"none", dbtrust.RoleViewer, dbtrust.RoleMember, dbtrust.RoleAdmin, dbtrust.RoleOwner} {
			want := dbtrust.Code("")
			if !r.AtLeast(a.min) {
				want = dbtrust.Forbidden
			}
			expectCode(t, a.name+" as "+string(r), a.do(roles[r]), want)
		}
	}
	// A principal with no account can do nothing, whatever its role.
	noAccount := dbtrust.Principal{Role: dbtrust.RoleOwner, Subject: "token:y"}
	_, err := e.svc.ListInstances(ctx, noAccount, "")
	expectCode(t, "ListInstances(no account)", err, dbtrust.Forbidden)
	_, err = e.svc.CreateInstance(ctx, noAccount, dbtrust.InstanceSpec{Name: "orphan", Engine: "pg"})
	expectCode(t, "CreateInstance(no account)", err, dbtrust.Forbidden)
	_, _, err = e.svc.CreateToken(ctx, owner, "bad role", dbtrust.Role("root"))
	expectCode(t, "CreateToken(role root)", err, dbtrust.Invalid)
	if got := dbtrust.ErrorField(err); got != "role" {
		t.Errorf("ErrorField(CreateToken(role root)) = %q, want %q", got, "role")
	}
	_, _, err = e.svc.CreateToken(ctx, owner, "", dbtrust.RoleViewer)
	if dbtrust.ErrorCode(err) != dbtrust.Invalid || dbtrust.ErrorField(err) != "name" {
		t.Errorf("CreateToken(name %q) = %v, want Invalid on field name", "", err)
	}
}

func TestCreateInstanceValidation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, dbtrust.Options{})
	_, p, _ := e.account(t, "validation")
	tooManyTags := make([]string, 51)
	for i := range tooManyTags {
		tooManyTags[i] = "t" + strings.Repeat("x", i)
	}
	tests := []struct {
		name      string
		spec      dbtrust.InstanceSpec
		wantField string
	}{
		{"empty name", dbtrust.InstanceSpec{Engine: "pg"}, "name"},
		{"upper-case name", dbtrust.InstanceSpec{Name: "Orders", Engine: "pg"}, "name"},
		{"name with underscore", dbtrust.InstanceSpec{Name: "my_db", Engine: "pg"}, "name"},
		{"name with dot", dbtrust.InstanceSpec{Name: "my.db", Engine: "pg"}, "name"},
		{"name starting with dash", dbtrust.InstanceSpec{Name: "-db", Engine: "pg"}, "name"},
		{"name ending with dash", dbtrust.InstanceSpec{Name: "db-", Engine: "pg"}, "name"},
		{"name of 64 characters", dbtrust.InstanceSpec{Name: strings.Repeat("a", 64), Engine: "pg"}, "name"},
		{"name with a slash", dbtrust.InstanceSpec{Name: "a/../b", Engine: "pg"}, "name"},
		{"name with a newline", dbtrust.InstanceSpec{Name: "db\n", Engine: "pg"}, "name"},
		{"unknown engine", dbtrust.InstanceSpec{Name: "db", Engine: "oracle"}, "engine"},
		{"engine spelled out", dbtrust.InstanceSpec{Name: "db", Engine: "postgres"}, "engine"},
		{"engine in capitals", dbtrust.InstanceSpec{Name: "db", Engine: "PG"}, "engine"},
		{"no engine", dbtrust.InstanceSpec{Name: "db"}, "engine"},
		{"version with a v", dbtrust.InstanceSpec{Name: "db", Engine: "pg", Version: "v16"}, "version"},
		{"version in words", dbtrust.InstanceSpec{Name: "db", Engine: "pg", Version: "latest"}, "version"},
		{"version with four parts", dbtrust.InstanceSpec{Name: "db", Engine: "pg", Version: "1.2.3.4"}, "version"},
		{"version with a trailing dot", dbtrust.InstanceSpec{Name: "db", Engine: "pg", Version: "16."}, "version"},
		{"bad region", dbtrust.InstanceSpec{Name: "db", Engine: "pg", Region: "NYC 1"}, "region"},
		{"bad size", dbtrust.InstanceSpec{Name: "db", Engine: "pg", Size: "huge!"}, "size"},
		{"negative num_nodes", dbtrust.InstanceSpec{Name: "db", Engine: "pg", NumNodes: -1}, "num_nodes"},
		{"17 nodes", dbtrust.InstanceSpec{Name: "db", Engine: "pg", NumNodes: 17}, "num_nodes"},
		{"empty tag", dbtrust.InstanceSpec{Name: "db", Engine: "pg", Tags: []string{""}}, "tags"},
		{"tag with a space", dbtrust.InstanceSpec{Name: "db", Engine: "pg", Tags: []string{"has space"}}, "tags"},
		{"tag of 256 characters", dbtrust.InstanceSpec{Name: "db", Engine: "pg", Tags: []string{strings.Repeat("t", 256)}}, "tags"},
		{"51 tags", dbtrust.InstanceSpec{Name: "db", Engine: "pg", Tags: tooManyTags}, "tags"},
		{"unknown key type", dbtrust.InstanceSpec{Name: "db", Engine: "pg", CAKeyType: "rsa-1024"}, "ca_key_type"},
		{"ed25519 key type", dbtrust.InstanceSpec{Name: "db", Engine: "pg", CAKeyType: "ed25519"}, "ca_key_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			inst, err := e.svc.CreateInstance(ctx, p, tt.spec)
			if dbtrust.ErrorCode(err) != dbtrust.Invalid || dbtrust.ErrorField(err) != tt.wantField {
				t.Errorf("CreateInstance(%s) = %+v, %v (field %q), want Invalid on field %q", tt.name, inst, err, dbtrust.ErrorField(err), tt.wantField)
			}
			if err != nil && (dbtrust.ErrorMessage(err) == "" || dbtrust.ErrorMessage(err) == "internal error") {
				t.Errorf("ErrorMessage(CreateInstance(%s)) = %q, want a client-safe explanation", tt.name, dbtrust.ErrorMessage(err))
			}
		})
	}
	t.Cleanup(func() {
		// Nothing was written: no instance, no CA, no audit of a creation.
		list, err := e.svc.ListInstances(ctx, p, "")
		if err != nil || len(list) != 0 {
			t.Errorf("ListInstances after invalid creations = %d instances, %v, want none", len(list), err)
		}
		events, err := e.svc.Audit(ctx, p, dbtrust.AuditFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range events {
			if ev.Action == "instance.create" {
				t.Errorf("audit after invalid creations holds %+v, want no instance.create", ev)
			}
		}
	})
}

func TestCreateInstanceDefaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, dbtrust.Options{CAValidity: 48 * time.Hour})
	_, p, _ := e.account(t, "defaults")
	off := false
	tests := []struct {
		spec      dbtrust.InstanceSpec
		want      dbtrust.Instance
		wantKey   string
		wantCurve string
	}{
		{dbtrust.InstanceSpec{Name: "a", Engine: "pg"},
			dbtrust.Instance{Name: "a", Engine: "pg", Version: "16", Region: "local", Size: "db-s-1vcpu-1gb", NumNodes: 1, TLS: true}, "ecdsa-p256", ""},
		{dbtrust.InstanceSpec{Name: strings.Repeat("b", 63), Engine: "redis", Version: "7.2", Region: "nyc1", Size: "db-s-2vcpu-4gb", NumNodes: 16, Tags: []string{"prod", "prod", "env:x"}, TLS: &off, CAKeyType: "ecdsa-p384"},
			dbtrust.Instance{Name: strings.Repeat("b", 63), Engine: "redis", Version: "7.2", Region: "nyc1", Size: "db-s-2vcpu-4gb", NumNodes: 16, Tags: []string{"prod", "env:x"}, TLS: false}, "ecdsa-p384", ""},
		{dbtrust.InstanceSpec{Name: "c", Engine: "mysql", CAKeyType: "rsa-3072"},
			dbtrust.Instance{Name: "c", Engine: "mysql", Version: "8", Region: "local", Size: "db-s-1vcpu-1gb", NumNodes: 1, TLS: true}, "rsa-3072", ""},
	}
	for _, tt := range tests {
		got := e.instance(t, p, tt.spec)
		if got.Name != tt.want.Name || got.Engine != tt.want.Engine || got.Version != tt.want.Version || got.Region != tt.want.Region ||
			got.Size != tt.want.Size || got.NumNodes != tt.want.NumNodes || got.TLS != tt.want.TLS || !slices.Equal(got.Tags, tt.want.Tags) {
			t.Errorf("CreateInstance(%+v) = %+v, want %+v", tt.spec, got, tt.want)
		}
		stored, err := e.svc.GetInstance(ctx, p, got.ID)
		if err != nil || stored.Name != got.Name || stored.AccountID != p.AccountID || !slices.Equal(stored.Tags, tt.want.Tags) {
			t.Errorf("GetInstance(%q) = %+v, %v, want the created instance", got.ID, stored, err)
		}
		cas, err := e.svc.InstanceCAs(ctx, p, got.ID)
		if err != nil || len(cas) != 1 {
			t.Fatalf("InstanceCAs(%q) = %d CAs, %v, want 1", got.ID, len(cas), err)
		}
		ca := cas[0]
		if ca.State != dbtrust.CACurrent || ca.KeyType != tt.wantKey || ca.InstanceID != got.ID {
			t.Errorf("InstanceCAs(%q)[0] = state %q key %q instance %q, want current, %q, %q", got.ID, ca.State, ca.KeyType, ca.InstanceID, tt.wantKey, got.ID)
		}
		certs, err := pki.ParseCertsPEM(ca.CertPEM)
		if err != nil {
			t.Fatal(err)
		}
		c := certs[0]
		if kt, _ := pki.KeyTypeOf(c.PublicKey); string(kt) != tt.wantKey {
			t.Errorf("CA certificate of %q key type = %q, want %q", got.Name, kt, tt.wantKey)
		}
		if !c.IsCA || !strings.HasPrefix(c.Subject.CommonName, got.Name+" CA") || !slices.Contains(c.Subject.OrganizationalUnit, "instance "+got.ID) {
			t.Errorf("CA certificate of %q: IsCA %v, subject %q, want a CA naming the instance", got.Name, c.IsCA, c.Subject)
		}
		if d := c.NotAfter.Sub(c.NotBefore); d < 48*time.Hour || d > 48*time.Hour+2*time.Minute {
			t.Errorf("CA certificate of %q validity = %v, want 48h (Options.CAValidity)", got.Name, d)
		}
		if ca.Fingerprint != pki.Fingerprint(c.Raw) || ca.Serial != c.SerialNumber.Text(16) {
			t.Errorf("CA record of %q fingerprint/serial = %s/%s, want %s/%s", got.Name, ca.Fingerprint, ca.Serial, pki.Fingerprint(c.Raw), c.SerialNumber.Text(16))
		}
	}
	_, err := e.svc.CreateInstance(ctx, p, dbtrust.InstanceSpec{Name: "a", Engine: "mysql"})
	expectCode(t, "CreateInstance(duplicate name)", err, dbtrust.Conflict)
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, dbtrust.Options{})
	a, owner, ownerToken := e.account(t, "auth")
	_, revoked, revokedFull := e.principal(t, owner, dbtrust.RoleViewer)
	if err := e.svc.RevokeToken(ctx, owner, revoked.ID); err != nil {
		t.Fatalf("RevokeToken(%q) = %v, want nil", revoked.ID, err)
	}
	id, secret, _ := strings.Cut(strings.TrimPrefix(ownerToken, dbtrust.TokenPrefix), "_")
	otherSecret := []byte(secret)
	otherSecret[0] ^= 1 // still base64url, but not the secret
	tests := []struct {
		name  string
		token string
	}{
		{"empty", ""},
		{"garbage", "hello"},
		{"prefix only", dbtrust.TokenPrefix},
		{"no separator", dbtrust.TokenPrefix + id + secret},
		{"short ID", dbtrust.TokenPrefix + id[:15] + "_" + secret},
		{"short secret", dbtrust.TokenPrefix + id + "_" + secret[:42]},
		{"long secret", dbtrust.TokenPrefix + id + "_" + secret + "A"},
		{"wrong prefix", "dbx_" + id + "_" + secret},
		{"wrong secret", dbtrust.TokenPrefix + id + "_" + string(otherSecret)},
		{"unknown ID", dbtrust.TokenPrefix + "0123456789abcdef_" + secret},
		{"revoked", revokedFull},
		{"with a space", " " + ownerToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := e.svc.Authenticate(ctx, tt.token)
			expectCode(t, "Authenticate("+tt.name+")", err, dbtrust.Unauthorized)
			if p != (dbtrust.Principal{}) {
				t.Errorf("Authenticate(%s) = %+v, want the zero Principal", tt.name, p)
			}
		})
	}
	p, err := e.svc.Authenticate(ctx, ownerToken)
	if err != nil || p.AccountID != a.ID || p.Role != dbtrust.RoleOwner || p.Subject != "token:"+id {
		t.Errorf("Authenticate(owner token) = %+v, %v, want account %s, owner, token:%s", p, err, a.ID, id)
	}
}

// TestOtherAccountsAreNotFound checks that another account's instance reads
// exactly like one that does not exist.
func TestOtherAccountsAreNotFound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, dbtrust.Options{})
	_, alice, _ := e.account(t, "alice")
	_, bob, _ := e.account(t, "bob")
	inst := e.instance(t, alice, dbtrust.InstanceSpec{Name: "private", Engine: "pg", Tags: []string{"secret"}})
	aliceTok, _, _ := e.svc.CreateToken(ctx, alice, "alice-ci", dbtrust.RoleViewer)

	calls := []struct {
		name string
		do   func(id string) error
	}{
		{"GetInstance", func(id string) error { _, err := e.svc.GetInstance(ctx, bob, id); return err }},
		{"InstanceCAs", func(id string) error { _, err := e.svc.InstanceCAs(ctx, bob, id); return err }},
		{"InstanceCABundle", func(id string) error { _, err := e.svc.InstanceCABundle(ctx, bob, id); return err }},
		{"IssueCertificate", func(id string) error {
			_, err := e.svc.IssueCertificate(ctx, bob, id, dbtrust.IssueRequest{})
			return err
		}},
		{"SetInstanceTLS", func(id string) error { return e.svc.SetInstanceTLS(ctx, bob, id, false) }},
		{"DeleteInstance", func(id string) error { return e.svc.DeleteInstance(ctx, bob, id) }},
	}
	for _, c := range calls {
		other, missing := c.do(inst.ID), c.do(missingID)
		if dbtrust.ErrorCode(other) != dbtrust.NotFound || dbtrust.ErrorCode(missing) != dbtrust.NotFound {
			t.Errorf("%s(other account's, missing) = %v, %v, want NotFound, NotFound", c.name, other, missing)
		}
		if dbtrust.ErrorMessage(other) != dbtrust.ErrorMessage(missing) || dbtrust.ErrorField(other) != dbtrust.ErrorField(missing) {
			t.Errorf("%s(other account's) message = %q, want the same as for a missing one, %q", c.name, dbtrust.ErrorMessage(other), dbtrust.ErrorMessage(missing))
		}
		for _, malformed := range []string{"", "not-a-uuid", strings.ToUpper(missingID), "../" + missingID, missingID + "x"} {
			expectCode(t, c.name+"("+malformed+")", c.do(malformed), dbtrust.NotFound)
		}
	}
	list, err := e.svc.ListInstances(ctx, bob, "secret")
	if err != nil || len(list) != 0 {
		t.Errorf("ListInstances(bob, tag secret) = %d, %v, want none", len(list), err)
	}
	expectCode(t, "RevokeToken(another account's token)", e.svc.RevokeToken(ctx, bob, aliceTok.ID), dbtrust.NotFound)
	// Alice's things are untouched.
	if _, err := e.svc.GetInstance(ctx, alice, inst.ID); err != nil {
		t.Errorf("GetInstance(alice's own after bob's attempts) = %v, want nil", err)
	}
	got, err := e.svc.GetInstance(ctx, alice, inst.ID)
	if err != nil || !got.TLS {
		t.Errorf("GetInstance(alice's).TLS = %v, %v, want true (bob's SetInstanceTLS must not apply)", got.TLS, err)
	}
	toks, err := e.svc.ListTokens(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range toks {
		if tok.RevokedAt != nil {
			t.Errorf("alice's token %s revoked by bob's attempt, want untouched", tok.ID)
		}
	}
}

func TestIssueCertificate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	caValidity := 30 * 24 * time.Hour
	e := newEnv(t, dbtrust.Options{CAValidity: caValidity, DBDomain: "db.test"})
	_, owner, _ := e.account(t, "issue")
	member, _, _ := e.principal(t, owner, dbtrust.RoleMember)
	inst := e.instance(t, owner, dbtrust.InstanceSpec{Name: "orders", Engine: "pg"})
	rsaInst := e.instance(t, owner, dbtrust.InstanceSpec{Name: "rsa", Engine: "mysql", CAKeyType: "rsa-2048"})
	caNotAfter := func(id string) time.Time {
		cas, err := e.svc.InstanceCAs(ctx, owner, id)
		if err != nil {
			t.Fatal(err)
		}
		return cas[0].NotAfter
	}
	csr := func(cn string, dns []string, ips []net.IP) []byte {
		key, err := pki.GenerateKey(pki.ECDSAP256)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.CreateCertificateRequest(nil, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: dns, IPAddresses: ips}, key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	}
	goodCSR := csr("node1.orders.test", []string{"node1.orders.test", "orders.test"}, []net.IP{net.ParseIP("10.1.2.3")})
	body := strings.SplitN(string(goodCSR), "\n", 3) // BEGIN line, first base64 line, rest
	badCSR := []byte(body[0] + "\n" + body[1][:10] + "!" + body[1][11:] + "\n" + body[2])
	badSigDER, _ := pem.Decode(goodCSR)
	tampered := append([]byte{}, badSigDER.Bytes...)
	tampered[len(tampered)-3] ^= 0xff
	badSig := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: tampered})

	tests := []struct {
		name         string
		inst         dbtrust.Instance
		req          dbtrust.IssueRequest
		wantDNS      []string
		wantIPs      []string
		wantCN       string
		wantKey      bool
		wantNotAfter func(now time.Time) (time.Time, bool) // want, whether exact (CA expiry)
	}{
		{"generated key, defaults", inst, dbtrust.IssueRequest{},
			[]string{"orders-" + inst.ID[:8] + ".db.test"}, nil, "orders-" + inst.ID[:8] + ".db.test", true,
			func(now time.Time) (time.Time, bool) { return caNotAfter(inst.ID), true }}, // default 90 days > 30-day CA
		{"generated rsa key, names given", inst, dbtrust.IssueRequest{DNSNames: []string{"A.Example.Test.", "b.example.test"}, IPs: []string{"192.0.2.1"}, KeyType: "rsa-2048", TTL: 24 * time.Hour},
			[]string{"a.example.test", "b.example.test"}, []string{"192.0.2.1"}, "a.example.test", true,
			func(now time.Time) (time.Time, bool) { return now.Add(24 * time.Hour), false }},
		{"ttl capped at the CA's expiry", rsaInst, dbtrust.IssueRequest{DNSNames: []string{"x.test"}, TTL: 365 * 24 * time.Hour},
			[]string{"x.test"}, nil, "x.test", true,
			func(now time.Time) (time.Time, bool) { return caNotAfter(rsaInst.ID), true }},
		{"from a CSR", inst, dbtrust.IssueRequest{CSRPEM: goodCSR, TTL: time.Hour},
			[]string{"node1.orders.test", "orders.test"}, []string{"10.1.2.3"}, "node1.orders.test", false,
			func(now time.Time) (time.Time, bool) { return now.Add(time.Hour), false }},
		{"from a CSR, names overridden", inst, dbtrust.IssueRequest{CSRPEM: goodCSR, DNSNames: []string{"only.test"}, CommonName: "custom"},
			[]string{"only.test"}, nil, "custom", false,
			func(now time.Time) (time.Time, bool) { return caNotAfter(inst.ID), true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := time.Now()
			got, err := e.svc.IssueCertificate(ctx, member, tt.inst.ID, tt.req)
			if err != nil {
				t.Fatalf("IssueCertificate(%s) = %v, want nil", tt.name, err)
			}
			certs, err := pki.ParseCertsPEM(got.CertPEM)
			if err != nil {
				t.Fatalf("IssueCertificate(%s).CertPEM does not parse: %v", tt.name, err)
			}
			leaf := certs[0]
			if !slices.Equal(leaf.DNSNames, tt.wantDNS) || !slices.Equal(got.DNSNames, tt.wantDNS) {
				t.Errorf("IssueCertificate(%s) DNS names = %q (reported %q), want %q", tt.name, leaf.DNSNames, got.DNSNames, tt.wantDNS)
			}
			var ips []string
			for _, ip := range leaf.IPAddresses {
				ips = append(ips, ip.String())
			}
			if !slices.Equal(ips, tt.wantIPs) || !slices.Equal(got.IPs, tt.wantIPs) {
				t.Errorf("IssueCertificate(%s) IPs = %q (reported %q), want %q", tt.name, ips, got.IPs, tt.wantIPs)
			}
			if leaf.Subject.CommonName != tt.wantCN {
				t.Errorf("IssueCertificate(%s) CN = %q, want %q", tt.name, leaf.Subject.CommonName, tt.wantCN)
			}
			if (len(got.KeyPEM) > 0) != tt.wantKey {
				t.Errorf("IssueCertificate(%s) KeyPEM present = %v, want %v", tt.name, len(got.KeyPEM) > 0, tt.wantKey)
			}
			if tt.wantKey {
				if _, err := tlsPair(got.CertPEM, got.KeyPEM); err != nil {
					t.Errorf("IssueCertificate(%s) key does not match the certificate: %v", tt.name, err)
				}
			}
			want, exact := tt.wantNotAfter(before)
			if exact && !leaf.NotAfter.Equal(want.Truncate(time.Second)) {
				t.Errorf("IssueCertificate(%s).NotAfter = %v, want the CA's expiry %v", tt.name, leaf.NotAfter, want)
			}
			if !exact && (leaf.NotAfter.Before(want.Add(-2*time.Second)) || leaf.NotAfter.After(want.Add(time.Minute))) {
				t.Errorf("IssueCertificate(%s).NotAfter = %v, want about %v", tt.name, leaf.NotAfter, want)
			}
			if leaf.NotAfter.After(caNotAfter(tt.inst.ID)) {
				t.Errorf("IssueCertificate(%s).NotAfter = %v, after the CA's %v", tt.name, leaf.NotAfter, caNotAfter(tt.inst.ID))
			}
			if !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
				t.Errorf("IssueCertificate(%s).ExtKeyUsage = %v, want serverAuth", tt.name, leaf.ExtKeyUsage)
			}
			// The leaf verifies against the bundle clients are told to trust.
			bundle, err := e.svc.InstanceCABundle(ctx, member, tt.inst.ID)
			if err != nil {
				t.Fatal(err)
			}
			roots := x509.NewCertPool()
			if !roots.AppendCertsFromPEM(bundle) {
				t.Fatalf("InstanceCABundle(%q) holds no certificate", tt.inst.ID)
			}
			name := tt.wantDNS[0]
			if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
				t.Errorf("IssueCertificate(%s).Verify(%q, InstanceCABundle) = %v, want nil", tt.name, name, err)
			}
			if string(got.CAPEM) != string(bundle) || got.InstanceID != tt.inst.ID || got.Serial != leaf.SerialNumber.Text(16) {
				t.Errorf("IssueCertificate(%s) = CA %q, instance %q, serial %q, want the bundle, %q, %q", tt.name, got.CAID, got.InstanceID, got.Serial, tt.inst.ID, leaf.SerialNumber.Text(16))
			}
			// ...and not against another instance's CA.
			otherBundle, _ := e.svc.InstanceCABundle(ctx, member, otherInstance(tt.inst, inst, rsaInst).ID)
			otherRoots := x509.NewCertPool()
			otherRoots.AppendCertsFromPEM(otherBundle)
			if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: otherRoots}); err == nil {
				t.Errorf("IssueCertificate(%s).Verify(another instance's bundle) = nil, want an error", tt.name)
			}
		})
	}

	invalid := []struct {
		name      string
		req       dbtrust.IssueRequest
		wantField string
	}{
		{"CSR that is not PEM", dbtrust.IssueRequest{CSRPEM: []byte("garbage")}, "csr"},
		{"CSR with damaged base64", dbtrust.IssueRequest{CSRPEM: badCSR}, "csr"},
		{"CSR with a broken signature", dbtrust.IssueRequest{CSRPEM: badSig}, "csr"},
		{"CSR with a key type", dbtrust.IssueRequest{CSRPEM: goodCSR, KeyType: "rsa-2048"}, "key_type"},
		{"unknown key type", dbtrust.IssueRequest{KeyType: "dsa"}, "key_type"},
		{"ttl under a minute", dbtrust.IssueRequest{TTL: 30 * time.Second}, "ttl"},
		{"negative ttl", dbtrust.IssueRequest{TTL: -time.Hour}, "ttl"},
		{"bad DNS name", dbtrust.IssueRequest{DNSNames: []string{"bad name"}}, "dns_names"},
		{"DNS label too long", dbtrust.IssueRequest{DNSNames: []string{strings.Repeat("a", 64) + ".test"}}, "dns_names"},
		{"bad IP", dbtrust.IssueRequest{IPs: []string{"300.1.1.1"}}, "ips"},
		{"common name too long", dbtrust.IssueRequest{CommonName: strings.Repeat("c", 65)}, "common_name"},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := e.svc.IssueCertificate(ctx, member, inst.ID, tt.req)
			if dbtrust.ErrorCode(err) != dbtrust.Invalid || dbtrust.ErrorField(err) != tt.wantField {
				t.Errorf("IssueCertificate(%s) = %v (field %q), want Invalid on field %q", tt.name, err, dbtrust.ErrorField(err), tt.wantField)
			}
			// The message a caller reads names no library and no ASN.1 detail.
			msg := strings.ToLower(dbtrust.ErrorMessage(err))
			for _, internal := range []string{"asn1", "asn.1", "x509:", "structure error", "tags don't match", "crypto/"} {
				if strings.Contains(msg, internal) {
					t.Errorf("IssueCertificate(%s) message %q shows library internals (%q)", tt.name, msg, internal)
				}
			}
		})
	}
}

func otherInstance(of, a, b dbtrust.Instance) dbtrust.Instance {
	if of.ID == a.ID {
		return b
	}
	return a
}

// TestRevokedTokenRejectedAtOnce: a token revoked through the Service stops
// working on the next call, whatever the cache holds.
func TestRevokedTokenRejectedAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, dbtrust.Options{CacheTTL: time.Hour})
	_, owner, _ := e.account(t, "cache")
	_, tok, full := e.principal(t, owner, dbtrust.RoleMember)
	for i := 0; i < 3; i++ { // warm the cache
		if _, err := e.svc.Authenticate(ctx, full); err != nil {
			t.Fatalf("Authenticate(fresh token) = %v, want nil", err)
		}
	}
	if err := e.svc.RevokeToken(ctx, owner, tok.ID); err != nil {
		t.Fatalf("RevokeToken(%q) = %v, want nil", tok.ID, err)
	}
	_, err := e.svc.Authenticate(ctx, full)
	expectCode(t, "Authenticate(just revoked)", err, dbtrust.Unauthorized)
	expectCode(t, "RevokeToken(again)", e.svc.RevokeToken(ctx, owner, tok.ID), dbtrust.NotFound)

	// A deleted instance's CA bundle goes at once too.
	inst := e.instance(t, owner, dbtrust.InstanceSpec{Name: "gone", Engine: "pg"})
	if _, err := e.svc.InstanceCABundle(ctx, owner, inst.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteInstance(ctx, owner, inst.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.InstanceCABundle(ctx, owner, inst.ID)
	expectCode(t, "InstanceCABundle(just deleted)", err, dbtrust.NotFound)
}

// TestCacheSeesOtherProcess: a second Service on the same SQLite file (what
// the CLI is) revokes a token and deletes an instance; the serving Service,
// whose cache would otherwise hold for an hour, sees both once WatchStore
// notices.
func TestCacheSeesOtherProcess(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := newEnv(t, dbtrust.Options{CacheTTL: time.Hour})
	a, owner, _ := e.account(t, "watch")
	_, tok, full := e.principal(t, owner, dbtrust.RoleViewer)
	inst := e.instance(t, owner, dbtrust.InstanceSpec{Name: "watched", Engine: "pg"})
	watchDone := make(chan error, 1)
	go func() { watchDone <- e.svc.WatchStore(ctx) }()

	// Warm the serving Service's cache.
	if _, err := e.svc.Authenticate(ctx, full); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.InstanceCABundle(ctx, owner, inst.ID); err != nil {
		t.Fatal(err)
	}

	// The other process.
	st2, err := sqlite.Open(ctx, e.path)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	cliSvc := dbtrust.NewService(st2, e.sealer, dbtrust.Options{})
	op := dbtrust.Operator(a.ID)
	if err := cliSvc.RevokeToken(ctx, op, tok.ID); err != nil {
		t.Fatalf("other process: RevokeToken(%q) = %v, want nil", tok.ID, err)
	}
	if err := cliSvc.DeleteInstance(ctx, op, inst.ID); err != nil {
		t.Fatalf("other process: DeleteInstance(%q) = %v, want nil", inst.ID, err)
	}

	deadline := time.Now().Add(30 * time.Second)
	for {
		_, authErr := e.svc.Authenticate(ctx, full)
		_, caErr := e.svc.InstanceCABundle(ctx, owner, inst.ID)
		if dbtrust.ErrorCode(authErr) == dbtrust.Unauthorized && dbtrust.ErrorCode(caErr) == dbtrust.NotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after another process's changes: Authenticate = %v, InstanceCABundle = %v, want Unauthorized and NotFound within 30s", authErr, caErr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-watchDone; err != nil {
		t.Errorf("WatchStore after cancel = %v, want nil", err)
	}
}

func TestBootstrap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, dbtrust.Options{})
	a, token, created, err := e.svc.Bootstrap(ctx)
	if err != nil || !created || token == "" || a.Name != "default" {
		t.Fatalf("Bootstrap(empty store) = %+v, token %d chars, created %v, %v, want default account, a token, true", a, len(token), created, err)
	}
	b, token2, created, err := e.svc.Bootstrap(ctx)
	if err != nil || created || token2 != "" || b.ID != a.ID {
		t.Errorf("Bootstrap(again) = %+v, %q, %v, %v, want the same account, no token, false", b, token2, created, err)
	}
	_, _, err = e.svc.CreateAccount(ctx, "default")
	expectCode(t, "CreateAccount(taken name)", err, dbtrust.Conflict)
	for _, name := range []string{"", "Upper", "-x", strings.Repeat("a", 64), "a b"} {
		_, _, err := e.svc.CreateAccount(ctx, name)
		if dbtrust.ErrorCode(err) != dbtrust.Invalid || dbtrust.ErrorField(err) != "name" {
			t.Errorf("CreateAccount(%q) = %v, want Invalid on field name", name, err)
		}
	}
	got, err := e.svc.FindAccount(ctx, a.ID)
	if err != nil || got.ID != a.ID {
		t.Errorf("FindAccount(%q) = %+v, %v, want the default account", a.ID, got, err)
	}
	_, err = e.svc.FindAccount(ctx, "nobody")
	expectCode(t, "FindAccount(nobody)", err, dbtrust.NotFound)
}

func tlsPair(certPEM, keyPEM []byte) (tls.Certificate, error) {
	return tls.X509KeyPair(certPEM, keyPEM)
}
