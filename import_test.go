package dbtrust_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/storetest"
)

// TestImportInstances: a bulk import makes each instance as CreateInstance
// does (defaults, endpoints, a working first CA), audits each one on an
// intact chain, and refuses a batch with a bad or taken item whole, naming
// the item.
func TestImportInstances(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, dbtrust.Options{})
	_, p, _ := e.account(t, "acme")
	single, err := e.svc.CreateInstance(ctx, p, dbtrust.InstanceSpec{Name: "single", Engine: "redis"})
	if err != nil {
		t.Fatal(err)
	}
	var specs []dbtrust.InstanceSpec
	for k := range 40 {
		specs = append(specs, dbtrust.InstanceSpec{Name: fmt.Sprintf("bulk-%d", k), Engine: "redis", Tags: []string{"fleet"}})
	}
	specs[3].Endpoints = []dbtrust.Endpoint{{Host: "bulk-3.example.internal", Port: 6380}}
	insts, err := e.svc.ImportInstances(ctx, p, specs)
	if err != nil || len(insts) != 40 {
		t.Fatalf("ImportInstances(40) = %d, %v", len(insts), err)
	}
	got, bulk := e.svc.InstanceEndpoints(insts[0]), e.svc.InstanceEndpoints(single)
	if insts[0].Version != single.Version || insts[0].Size != single.Size || got[0].Port != bulk[0].Port ||
		!strings.HasPrefix(got[0].Host, "bulk-0-") || !strings.HasSuffix(got[0].Host, ".db.internal") {
		t.Fatalf("an imported instance %+v (endpoints %v) differs from a created one %+v (%v)", insts[0], got, single, bulk)
	}
	if eps := e.svc.InstanceEndpoints(insts[3]); eps[0].Host != "bulk-3.example.internal" {
		t.Fatalf("imported endpoints = %v", eps)
	}
	for _, inst := range []dbtrust.Instance{insts[0], insts[39]} {
		if _, err := e.svc.IssueCertificate(ctx, p, inst.ID, dbtrust.IssueRequest{}); err != nil {
			t.Fatalf("issuing from imported %s: %v", inst.Name, err)
		}
	}
	if rep, err := e.svc.VerifyAudit(ctx); err != nil || rep.Broken != nil {
		t.Fatalf("VerifyAudit after an import = %+v, %v", rep, err)
	}
	creates, _ := e.svc.Audit(ctx, p, dbtrust.AuditFilter{Action: "instance.create", Limit: 1000})
	if len(creates) != 41 {
		t.Fatalf("%d instance.create events, want 41 (one per instance)", len(creates))
	}

	refused := []struct {
		name  string
		specs []dbtrust.InstanceSpec
		code  dbtrust.Code
		msg   string
	}{
		{"taken name", []dbtrust.InstanceSpec{{Name: "fresh-1", Engine: "pg"}, {Name: "bulk-7", Engine: "pg"}}, dbtrust.Conflict, `items[1] (name "bulk-7")`},
		{"name twice", []dbtrust.InstanceSpec{{Name: "fresh-1", Engine: "pg"}, {Name: "fresh-1", Engine: "pg"}}, dbtrust.Conflict, "items[1]"},
		{"bad engine", []dbtrust.InstanceSpec{{Name: "fresh-1", Engine: "pg"}, {Name: "fresh-2", Engine: "oracle"}}, dbtrust.Invalid, `items[1] (name "fresh-2"): engine`},
		{"empty", nil, dbtrust.Invalid, "empty"},
		{"too many", make([]dbtrust.InstanceSpec, dbtrust.MaxImport+1), dbtrust.TooLarge, "at most 1000"},
	}
	for _, tc := range refused {
		_, err := e.svc.ImportInstances(ctx, p, tc.specs)
		if dbtrust.ErrorCode(err) != tc.code || !strings.Contains(dbtrust.ErrorMessage(err), tc.msg) {
			t.Errorf("%s: %v, want %s naming %q", tc.name, err, tc.code, tc.msg)
		}
	}
	list, _ := e.svc.ListInstances(ctx, p, "")
	if len(list) != 41 {
		t.Fatalf("refused imports wrote: %d instances, want 41", len(list))
	}
	storetest.CheckChain(t, e.store)
}
