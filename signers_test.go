package dbtrust_test

import (
	"context"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/pki"
	"github.com/dbtrust/dbtrust/internal/sqlite"
)

// issuedBy issues a certificate for inst and reports the ID of the CA that
// signed it, after checking that it verifies against that CA alone.
func issuedBy(t *testing.T, svc *dbtrust.Service, p dbtrust.Principal, inst dbtrust.Instance, cas []dbtrust.CA) string {
	t.Helper()
	c, err := svc.IssueCertificate(context.Background(), p, inst.ID, dbtrust.IssueRequest{DNSNames: []string{"db.example"}})
	if err != nil {
		t.Fatalf("IssueCertificate(%s) = %v, want nil", inst.ID, err)
	}
	for _, ca := range cas {
		if ca.ID == c.CAID {
			if !verifies(t, c.CertPEM, ca.CertPEM) {
				t.Fatalf("certificate %s does not verify against CA %s, which the record names", c.Serial, ca.ID)
			}
			return ca.ID
		}
	}
	t.Fatalf("certificate %s names CA %s, not one of the instance's", c.Serial, c.CAID)
	return ""
}

func currentID(cas []dbtrust.CA) string {
	for _, ca := range cas {
		if ca.State == dbtrust.CACurrent {
			return ca.ID
		}
	}
	return ""
}

// The opened CA key is kept between issuances, and a rotation step drops
// it: a certificate issued after the finish is signed by the new CA, after
// a rollback by the old one again.
func TestSignerCacheFollowsRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, p, _ := newLifecycleService(t, dbtrust.Options{})
	inst := newInstance(t, svc, p, "signers")
	cas, err := svc.InstanceCAs(ctx, p, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	old := currentID(cas)
	for range 3 {
		if got := issuedBy(t, svc, p, inst, cas); got != old {
			t.Fatalf("before rotation: issued by %s, want %s", got, old)
		}
	}
	if cas, err = svc.RotateStart(ctx, p, inst.ID, ""); err != nil {
		t.Fatal(err)
	}
	if got := issuedBy(t, svc, p, inst, cas); got != old {
		t.Fatalf("after rotate start: issued by %s, want the current CA %s", got, old)
	}
	if cas, _, err = svc.RotateFinish(ctx, p, inst.ID, true); err != nil {
		t.Fatal(err)
	}
	if got, want := issuedBy(t, svc, p, inst, cas), currentID(cas); got != want || got == old {
		t.Fatalf("after rotate finish: issued by %s, want the new CA %s", got, want)
	}
	if cas, err = svc.RotateRollback(ctx, p, inst.ID); err != nil {
		t.Fatal(err)
	}
	if got := issuedBy(t, svc, p, inst, cas); got != old {
		t.Fatalf("after rollback: issued by %s, want the old CA %s again", got, old)
	}
}

// A rotation made by another process (the CLI on the same data folder)
// reaches the serving Service's signer through its change watch: the next
// certificates are signed by the new CA.
func TestSignerCacheSeesOtherProcessRotation(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := newEnv(t, dbtrust.Options{CacheTTL: time.Hour})
	a, owner, _ := e.account(t, "signers")
	inst := e.instance(t, owner, dbtrust.InstanceSpec{Name: "rotated", Engine: "pg"})
	go e.svc.WatchStore(ctx)
	cas, err := e.svc.InstanceCAs(ctx, owner, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	old := issuedBy(t, e.svc, owner, inst, cas)

	st2, err := sqlite.Open(ctx, e.path)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	cli := dbtrust.NewService(st2, e.sealer, dbtrust.Options{})
	op := dbtrust.Operator(a.ID)
	if _, err := cli.RotateStart(ctx, op, inst.ID, string(pki.ECDSAP256)); err != nil {
		t.Fatal(err)
	}
	if cas, _, err = cli.RotateFinish(ctx, op, inst.ID, true); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for issuedBy(t, e.svc, owner, inst, cas) == old {
		if time.Now().After(deadline) {
			t.Fatalf("30s after another process finished the rotation, certificates are still signed by the old CA %s", old)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got, want := issuedBy(t, e.svc, owner, inst, cas), currentID(cas); got != want {
		t.Fatalf("after the other process's rotation: issued by %s, want %s", got, want)
	}
}
