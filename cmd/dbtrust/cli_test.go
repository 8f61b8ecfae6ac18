package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/client"
)

// runIO runs one command with stdin and says whether stdin is a terminal.
func runIO(interactive bool, stdin string, args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	a := &app{getenv: noEnv, stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, interactive: interactive, cfg: &config{}}
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	err := root.ExecuteContext(context.Background())
	if err != nil {
		if !a.ran {
			err = asUsageError(err)
		}
		a.reportError(err)
	}
	return out.String(), errOut.String(), err
}

func TestCompletionAndVersion(t *testing.T) {
	t.Parallel()
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		out := cli(t, "completion", shell)
		if !strings.Contains(out, "dbtrust") || len(out) < 500 {
			t.Errorf("completion %s printed %d bytes, want a script naming dbtrust", shell, len(out))
		}
	}
	// Instance names complete from the data folder.
	data := t.TempDir()
	cli(t, "account", "create", "acme", "--data", data)
	cli(t, "instance", "create", "orders", "--data", data)
	if out := cli(t, "__complete", "instance", "show", "--data", data, "ord"); !strings.Contains(out, "orders") {
		t.Errorf("completing 'instance show ord' = %q, want orders", out)
	}

	bi, _ := debug.ReadBuildInfo()
	for _, args := range [][]string{{"--version"}, {"version"}} {
		out := cli(t, args...)
		if !strings.HasPrefix(out, "dbtrust ") || !strings.Contains(out, bi.GoVersion) || strings.Contains(out, " dev\n") {
			t.Errorf("dbtrust %s = %q, want the build info's version and %s", args[0], out, bi.GoVersion)
		}
	}
}

func TestSuggestions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"instnace", "list"}, `did you mean "instance"`},
		{[]string{"instance", "lsit"}, `did you mean "list"`},
		{[]string{"cert", "isue", "x"}, `did you mean "issue"`},
		{[]string{"instance", "list", "--tga", "x"}, `did you mean "tag"`},
		{[]string{"cert", "issue", "x", "--key-ot", "k"}, `did you mean "key-out"`},
		{[]string{"rotate"}, "finish, retire, rollback, start or status"},
	}
	for _, tt := range tests {
		_, stderr, err := runIO(false, "", tt.args...)
		if exitCode(err) != exitUsage || !strings.Contains(stderr, tt.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("dbtrust %s: exit %d, stderr %q; want one line with %s", strings.Join(tt.args, " "), exitCode(err), stderr, tt.want)
		}
	}
}

// TestNamesIDsAndPrefixes: instances, certificates and tokens are taken by
// name, ID or a unique ID prefix, the same on the data folder and through
// the server; an ambiguous prefix says which IDs it matches.
func TestNamesIDsAndPrefixes(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	url, token := serveInProcess(t, "--data", data)
	for _, loc := range [][]string{{"--data", data}, {"--server", url, "--token", token}} {
		with := func(args ...string) []string { return append(args, loc...) }
		var a, b client.Instance
		name := "n" + strings.TrimPrefix(loc[0], "--")
		cliJSON(t, &a, with("instance", "create", name+"-a")...)
		cliJSON(t, &b, with("instance", "create", name+"-b")...)
		for _, arg := range []string{a.ID, a.Name, a.ID[:8], strings.ToUpper(a.ID[:8])} {
			var got client.Instance
			cliJSON(t, &got, with("instance", "show", arg)...)
			if got.ID != a.ID {
				t.Errorf("%v: instance show %s = %s, want %s", loc[0], arg, got.ID, a.ID)
			}
		}
		if err := runErr(with("instance", "show", "nope")...); dbtrust.ErrorCode(err) != dbtrust.NotFound {
			t.Errorf("%v: instance show nope = %v, want not found", loc[0], err)
		}
		var c1, c2 client.Certificate
		dir := t.TempDir()
		cliJSON(t, &c1, with("cert", "issue", a.ID[:6], "--key-out", filepath.Join(dir, "1.key"))...)
		cliJSON(t, &c2, with("cert", "issue", a.Name, "--key-out", filepath.Join(dir, "2.key"))...)
		var rev client.Certificate
		cliJSON(t, &rev, with("cert", "revoke", a.Name, c1.Serial[:10], "--yes")...)
		if rev.Serial != c1.Serial || rev.State != "revoked" {
			t.Errorf("%v: cert revoke by serial prefix = %+v, want %s revoked", loc[0], rev, c1.Serial)
		}
		var tok client.Token
		cliJSON(t, &tok, with("token", "create", "--name", name+"-ci", "--role", "viewer")...)
		var revoked map[string]string
		cliJSON(t, &revoked, with("token", "revoke", name+"-ci", "--yes")...)
		if revoked["revoked"] != tok.ID {
			t.Errorf("%v: token revoke by name = %v, want %s", loc[0], revoked, tok.ID)
		}
	}
	// An ambiguous prefix: the empty-ish one-character prefix that both
	// share, when they do, is refused with their IDs.
	var list []client.Instance
	cliJSON(t, &list, "instance", "list", "--data", data)
	for _, i := range list {
		for _, j := range list {
			if i.ID != j.ID && i.ID[0] == j.ID[0] {
				err := runErr("instance", "show", i.ID[:1], "--data", data)
				if dbtrust.ErrorCode(err) != dbtrust.Invalid || !strings.Contains(dbtrust.ErrorMessage(err), j.ID) {
					t.Errorf("instance show %s (ambiguous) = %v, want invalid naming both", i.ID[:1], err)
				}
				return
			}
		}
	}
}

// TestGuards: destructive commands ask on a terminal and need --yes
// elsewhere; cert issue never prints a key unless asked with --key-out -,
// and replaces files only with --force.
func TestGuards(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	cli(t, "account", "create", "acme", "--data", data)
	cli(t, "instance", "create", "orders", "--data", data)
	cli(t, "instance", "create", "cache", "--engine", "redis", "--data", data)

	// Not a terminal: --yes is needed, and nothing is deleted without it.
	if _, stderr, err := runIO(false, "y\n", "instance", "delete", "orders", "--data", data); exitCode(err) != exitUsage || !strings.Contains(stderr, "--yes") {
		t.Errorf("instance delete without --yes off a terminal = %v, %q; want a usage error naming --yes", err, stderr)
	}
	// A terminal: it asks; anything but yes keeps the instance.
	if _, stderr, err := runIO(true, "n\n", "instance", "delete", "orders", "--data", data); err == nil || !strings.Contains(stderr, "delete instance orders") {
		t.Errorf("instance delete answered n = %v, %q; want a refusal after the question", err, stderr)
	}
	cli(t, "instance", "show", "orders", "--data", data)
	if _, _, err := runIO(true, "yes\n", "instance", "delete", "orders", "--data", data); err != nil {
		t.Errorf("instance delete answered yes = %v", err)
	}
	if err := runErr("instance", "show", "orders", "--data", data); dbtrust.ErrorCode(err) != dbtrust.NotFound {
		t.Errorf("after delete, instance show = %v, want not found", err)
	}

	// cert issue: no key on stdout unless asked; no file replaced without --force.
	dir := t.TempDir()
	if _, stderr, err := runIO(false, "", "cert", "issue", "cache", "--data", data); exitCode(err) != exitUsage || !strings.Contains(stderr, "--key-out") {
		t.Errorf("cert issue without --key-out = %v, %q; want a usage error naming --key-out", err, stderr)
	}
	out, _, err := runIO(false, "", "cert", "issue", "cache", "--key-out", "-", "--data", data)
	if err != nil || !strings.Contains(out, "PRIVATE KEY") {
		t.Errorf("cert issue --key-out - = %v, want the key on stdout", err)
	}
	key, crt := filepath.Join(dir, "server.key"), filepath.Join(dir, "server.crt")
	out = cli(t, "cert", "issue", "cache", "--key-out", key, "--cert-out", crt, "--data", data)
	if strings.Contains(out, "PRIVATE KEY") {
		t.Errorf("cert issue --key-out FILE printed the key:\n%s", out)
	}
	first, _ := os.ReadFile(key)
	if _, stderr, err := runIO(false, "", "cert", "issue", "cache", "--key-out", key, "--cert-out", crt, "--data", data); exitCode(err) != exitUsage || !strings.Contains(stderr, "--force") {
		t.Errorf("cert issue over existing files = %v, %q; want a usage error naming --force", err, stderr)
	}
	if again, _ := os.ReadFile(key); !bytes.Equal(first, again) {
		t.Error("the refused cert issue changed server.key")
	}
	var list []client.Certificate
	cliJSON(t, &list, "cert", "list", "cache", "--data", data)
	if len(list) != 2 {
		t.Errorf("after a refused issue there are %d certificates, want 2 (nothing issued by the refused one)", len(list))
	}
	cli(t, "cert", "issue", "cache", "--key-out", key, "--cert-out", crt, "--force", "--data", data)
	if again, _ := os.ReadFile(key); bytes.Equal(first, again) {
		t.Error("cert issue --force kept the old server.key")
	}
}
