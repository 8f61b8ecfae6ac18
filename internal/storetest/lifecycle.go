package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/google/uuid"
)

// NewCert returns an unsaved certificate record issued by ca.
func NewCert(ca dbtrust.CA, created time.Time) dbtrust.IssuedCertificate {
	id := uuid.NewString()
	return dbtrust.IssuedCertificate{Serial: fmt.Sprintf("%x", uuid.New()), Fingerprint: id, CommonName: "node-1.example",
		DNSNames: []string{"node-1.example", "db.example"}, IPs: []string{"127.0.0.1"}, KeyType: "ecdsa-p256",
		NotBefore: Time, NotAfter: Time.AddDate(0, 3, 0), CertPEM: []byte("-----BEGIN CERTIFICATE-----\n" + id + "\n-----END CERTIFICATE-----\n"),
		CAID: ca.ID, InstanceID: ca.InstanceID, AccountID: ca.AccountID, CreatedAt: created}
}

// IssueEvent is the audit event recorded with c.
func IssueEvent(c dbtrust.IssuedCertificate) dbtrust.AuditEvent {
	return dbtrust.AuditEvent{Time: c.CreatedAt, AccountID: c.AccountID, Actor: "operator", Action: "certificate.issue",
		Resource: "instance/" + c.InstanceID + "/certificate/" + c.Serial, Outcome: "ok"}
}

func testCertificates(t *testing.T, s dbtrust.Store) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "alpha")
	b, _ := NewAccount(t, s, "beta")
	i, ca := NewInstance(a.ID, "backend")
	must(t, s.CreateInstance(ctx, i, ca))
	j, jca := NewInstance(a.ID, "cache")
	must(t, s.CreateInstance(ctx, j, jca))

	c1 := NewCert(ca, Later())
	must(t, s.InsertIssuedCert(ctx, c1, IssueEvent(c1)))
	c2 := NewCert(ca, Later())
	c2.IPs = nil
	must(t, s.InsertIssuedCert(ctx, c2, IssueEvent(c2)))
	c3 := NewCert(jca, Later())
	must(t, s.InsertIssuedCert(ctx, c3, IssueEvent(c3)))
	wantCode(t, "InsertIssuedCert(same serial)", s.InsertIssuedCert(ctx, c1, IssueEvent(c1)), dbtrust.Conflict)

	// A certificate naming another instance's CA, or another account, is refused.
	bad := NewCert(jca, Later())
	bad.InstanceID = i.ID
	wantCode(t, "InsertIssuedCert(CA of another instance)", s.InsertIssuedCert(ctx, bad, IssueEvent(bad)), dbtrust.NotFound)
	bad = NewCert(ca, Later())
	bad.AccountID = b.ID
	wantCode(t, "InsertIssuedCert(other account)", s.InsertIssuedCert(ctx, bad, IssueEvent(bad)), dbtrust.NotFound)

	// Each recorded certificate left its audit event; the refused ones left none.
	events, err := s.ListAudit(ctx, dbtrust.AuditFilter{AccountID: a.ID, Limit: 100})
	must(t, err)
	if len(events) != 3 || events[0].Resource != IssueEvent(c3).Resource || events[2].Resource != IssueEvent(c1).Resource {
		t.Fatalf("ListAudit after 3 recorded and 3 refused certificates = %+v, want the 3 recorded ones, newest first", events)
	}
	events, err = s.ListAudit(ctx, dbtrust.AuditFilter{AccountID: b.ID, Limit: 100})
	must(t, err)
	if len(events) != 0 {
		t.Fatalf("ListAudit(other account) = %+v, want none", events)
	}

	got, err := s.GetIssuedCert(ctx, a.ID, c1.Serial)
	must(t, err)
	if fmt.Sprint(got) != fmt.Sprint(c1) {
		t.Fatalf("GetIssuedCert(%q) = %+v, want %+v", c1.Serial, got, c1)
	}
	_, err = s.GetIssuedCert(ctx, b.ID, c1.Serial)
	wantCode(t, "GetIssuedCert(other account)", err, dbtrust.NotFound)

	all, err := s.ListIssuedCerts(ctx, a.ID, dbtrust.CertFilter{})
	must(t, err)
	if len(all) != 3 || all[0].Serial != c1.Serial || all[2].Serial != c3.Serial {
		t.Fatalf("ListIssuedCerts = %d certificates, want c1, c2, c3", len(all))
	}
	if all[1].IPs == nil || len(all[1].IPs) != 0 {
		t.Fatalf("certificate without IPs came back with %#v, want an empty list", all[1].IPs)
	}
	byInst, err := s.ListIssuedCerts(ctx, a.ID, dbtrust.CertFilter{InstanceID: i.ID})
	must(t, err)
	if len(byInst) != 2 {
		t.Fatalf("ListIssuedCerts(instance) = %d, want 2", len(byInst))
	}
	byCA, err := s.ListIssuedCerts(ctx, a.ID, dbtrust.CertFilter{CAID: jca.ID})
	must(t, err)
	if len(byCA) != 1 || byCA[0].Serial != c3.Serial {
		t.Fatalf("ListIssuedCerts(CA) = %+v, want c3", byCA)
	}
	none, err := s.ListIssuedCerts(ctx, b.ID, dbtrust.CertFilter{})
	must(t, err)
	if none == nil || len(none) != 0 {
		t.Fatalf("ListIssuedCerts(other account) = %#v, want an empty, non-nil list", none)
	}

	// Deleting an instance takes its certificates with it.
	must(t, s.DeleteInstance(ctx, a.ID, j.ID))
	_, err = s.GetIssuedCert(ctx, a.ID, c3.Serial)
	wantCode(t, "GetIssuedCert(of deleted instance)", err, dbtrust.NotFound)
}

func testCertificateRevocation(t *testing.T, s dbtrust.Store) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "alpha")
	b, _ := NewAccount(t, s, "beta")
	i, ca := NewInstance(a.ID, "backend")
	must(t, s.CreateInstance(ctx, i, ca))
	c1, c2 := NewCert(ca, Later()), NewCert(ca, Later())
	must(t, s.InsertIssuedCert(ctx, c1, IssueEvent(c1)))
	must(t, s.InsertIssuedCert(ctx, c2, IssueEvent(c2)))

	wantCode(t, "RevokeIssuedCert(other account)", s.RevokeIssuedCert(ctx, b.ID, c1.Serial, Time, "superseded", change(b.ID)), dbtrust.NotFound)
	wantCode(t, "RevokeIssuedCert(unknown)", s.RevokeIssuedCert(ctx, a.ID, "abc", Time, "superseded", change(a.ID)), dbtrust.NotFound)
	at := Time.Add(time.Hour)
	must(t, s.RevokeIssuedCert(ctx, a.ID, c2.Serial, at, "key_compromise", change(a.ID)))
	wantCode(t, "RevokeIssuedCert(again)", s.RevokeIssuedCert(ctx, a.ID, c2.Serial, Time, "superseded", change(a.ID)), dbtrust.Conflict)

	got, err := s.GetIssuedCert(ctx, a.ID, c2.Serial)
	must(t, err)
	if got.RevokedAt == nil || !got.RevokedAt.Equal(at) || got.RevocationReason != "key_compromise" {
		t.Fatalf("revoked certificate: RevokedAt %v reason %q, want %v key_compromise", got.RevokedAt, got.RevocationReason, at)
	}
	revoked, err := s.RevokedIssuedCerts(ctx, ca.ID)
	must(t, err)
	if len(revoked) != 1 || revoked[0].Serial != c2.Serial {
		t.Fatalf("RevokedIssuedCerts = %+v, want c2 only", revoked)
	}
	yes, no := true, false
	for _, tc := range []struct {
		revoked *bool
		want    string
	}{{&yes, c2.Serial}, {&no, c1.Serial}} {
		l, err := s.ListIssuedCerts(ctx, a.ID, dbtrust.CertFilter{Revoked: tc.revoked})
		must(t, err)
		if len(l) != 1 || l[0].Serial != tc.want {
			t.Fatalf("ListIssuedCerts(revoked=%v) = %d certificates, want %s", *tc.revoked, len(l), tc.want)
		}
	}

	got2, err := s.GetCA(ctx, ca.ID)
	must(t, err)
	if got2.ID != ca.ID || got2.AccountID != a.ID {
		t.Fatalf("GetCA(%q) = %+v", ca.ID, got2)
	}
	_, err = s.GetCA(ctx, uuid.NewString())
	wantCode(t, "GetCA(unknown)", err, dbtrust.NotFound)
}

// states returns the instance's CA IDs by state (retired ones as a list).
func states(t *testing.T, s dbtrust.Store, accountID, instanceID string) map[dbtrust.CAState][]string {
	t.Helper()
	cas, err := s.ListCAs(context.Background(), accountID, instanceID)
	must(t, err)
	out := map[dbtrust.CAState][]string{}
	for _, c := range cas {
		out[c.State] = append(out[c.State], c.ID)
	}
	return out
}

var finish = []dbtrust.CAMove{
	{From: dbtrust.CAPrevious, To: dbtrust.CARetired, Optional: true},
	{From: dbtrust.CACurrent, To: dbtrust.CAPrevious},
	{From: dbtrust.CANext, To: dbtrust.CACurrent},
}

func testRotation(t *testing.T, s dbtrust.Store) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "alpha")
	b, _ := NewAccount(t, s, "beta")
	i, first := NewInstance(a.ID, "backend")
	must(t, s.CreateInstance(ctx, i, first))

	// Finishing with no next CA fails and changes nothing.
	wantCode(t, "MoveCAs(finish without next)", s.MoveCAs(ctx, a.ID, i.ID, finish, change(a.ID)), dbtrust.Conflict)
	if st := states(t, s, a.ID, i.ID); len(st[dbtrust.CACurrent]) != 1 || len(st[dbtrust.CAPrevious]) != 0 {
		t.Fatalf("failed finish changed the states: %v", st)
	}

	second := NewCA(i, dbtrust.CANext)
	second.CreatedAt = Later()
	must(t, s.AddCA(ctx, second, change(second.AccountID)))
	wantCode(t, "AddCA(second next)", s.AddCA(ctx, NewCA(i, dbtrust.CANext), change(i.AccountID)), dbtrust.Conflict)
	foreign := NewCA(i, dbtrust.CANext)
	foreign.AccountID = b.ID
	wantCode(t, "AddCA(other account)", s.AddCA(ctx, foreign, change(foreign.AccountID)), dbtrust.NotFound)
	wantCode(t, "MoveCAs(other account)", s.MoveCAs(ctx, b.ID, i.ID, finish, change(b.ID)), dbtrust.Conflict)

	must(t, s.MoveCAs(ctx, a.ID, i.ID, finish, change(a.ID)))
	st := states(t, s, a.ID, i.ID)
	if st[dbtrust.CACurrent][0] != second.ID || st[dbtrust.CAPrevious][0] != first.ID || len(st[dbtrust.CANext]) != 0 {
		t.Fatalf("after finish: %v, want current %s, previous %s", st, second.ID, first.ID)
	}

	// A second rotation: the finish retires the first CA.
	third := NewCA(i, dbtrust.CANext)
	third.CreatedAt = Later()
	must(t, s.AddCA(ctx, third, change(third.AccountID)))
	must(t, s.MoveCAs(ctx, a.ID, i.ID, finish, change(a.ID)))
	st = states(t, s, a.ID, i.ID)
	if st[dbtrust.CACurrent][0] != third.ID || st[dbtrust.CAPrevious][0] != second.ID || st[dbtrust.CARetired][0] != first.ID {
		t.Fatalf("after second finish: %v", st)
	}

	// A move whose target slot is taken fails whole (unique index), changing nothing.
	wantCode(t, "MoveCAs(current to previous while previous exists)", s.MoveCAs(ctx, a.ID, i.ID, []dbtrust.CAMove{
		{From: dbtrust.CACurrent, To: dbtrust.CAPrevious},
	}, change(a.ID)), dbtrust.Conflict)
	if st2 := states(t, s, a.ID, i.ID); fmt.Sprint(st2) != fmt.Sprint(st) {
		t.Fatalf("failed move changed the states: %v, want %v", st2, st)
	}
}

func testConcurrentRotation(t *testing.T, s dbtrust.Store) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "alpha")
	i, first := NewInstance(a.ID, "backend")
	must(t, s.CreateInstance(ctx, i, first))
	const n = 8
	var wg sync.WaitGroup
	addErrs, finishErrs := make([]error, n), make([]error, n)
	for k := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := NewCA(i, dbtrust.CANext)
			next.CreatedAt = Later()
			addErrs[k] = s.AddCA(ctx, next, change(next.AccountID))
		}()
	}
	wg.Wait()
	for k := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			finishErrs[k] = s.MoveCAs(ctx, a.ID, i.ID, finish, change(a.ID))
		}()
	}
	wg.Wait()
	for what, errs := range map[string][]error{"AddCA(next)": addErrs, "MoveCAs(finish)": finishErrs} {
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
			} else {
				wantCode(t, "concurrent "+what, err, dbtrust.Conflict)
			}
		}
		if won != 1 {
			t.Fatalf("%d concurrent %s succeeded, want exactly 1", won, what)
		}
	}
	st := states(t, s, a.ID, i.ID)
	if len(st[dbtrust.CACurrent]) != 1 || st[dbtrust.CAPrevious][0] != first.ID || len(st[dbtrust.CANext]) != 0 || len(st[dbtrust.CARetired]) != 0 {
		t.Fatalf("after concurrent rotations: %v", st)
	}
}

func testRotationPolicies(t *testing.T, s dbtrust.Store) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "alpha")
	b, _ := NewAccount(t, s, "beta")
	i, ca := NewInstance(a.ID, "backend")
	must(t, s.CreateInstance(ctx, i, ca))
	j, jca := NewInstance(a.ID, "cache")
	must(t, s.CreateInstance(ctx, j, jca))
	_, err := s.GetRotationPolicy(ctx, a.ID, i.ID)
	wantCode(t, "GetRotationPolicy(none)", err, dbtrust.NotFound)

	p := dbtrust.RotationPolicy{InstanceID: i.ID, AccountID: a.ID, Enabled: true, StartBefore: 30 * 24 * time.Hour,
		FinishAfter: 7 * 24 * time.Hour, RetireAfter: 24 * time.Hour, KeyType: "ecdsa-p384", UpdatedAt: Time}
	must(t, s.PutRotationPolicy(ctx, p))
	got, err := s.GetRotationPolicy(ctx, a.ID, i.ID)
	must(t, err)
	if got != p {
		t.Fatalf("GetRotationPolicy = %+v, want %+v", got, p)
	}
	p.FinishAfter, p.UpdatedAt = time.Hour, Time.Add(time.Minute)
	must(t, s.PutRotationPolicy(ctx, p))
	got, err = s.GetRotationPolicy(ctx, a.ID, i.ID)
	must(t, err)
	if got != p {
		t.Fatalf("GetRotationPolicy after replace = %+v, want %+v", got, p)
	}
	_, err = s.GetRotationPolicy(ctx, b.ID, i.ID)
	wantCode(t, "GetRotationPolicy(other account)", err, dbtrust.NotFound)
	foreign := p
	foreign.AccountID = b.ID
	wantCode(t, "PutRotationPolicy(other account)", s.PutRotationPolicy(ctx, foreign), dbtrust.NotFound)

	off := dbtrust.RotationPolicy{InstanceID: j.ID, AccountID: a.ID, Enabled: false, UpdatedAt: Time}
	must(t, s.PutRotationPolicy(ctx, off))
	list, err := s.ListRotationPolicies(ctx)
	must(t, err)
	if len(list) != 1 || list[0].InstanceID != i.ID {
		t.Fatalf("ListRotationPolicies = %+v, want the enabled one only", list)
	}
	testDuePolicies(t, s, a.ID, i)
	must(t, s.DeleteInstance(ctx, a.ID, i.ID))
	list, err = s.ListRotationPolicies(ctx)
	must(t, err)
	if len(list) != 0 {
		t.Fatalf("policy of a deleted instance is still listed: %+v", list)
	}
}

func testExpiries(t *testing.T, s dbtrust.Store) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "alpha")
	b, _ := NewAccount(t, s, "beta")
	i, ca := NewInstance(a.ID, "backend")
	must(t, s.CreateInstance(ctx, i, ca))
	j, jca := NewInstance(b.ID, "cache")
	must(t, s.CreateInstance(ctx, j, jca))
	live, revoked, expired := NewCert(ca, Later()), NewCert(ca, Later()), NewCert(jca, Later())
	expired.NotAfter = Time.Add(-time.Hour)
	for _, c := range []dbtrust.IssuedCertificate{live, revoked, expired} {
		must(t, s.InsertIssuedCert(ctx, c, IssueEvent(c)))
	}
	must(t, s.RevokeIssuedCert(ctx, a.ID, revoked.Serial, Time, "superseded", change(a.ID)))
	got, err := s.Expiries(ctx, dbtrust.ExpiryFilter{CertsAfter: Time})
	must(t, err)
	want := map[string]dbtrust.Expiry{
		ca.ID:       {Kind: "ca", AccountID: a.ID, InstanceID: i.ID, ID: ca.ID, State: "current", NotAfter: ca.NotAfter},
		jca.ID:      {Kind: "ca", AccountID: b.ID, InstanceID: j.ID, ID: jca.ID, State: "current", NotAfter: jca.NotAfter},
		live.Serial: {Kind: "certificate", AccountID: a.ID, InstanceID: i.ID, ID: live.Serial, State: "issued", NotAfter: live.NotAfter},
	}
	if len(got) != len(want) {
		t.Fatalf("Expiries = %+v, want %d entries", got, len(want))
	}
	for _, e := range got {
		if w, ok := want[e.ID]; !ok || !w.NotAfter.Equal(e.NotAfter) || w.Kind != e.Kind || w.State != e.State || w.InstanceID != e.InstanceID || w.AccountID != e.AccountID {
			t.Fatalf("Expiries entry %+v, want %+v", e, w)
		}
	}
	// Bounded: the soonest of each kind, or those before a time.
	jca2 := NewCA(j, dbtrust.CANext)
	jca2.NotAfter = jca.NotAfter.Add(-time.Hour)
	must(t, s.AddCA(ctx, jca2, change(b.ID)))
	got, err = s.Expiries(ctx, dbtrust.ExpiryFilter{CertsAfter: Time, Limit: 1})
	must(t, err)
	if len(got) != 2 || got[0].ID != jca2.ID || got[1].ID != live.Serial {
		t.Fatalf("Expiries limited to 1 = %+v, want the soonest CA (%s) and the certificate", got, jca2.ID)
	}
	got, err = s.Expiries(ctx, dbtrust.ExpiryFilter{CertsAfter: Time, Before: live.NotAfter.Add(time.Millisecond)})
	must(t, err)
	if len(got) != 1 || got[0].ID != live.Serial {
		t.Fatalf("Expiries before the certificate's expiry = %+v, want the certificate alone", got)
	}
	// Only j is rotating: its current and next CA.
	rot, err := s.ListRotatingCAs(ctx)
	must(t, err)
	if len(rot) != 2 || rot[0].InstanceID != j.ID || rot[1].InstanceID != j.ID {
		t.Fatalf("ListRotatingCAs = %+v, want j's current and next CA", rot)
	}
}

// change is an audit event for a store method that records one with its change.
func change(accountID string) dbtrust.AuditEvent {
	return dbtrust.AuditEvent{Time: Time, AccountID: accountID, Actor: "operator", Action: "test.change", Resource: "test", Outcome: "ok"}
}

// testDuePolicies: the policy of i (StartBefore 30 days, its current CA
// valid ten years) is not due until its CA expires within 30 days, and is
// due at once while a rotation is in flight.
func testDuePolicies(t *testing.T, s dbtrust.Store, accountID string, i dbtrust.Instance) {
	ctx := context.Background()
	cas, err := s.ListCAs(ctx, accountID, i.ID)
	must(t, err)
	due := func(at time.Time) int {
		t.Helper()
		list, err := s.DueRotationPolicies(ctx, at)
		must(t, err)
		return len(list)
	}
	cur := cas[0]
	if n := due(cur.NotAfter.Add(-31 * 24 * time.Hour)); n != 0 {
		t.Fatalf("DueRotationPolicies 31 days before the CA expires = %d policies, want none", n)
	}
	if n := due(cur.NotAfter.Add(-29 * 24 * time.Hour)); n != 1 {
		t.Fatalf("DueRotationPolicies 29 days before the CA expires = %d policies, want 1", n)
	}
	must(t, s.AddCA(ctx, NewCA(i, dbtrust.CANext), change(accountID)))
	if n := due(Time); n != 1 {
		t.Fatalf("DueRotationPolicies during a rotation = %d policies, want 1", n)
	}
}
