package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbtrust/dbtrust/client"
	"github.com/dbtrust/dbtrust/internal/sqlite"
)

// TestAuditCommands: list with filters and pages, export as JSON lines,
// verify; a row edited or deleted by hand makes verify fail, naming it.
func TestAuditCommands(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	cli(t, "account", "create", "acme", "--data", data)
	for _, name := range []string{"a", "b", "c"} {
		cli(t, "token", "create", "--name", name, "--role", "viewer", "--data", data)
	}
	cli(t, "instance", "create", "--name", "orders", "--engine", "pg", "--data", data)

	var page client.AuditList
	cliJSON(t, &page, "audit", "list", "--action", "token.create", "--limit", "2", "--data", data)
	if len(page.Events) != 2 || page.NextCursor == "" || page.Events[0].Hash == "" {
		t.Fatalf("audit list --action token.create --limit 2 = %+v, want 2 events and a cursor", page)
	}
	var next client.AuditList
	cliJSON(t, &next, "audit", "list", "--action", "token.create", "--limit", "2", "--cursor", page.NextCursor, "--data", data)
	if len(next.Events) != 1 || next.NextCursor != "" || next.Events[0].Seq >= page.Events[1].Seq {
		t.Fatalf("second page = %+v, want the oldest token.create event and no cursor", next)
	}
	if out := cli(t, "audit", "list", "--data", data); !strings.Contains(out, "instance.create") || !strings.Contains(out, "SEQ") {
		t.Fatalf("audit list table =\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(cli(t, "audit", "export", "--data", data)), "\n")
	if len(lines) != 5 || !strings.Contains(lines[0], `"seq":1,`) || !strings.Contains(lines[4], `"action":"instance.create"`) {
		t.Fatalf("audit export = %d lines:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	if out := cli(t, "audit", "verify", "--data", data); !strings.Contains(out, "intact: 5 events") {
		t.Fatalf("audit verify =\n%s", out)
	}

	tamper := func(q string) {
		st, err := sqlite.Open(context.Background(), filepath.Join(data, "dbtrust.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if _, err := st.SQL().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct{ tamper, want string }{
		{`UPDATE audit SET actor = 'token:nobody' WHERE seq = 3`, "event 3"},
		{`DELETE FROM audit WHERE seq = 2`, "event 2"},
	} {
		tamper(tt.tamper)
		out, err := runCmd(data, nil, "audit", "verify")
		if err == nil || exitCode(err) != exitError || !strings.Contains(out+err.Error(), tt.want) || !strings.Contains(out, "BROKEN") {
			t.Fatalf("audit verify after %s = %v (exit %d)\n%s; want a failure naming %s", tt.tamper, err, exitCode(err), out, tt.want)
		}
	}
}
