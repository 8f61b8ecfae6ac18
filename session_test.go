package dbtrust_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
)

func TestSessions(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	e := newEnv(t, dbtrust.Options{Clock: clock, CacheTTL: -1})
	_, owner, _ := e.account(t, "sessions")
	viewer, vtok, vfull := e.principal(t, owner, dbtrust.RoleViewer)

	if _, _, err := e.svc.SignIn(ctx, "dbt_nonsense", time.Hour); dbtrust.ErrorCode(err) != dbtrust.Unauthorized {
		t.Fatalf("SignIn(bad token) = %v, want Unauthorized", err)
	}
	inst := e.instance(t, owner, dbtrust.InstanceSpec{Name: "node-scope", Engine: "pg"})
	if _, nodeFull, err := e.svc.CreateNodeToken(ctx, owner, inst.ID, "agent"); err != nil {
		t.Fatal(err)
	} else if _, _, err := e.svc.SignIn(ctx, nodeFull, time.Hour); dbtrust.ErrorCode(err) != dbtrust.Forbidden {
		t.Fatalf("SignIn(node token) = %v, want Forbidden", err)
	}
	sess, secret, err := e.svc.SignIn(ctx, vfull, time.Hour)
	if err != nil {
		t.Fatalf("SignIn(viewer token) = %v", err)
	}
	if strings.Contains(secret, vfull) || sess.ID == secret || sess.TokenID != vtok.ID {
		t.Fatalf("SignIn = %+v, %q: want a fresh secret, its hash as ID, the token's ID", sess, secret)
	}
	p, _, err := e.svc.SessionPrincipal(ctx, secret)
	if err != nil || p != viewer {
		t.Fatalf("SessionPrincipal = %+v, %v, want %+v", p, err, viewer)
	}

	// Every way a session stops working is the same Unauthorized.
	altered := secret[:len(secret)-1] + "A"
	if altered == secret { // the secret ended in "A" already
		altered = secret[:len(secret)-1] + "B"
	}
	for name, s := range map[string]string{"empty": "", "the token itself": vfull, "hash": sess.ID, "altered": altered} {
		if _, _, err := e.svc.SessionPrincipal(ctx, s); dbtrust.ErrorCode(err) != dbtrust.Unauthorized {
			t.Errorf("SessionPrincipal(%s) = %v, want Unauthorized", name, err)
		}
	}
	now = now.Add(time.Hour)
	if _, _, err := e.svc.SessionPrincipal(ctx, secret); dbtrust.ErrorCode(err) != dbtrust.Unauthorized {
		t.Errorf("SessionPrincipal(expired) = %v, want Unauthorized", err)
	}

	_, secret, _ = e.svc.SignIn(ctx, vfull, time.Hour)
	if err := e.svc.RevokeToken(ctx, owner, vtok.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.SessionPrincipal(ctx, secret); dbtrust.ErrorCode(err) != dbtrust.Unauthorized {
		t.Errorf("SessionPrincipal(token revoked) = %v, want Unauthorized", err)
	}

	_, ownerTok, ownerFull := e.principal(t, owner, dbtrust.RoleOwner)
	_, secret, _ = e.svc.SignIn(ctx, ownerFull, 0)
	if err := e.svc.SignOut(ctx, secret); err != nil {
		t.Fatalf("SignOut = %v", err)
	}
	if _, _, err := e.svc.SessionPrincipal(ctx, secret); dbtrust.ErrorCode(err) != dbtrust.Unauthorized {
		t.Errorf("SessionPrincipal(signed out) = %v, want Unauthorized", err)
	}
	if err := e.svc.SignOut(ctx, secret); err != nil {
		t.Errorf("SignOut(twice) = %v, want nil", err)
	}
	events, _ := e.svc.Audit(ctx, owner, dbtrust.AuditFilter{Limit: 10})
	var actions []string
	for _, ev := range events {
		if ev.Actor == "token:"+ownerTok.ID {
			actions = append(actions, ev.Action)
		}
	}
	if strings.Join(actions, ",") != "session.delete,session.create" {
		t.Errorf("audit of the owner's session = %v, want session.delete, session.create", actions)
	}
}
