package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/client"
)

// TestEndpointsNodeTokenAgent drives the fleet commands as the README shows
// them: an instance with endpoints (created, shown, updated), a node token,
// and 'agent --once' through a running server, whose files the recipe's
// bundle verifies for every endpoint.
func TestEndpointsNodeTokenAgent(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	url, _ := serveInProcess(t, "--data", data)

	var inst client.Instance
	cliJSON(t, &inst, "instance", "create", "orders", "--engine", "pg", "--data", data,
		"--endpoint", "db1.example.internal:5432,role=primary", "--endpoint", "127.0.0.1:5433")
	if inst.Host != "db1.example.internal" || inst.Port != 5432 || len(inst.Endpoints) != 2 {
		t.Fatalf("instance create --endpoint = %+v", inst)
	}
	if out := cli(t, "instance", "show", "orders", "--data", data); !strings.Contains(out, "127.0.0.1:5433") {
		t.Fatalf("instance show lacks an endpoint:\n%s", out)
	}
	for _, bad := range [][]string{
		{"instance", "create", "bad", "--endpoint", "db.example"},
		{"instance", "create", "bad", "--endpoint", "db.example:0"},
		{"instance", "create", "bad", "--endpoint", "db_1.example:5432"},
		{"instance", "update", "orders", "--endpoint", "db.example:70000"},
		{"instance", "update", "orders"},
	} {
		if err := runErr(append(bad, "--data", data)...); exitCode(err) != 2 {
			t.Errorf("dbtrust %s = %v (exit %d), want a usage error", strings.Join(bad, " "), err, exitCode(err))
		}
	}
	cliJSON(t, &inst, "instance", "update", "orders", "--endpoint", "db1.example.internal:5432", "--endpoint", "127.0.0.1:6432", "--data", data)
	if len(inst.Endpoints) != 2 || inst.Endpoints[1].Port != 6432 {
		t.Fatalf("instance update = %+v", inst.Endpoints)
	}

	var tok client.Token
	cliJSON(t, &tok, "token", "create", "--instance", "orders", "--name", "orders-db1", "--data", data)
	if tok.Role != "node" || tok.InstanceID != inst.ID || tok.Secret == "" {
		t.Fatalf("token create --instance = %+v", tok)
	}
	if err := runErr("instance", "list", "--server", url, "--token", tok.Secret); dbtrust.ErrorCode(err) != dbtrust.Forbidden {
		t.Fatalf("instance list with a node token: %v, want forbidden", err)
	}

	dir := t.TempDir()
	agent := []string{"agent", "--server", url, "--token", tok.Secret, "--instance", "orders", "--dir", dir, "--once"}
	if out := cli(t, agent...); !strings.Contains(out, "installed the CA bundle and a new certificate") {
		t.Fatalf("agent --once:\n%s", out)
	}
	if out := cli(t, agent...); !strings.Contains(out, "the files in place are current") {
		t.Fatalf("second agent --once:\n%s", out)
	}
	certPEM, _ := os.ReadFile(filepath.Join(dir, "server.crt"))
	var rc client.Recipes
	caFile := filepath.Join(t.TempDir(), "orders-ca.pem")
	cliJSON(t, &rc, "recipe", "orders", "--ca-file", caFile, "--data", data)
	bundle, _ := os.ReadFile(caFile)
	if err := verifyAgainst(t, certPEM, bundle); err != nil {
		t.Fatalf("the agent's certificate does not verify against the recipe's bundle: %v", err)
	}
	if !strings.Contains(rc.Recipes[0].Command, "host=db1.example.internal port=5432 ") {
		t.Fatalf("psql recipe = %q, want the primary endpoint", rc.Recipes[0].Command)
	}
	other := append(agent[:6:6], "billing", "--dir", dir, "--once")
	if err := runErr(other...); err == nil || !strings.Contains(err.Error(), "belongs to instance orders") {
		t.Fatalf("agent for another instance: %v", err)
	}
}
