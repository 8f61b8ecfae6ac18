package dbtrust_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/servicetest"
)

// auditedEnv makes a few changes of each kind and returns the env.
func auditedEnv(t *testing.T) *servicetest.Env {
	t.Helper()
	var logs bytes.Buffer
	e := servicetest.New(t, dbtrust.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx, p := context.Background(), e.Owner()
	inst, err := e.Service.CreateInstance(ctx, p, dbtrust.InstanceSpec{Name: "orders", Engine: "pg"})
	must(t, err)
	tok, _, err := e.Service.CreateToken(ctx, p, "ci", dbtrust.RoleMember)
	must(t, err)
	must(t, e.Service.RevokeToken(ctx, p, tok.ID))
	must(t, e.Service.SetInstanceTLS(ctx, p, inst.ID, false))
	_, err = e.Service.IssueCertificate(ctx, p, inst.ID, dbtrust.IssueRequest{})
	must(t, err)
	_, err = e.Service.RotateStart(ctx, p, inst.ID, "")
	must(t, err)
	must(t, e.Service.DeleteInstance(ctx, p, inst.ID))
	if strings.Contains(logs.String(), "without its audit event") {
		t.Fatalf("a change was committed without its audit event:\n%s", logs.String())
	}
	return e
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestAuditVerify: the chain of a Service's changes verifies; editing,
// deleting, inserting or reordering a row by hand breaks it at that row.
func TestAuditVerify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		tamper  string // SQL run on the store behind the Service's back
		wantSeq int64
	}{
		{"intact", "", 0},
		{"an actor edited", `UPDATE audit SET actor = 'token:someone' WHERE seq = 3`, 3},
		{"a time edited", `UPDATE audit SET time = time + 1 WHERE seq = 5`, 5},
		{"a row deleted", `DELETE FROM audit WHERE seq = 4`, 4},
		{"the last row deleted", `DELETE FROM audit WHERE seq = 8`, 8},
		{"two rows swapped", `UPDATE audit SET seq = CASE seq WHEN 2 THEN -2 WHEN 6 THEN 2 END WHERE seq IN (2, 6); UPDATE audit SET seq = 6 WHERE seq = -2`, 2},
		{"a row taken out of the chain", `UPDATE audit SET seq = NULL WHERE seq = 7`, 7},
		{"a row added at the end", `INSERT INTO audit (time, account_id, actor, action, resource, outcome, seq, prev_hash, hash) SELECT time, account_id, actor, action, resource, outcome, seq + 1, hash, 'x' FROM audit WHERE seq = 8`, 9},
		{"a hash recomputed by hand", `UPDATE audit SET outcome = 'forbidden', hash = 'f00' WHERE seq = 6`, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := auditedEnv(t)
			if tt.tamper != "" {
				for _, q := range strings.Split(tt.tamper, "; ") {
					if _, err := e.Store.SQL().Exec(q); err != nil {
						t.Fatalf("%s: %v", q, err)
					}
				}
			}
			rep, err := e.Service.VerifyAudit(context.Background())
			must(t, err)
			switch {
			case tt.wantSeq == 0 && (rep.Broken != nil || rep.Events != 8 || rep.HeadSeq != 8 || rep.HeadHash == ""):
				t.Fatalf("VerifyAudit(intact) = %+v, want 8 events and no break", rep)
			case tt.wantSeq != 0 && (rep.Broken == nil || rep.Broken.Seq != tt.wantSeq || rep.Broken.Reason == ""):
				t.Fatalf("VerifyAudit(%s) = %+v (break %+v), want a break at event %d", tt.name, rep, rep.Broken, tt.wantSeq)
			}
		})
	}
}
