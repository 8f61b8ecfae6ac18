package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbtrust/dbtrust/client"
)

// TestInstanceImport imports a fleet through the server (NDJSON, in
// batches) and on the data folder (a JSON array from stdin), and checks that
// a batch with a taken name is refused whole, naming the item, while the
// batches before it stay, and that the audit chain stays intact.
func TestInstanceImport(t *testing.T) {
	data := t.TempDir()
	url, token := serveInProcess(t, "--data", data)
	var nd strings.Builder
	for k := range 25 {
		fmt.Fprintf(&nd, `{"name": "fleet-%d", "engine": "pg", "tags": ["fleet"]}`+"\n", k)
	}
	file := filepath.Join(t.TempDir(), "fleet.ndjson")
	if err := os.WriteFile(file, []byte(nd.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var out importOut
	cliJSON(t, &out, "--server", url, "--token", token, "instance", "import", "--file", file, "--batch", "10")
	if out.Imported != 25 {
		t.Fatalf("import through the server: %+v, want 25", out)
	}

	// On the data folder, from stdin: the second batch (items 2-3) holds a
	// taken name, so item 2 and 3 are not written; items 0-1 are.
	array := `[{"name": "more-0", "engine": "redis"}, {"name": "more-1", "engine": "redis"},
		{"name": "more-2", "engine": "redis"}, {"name": "fleet-7", "engine": "pg"}]`
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"dbtrust", "--data", data, "instance", "import", "--file", "-", "--batch", "2"},
		noEnv, strings.NewReader(array), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), `2 instances imported; the batch of items 2 to 3`) || !strings.Contains(err.Error(), `items[1] (name "fleet-7")`) {
		t.Fatalf("import with a taken name: %v, want the batch of items 2 to 3 refused naming items[1] fleet-7", err)
	}
	var list []client.Instance
	cliJSON(t, &list, "--data", data, "instance", "list")
	names := map[string]bool{}
	for _, i := range list {
		names[i.Name] = true
	}
	if len(list) != 27 || !names["more-1"] || names["more-2"] {
		t.Fatalf("after the imports: %d instances (more-1 %v, more-2 %v), want 27 with more-1 and without more-2", len(list), names["more-1"], names["more-2"])
	}
	if v := cli(t, "--data", data, "audit", "verify"); !strings.Contains(v, "intact") {
		t.Fatalf("audit verify after imports:\n%s", v)
	}
}
