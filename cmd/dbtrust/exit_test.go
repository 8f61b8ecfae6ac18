package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbtrust/dbtrust/client"
)

// runMain runs main itself in a child process (this test binary, told by an
// environment variable to act as dbtrust) and returns its exit code, stdout
// and stderr.
func runMain(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	b, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), mainArgsEnv+"="+string(b), "DBTRUST_DATA="+filepath.Join(t.TempDir(), "unused")), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

// TestMainExitCode: each class of failure exits with its own code (the
// README's table) and says what happened on stderr, as one JSON object under
// -o json; success exits 0.
func TestMainExitCode(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	url, owner := serveInProcess(t, "--data", data)
	var viewer client.Token
	cliJSON(t, &viewer, "token", "create", "--name", "viewer", "--role", "viewer", "--server", url, "--token", owner)
	cli(t, "instance", "create", "orders", "--engine", "mysql", "--data", data)
	cli(t, "account", "create", "beta", "--data", data)
	notFile := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notFile, nil, 0o644)
	srv := func(token string, args ...string) []string { return append(args, "--server", url, "--token", token) }
	tests := []struct {
		name     string
		args     []string
		wantExit int
		wantCode string // the JSON error's code, checked when the args ask for -o json
	}{
		{"account list", []string{"account", "list", "--data", data}, exitOK, ""},
		{"version", []string{"version"}, exitOK, ""},
		{"--version", []string{"--version"}, exitOK, ""},
		{"help of token create", []string{"token", "create", "-h"}, exitOK, ""},
		{"help of serve", []string{"serve", "-h"}, exitOK, ""},
		{"docs into a file", []string{"docs", notFile}, exitError, ""},
		{"no command", nil, exitUsage, ""},
		{"unknown command", []string{"frobnicate"}, exitUsage, ""},
		{"unknown subcommand", []string{"instance", "lst", "-o", "json"}, exitUsage, "usage"},
		{"unknown flag", []string{"instance", "list", "--tga", "x"}, exitUsage, ""},
		{"missing argument", []string{"instance", "show", "-o", "json"}, exitUsage, "usage"},
		{"several accounts without --account", []string{"token", "list", "--data", data}, exitUsage, ""},
		{"bad role", []string{"token", "create", "--name", "x", "--role", "root", "--account", "beta", "--data", data, "-o", "json"}, exitUsage, "invalid"},
		{"bad engine", []string{"instance", "create", "x", "--engine", "oracle", "--account", "beta", "--data", data}, exitUsage, ""},
		{"unknown account", []string{"instance", "list", "--account", "nobody", "--data", data, "-o", "json"}, exitNotFound, "not_found"},
		{"unknown instance", srv(owner, "instance", "show", "nope", "-o", "json"), exitNotFound, "not_found"},
		{"duplicate name", srv(owner, "instance", "create", "orders", "-o", "json"), exitConflict, "conflict"},
		{"duplicate name locally", []string{"instance", "create", "orders", "--account", "default", "--data", data, "-o", "json"}, exitConflict, "conflict"},
		{"viewer creates", srv(viewer.Secret, "instance", "create", "x", "-o", "json"), exitPermission, "forbidden"},
		{"bad token", srv("dbt_0000000000000000_bad", "instance", "list", "-o", "json"), exitPermission, "unauthorized"},
		{"server down", []string{"instance", "list", "--server", "http://127.0.0.1:1", "--token", owner, "-o", "json"}, exitUnavailable, "unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runMain(t, nil, tt.args...)
			if code != tt.wantExit {
				t.Errorf("dbtrust %s exit = %d, want %d\nstderr: %s", strings.Join(tt.args, " "), code, tt.wantExit, stderr)
			}
			if tt.wantExit == exitOK {
				return
			}
			for _, internal := range []string{"constraint", "UNIQUE", "SQLSTATE", "x509:", "dial tcp", "strconv.", "pflag"} {
				if strings.Contains(stderr, internal) {
					t.Errorf("dbtrust %s stderr = %q: driver or library text (%s) reached the user", strings.Join(tt.args, " "), stderr, internal)
				}
			}
			if tt.wantCode == "" {
				if !strings.HasPrefix(stderr, "dbtrust: ") || strings.Count(stderr, "\n") != 1 {
					t.Errorf("dbtrust %s stderr = %q, want one 'dbtrust: ...' line", strings.Join(tt.args, " "), stderr)
				}
				return
			}
			var body struct {
				Error struct{ Code, Message, Field string } `json:"error"`
			}
			dec := json.NewDecoder(strings.NewReader(stderr))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&body); err != nil || body.Error.Code != tt.wantCode || body.Error.Message == "" {
				t.Errorf("dbtrust %s stderr = %q (%v), want {\"error\":{\"code\":%q,\"message\":...}}", strings.Join(tt.args, " "), stderr, err, tt.wantCode)
			}
		})
	}
}
