package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/client"
	"github.com/google/uuid"
)

// runCmd runs 'dbtrust ARGS' on the data folder with env and returns its
// standard output and error.
func runCmd(data string, env map[string]string, args ...string) (string, error) {
	var out, errOut bytes.Buffer
	full := append([]string{"dbtrust"}, args...)
	if data != "" {
		full = append(full, "--data", data)
	}
	err := run(context.Background(), full, mapEnv(env), strings.NewReader(""), &out, &errOut)
	return out.String(), err
}

func mustRun(t *testing.T, data string, args ...string) string {
	t.Helper()
	out, err := runCmd(data, nil, args...)
	if err != nil {
		t.Fatalf("dbtrust %s = %v, want nil", strings.Join(args, " "), err)
	}
	return out
}

func mustJSON(t *testing.T, v any, data string, args ...string) {
	t.Helper()
	out := mustRun(t, data, append(args, "-o", "json")...)
	if err := decodeOutput(out, v, true); err != nil {
		t.Fatalf("dbtrust %s -o json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func wantTimestamp(t *testing.T, what, s string) {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil || time.Since(ts) > time.Hour || time.Until(ts) > time.Minute {
		t.Errorf("%s = %q, want a recent RFC 3339 time", what, s)
	}
}

var tableTokenRE = regexp.MustCompile(`(?m)^token:\s+(dbt_[0-9a-f]{16}_\S{43})$`)

func TestAccountCommands(t *testing.T) {
	t.Parallel()
	data := t.TempDir()

	var acme accountOut
	mustJSON(t, &acme, data, "account", "create", "acme")
	if _, err := uuid.Parse(acme.ID); err != nil || acme.Name != "acme" || len(acme.ProjectID) != 32 || !strings.HasPrefix(acme.Token, "dbt_") {
		t.Errorf("account create acme -o json = %+v, want an ID, the name, a project and a token", acme)
	}
	wantTimestamp(t, "account create -o json created_at", acme.CreatedAt)

	table := mustRun(t, data, "account", "create", "beta")
	m := tableTokenRE.FindStringSubmatch(table)
	if m == nil || !strings.Contains(table, "beta") {
		t.Errorf("account create beta (table) =\n%s\nwant the name and a token line", table)
	}

	var list []accountOut
	mustJSON(t, &list, data, "account", "list")
	var names []string
	for _, a := range list {
		names = append(names, a.Name)
		if a.Token != "" {
			t.Errorf("account list -o json shows a token for %q, want none", a.Name)
		}
	}
	if !slices.Equal(names, []string{"acme", "beta"}) {
		t.Errorf("account list -o json names = %q, want [acme beta]", names)
	}
	table = mustRun(t, data, "account", "list")
	if lines := strings.Split(strings.TrimSpace(table), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") ||
		!strings.Contains(table, acme.ID) || !strings.Contains(table, acme.ProjectID) || strings.Contains(table, "dbt_") {
		t.Errorf("account list (table) =\n%s\nwant a header and one line per account, no token", table)
	}

	// Both printed tokens work against a server on the same data.
	s := startServe(t, http.DefaultClient, nil, "serve", "--addr", "127.0.0.1:0", "--data", data)
	if s.token != "" {
		t.Errorf("serve on a folder with accounts printed a token")
	}
	for _, tok := range []string{acme.Token, m[1]} {
		if code, body := doRequest(t, http.DefaultClient, http.MethodGet, s.url+"/v2/databases", tok, ""); code != http.StatusOK {
			t.Errorf("GET /v2/databases with a token from account create = %d %s, want 200", code, body)
		}
	}

	errorCases := []struct {
		name     string
		args     []string
		wantCode dbtrust.Code // "" when the error is the command's own
	}{
		{"taken name", []string{"account", "create", "acme"}, dbtrust.Conflict},
		{"bad name", []string{"account", "create", "Not Valid"}, dbtrust.Invalid},
		{"no name", []string{"account", "create"}, ""},
		{"two names", []string{"account", "create", "x", "y"}, ""},
		{"unknown subcommand", []string{"account", "rename", "x"}, ""},
		{"no subcommand", []string{"account"}, ""},
		{"unknown output", []string{"account", "list", "-o", "xml"}, ""},
		{"unknown flag", []string{"account", "list", "--colour"}, ""},
	}
	for _, tt := range errorCases {
		_, err := runCmd(data, nil, tt.args...)
		if err == nil {
			t.Errorf("dbtrust %s = nil, want an error", strings.Join(tt.args, " "))
		} else if tt.wantCode != "" && dbtrust.ErrorCode(err) != tt.wantCode {
			t.Errorf("dbtrust %s = %v, want code %q", strings.Join(tt.args, " "), err, tt.wantCode)
		}
	}
	mustJSON(t, &list, data, "account", "list")
	if len(list) != 2 {
		t.Errorf("account list after failed creations = %d accounts, want 2", len(list))
	}
}

func TestTokenCommands(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	var acme accountOut
	mustJSON(t, &acme, data, "account", "create", "acme")

	// With one account, --account may be left out.
	var ci client.Token
	mustJSON(t, &ci, data, "token", "create", "--name", "ci", "--role", "admin")
	if len(ci.ID) != 16 || ci.Name != "ci" || ci.Role != "admin" || !strings.HasPrefix(ci.Secret, "dbt_"+ci.ID+"_") || ci.RevokedAt != "" {
		t.Errorf("token create -o json = %+v, want ID, name ci, role admin, the token", ci)
	}
	wantTimestamp(t, "token create created_at", ci.CreatedAt)
	table := mustRun(t, data, "token", "create", "--name", "reader", "--role", "viewer", "--account", "acme")
	m := tableTokenRE.FindStringSubmatch(table)
	if m == nil || !strings.Contains(table, "viewer") {
		t.Fatalf("token create (table) =\n%s\nwant the role and a token line", table)
	}
	readerToken := m[1]
	readerID := strings.Split(readerToken, "_")[1]
	var def client.Token
	mustJSON(t, &def, data, "token", "create", "--name", "default-role", "--account", acme.ID)
	if def.Role != "member" {
		t.Errorf("token create without --role = role %q, want member", def.Role)
	}

	s := startServe(t, http.DefaultClient, nil, "serve", "--addr", "127.0.0.1:0", "--data", data)
	for _, tok := range []string{ci.Secret, readerToken, def.Secret} {
		if code, _ := doRequest(t, http.DefaultClient, http.MethodGet, s.url+"/v2/databases", tok, ""); code != http.StatusOK {
			t.Errorf("GET /v2/databases with a CLI-made token = %d, want 200", code)
		}
	}

	var list []client.Token
	mustJSON(t, &list, data, "token", "list")
	if len(list) != 4 { // the owner token, ci, reader, default-role
		t.Fatalf("token list -o json = %d tokens, want 4: %+v", len(list), list)
	}
	for _, tok := range list {
		if tok.Secret != "" {
			t.Errorf("token list -o json shows the secret of %q, want none", tok.Name)
		}
	}
	table = mustRun(t, data, "token", "list")
	if !strings.HasPrefix(table, "ID") || !strings.Contains(table, ci.ID) || strings.Contains(table, "dbt_") {
		t.Errorf("token list (table) =\n%s\nwant a header and the IDs, no secrets", table)
	}

	// Revoke by ID (JSON) and by the whole token string (table).
	var revoked map[string]string
	mustJSON(t, &revoked, data, "token", "revoke", ci.ID, "--yes")
	if revoked["revoked"] != ci.ID {
		t.Errorf("token revoke -o json = %v, want revoked: %s", revoked, ci.ID)
	}
	if out := mustRun(t, data, "token", "revoke", readerToken, "--yes"); !strings.Contains(out, readerID) {
		t.Errorf("token revoke <whole token> = %q, want it to name %s", out, readerID)
	}
	mustJSON(t, &list, data, "token", "list")
	for _, tok := range list {
		want := tok.ID == ci.ID || tok.ID == readerID
		if (tok.RevokedAt != "") != want {
			t.Errorf("token list after revoke: %s revoked_at %q, want revoked %v", tok.Name, tok.RevokedAt, want)
		}
	}
	// The running server stops accepting them once it notices the CLI's change.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c1, _ := doRequest(t, http.DefaultClient, http.MethodGet, s.url+"/v2/databases", ci.Secret, "")
		c2, _ := doRequest(t, http.DefaultClient, http.MethodGet, s.url+"/v2/databases", readerToken, "")
		if c1 == http.StatusUnauthorized && c2 == http.StatusUnauthorized {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server answers revoked tokens with %d, %d after 30s, want 401", c1, c2)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, _ := doRequest(t, http.DefaultClient, http.MethodGet, s.url+"/v2/databases", def.Secret, ""); code != http.StatusOK {
		t.Errorf("GET with a token that was not revoked = %d, want 200", code)
	}

	mustJSON(t, new(accountOut), data, "account", "create", "beta")
	errorCases := []struct {
		name     string
		args     []string
		wantCode dbtrust.Code
	}{
		{"several accounts, none named", []string{"token", "list"}, ""},
		{"unknown account", []string{"token", "list", "--account", "nobody"}, dbtrust.NotFound},
		{"bad role", []string{"token", "create", "--account", "acme", "--name", "x", "--role", "root"}, dbtrust.Invalid},
		{"no name", []string{"token", "create", "--account", "acme"}, dbtrust.Invalid},
		{"revoke again", []string{"token", "revoke", ci.ID, "--yes", "--account", "acme"}, dbtrust.NotFound},
		{"revoke unknown", []string{"token", "revoke", "0123456789abcdef", "--yes", "--account", "acme"}, dbtrust.NotFound},
		{"revoke another account's", []string{"token", "revoke", def.ID, "--yes", "--account", "beta"}, dbtrust.NotFound},
		{"revoke without ID", []string{"token", "revoke", "--account", "acme"}, ""},
		{"unknown subcommand", []string{"token", "rotate", "--account", "acme"}, ""},
	}
	for _, tt := range errorCases {
		_, err := runCmd(data, nil, tt.args...)
		if err == nil {
			t.Errorf("dbtrust %s = nil, want an error", strings.Join(tt.args, " "))
		} else if tt.wantCode != "" && dbtrust.ErrorCode(err) != tt.wantCode {
			t.Errorf("dbtrust %s = %v, want code %q", strings.Join(tt.args, " "), err, tt.wantCode)
		}
	}
	// DBTRUST_ACCOUNT names the account too.
	out, err := runCmd(data, map[string]string{"DBTRUST_ACCOUNT": "beta"}, "token", "list", "-o", "json")
	if err != nil {
		t.Fatalf("DBTRUST_ACCOUNT=beta token list = %v, want nil", err)
	}
	if err := decodeOutput(out, &list, true); err != nil || len(list) != 1 || list[0].Role != "owner" {
		t.Errorf("DBTRUST_ACCOUNT=beta token list = %+v, %v, want beta's one owner token", list, err)
	}
}

func TestInstanceCommands(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	// Before any account, the commands say so.
	if _, err := runCmd(data, nil, "instance", "list"); err == nil {
		t.Errorf("instance list with no account = nil, want an error")
	}
	mustJSON(t, new(accountOut), data, "account", "create", "acme")

	var empty []instanceOut
	if out := mustRun(t, data, "instance", "list", "-o", "json"); strings.Join(strings.Fields(out), "") != `{"instances":[]}` {
		t.Errorf("instance list -o json with none = %q, want {\"instances\": []}", out)
	}

	var orders instanceOut
	mustJSON(t, &orders, data, "instance", "create", "--name", "orders", "--engine", "pg", "--tag", "prod", "--tag", "team-a,eu",
		"--version", "15", "--region", "fra1", "--size", "db-s-2vcpu-4gb", "--nodes", "3", "--ca-key-type", "ecdsa-p384")
	if _, err := uuid.Parse(orders.ID); err != nil || orders.Name != "orders" || orders.Engine != "pg" || orders.Version != "15" ||
		orders.Region != "fra1" || orders.Size != "db-s-2vcpu-4gb" || orders.NumNodes != 3 || !orders.TLS ||
		!slices.Equal(orders.Tags, []string{"prod", "team-a", "eu"}) || !strings.HasPrefix(orders.Host, "orders-") {
		t.Errorf("instance create -o json = %+v, want every asked-for field", orders)
	}
	if len(orders.CAs) != 1 || orders.CAs[0].State != "current" || orders.CAs[0].KeyType != "ecdsa-p384" || len(orders.CAs[0].Fingerprint) != 64 {
		t.Errorf("instance create -o json CAs = %+v, want one current ecdsa-p384 CA", orders.CAs)
	}
	wantTimestamp(t, "instance create created_at", orders.CreatedAt)

	table := mustRun(t, data, "instance", "create", "--name", "cache", "--engine", "redis", "--no-tls")
	if !strings.Contains(table, "cache") || !strings.Contains(table, "redis") || !regexp.MustCompile(`(?m)^tls:\s+false$`).MatchString(table) ||
		!regexp.MustCompile(`(?m)^ca current:`).MatchString(table) {
		t.Errorf("instance create (table) =\n%s\nwant the name, engine, tls false and the CA", table)
	}

	var list []instanceOut
	mustJSON(t, &list, data, "instance", "list")
	if len(list) != 2 || list[0].Name != "orders" || list[1].Name != "cache" || list[1].TLS || list[1].Engine != "redis" {
		t.Fatalf("instance list -o json = %+v, want orders then cache", list)
	}
	cacheID := list[1].ID
	mustJSON(t, &list, data, "instance", "list", "--tag", "eu")
	if len(list) != 1 || list[0].ID != orders.ID {
		t.Errorf("instance list --tag eu = %+v, want orders only", list)
	}
	table = mustRun(t, data, "instance", "list")
	if lines := strings.Split(strings.TrimSpace(table), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(table, orders.ID) {
		t.Errorf("instance list (table) =\n%s\nwant a header and two lines", table)
	}

	var shown instanceOut
	mustJSON(t, &shown, data, "instance", "show", orders.ID)
	if shown.ID != orders.ID || len(shown.CAs) != 1 || shown.CAs[0].Fingerprint != orders.CAs[0].Fingerprint {
		t.Errorf("instance show -o json = %+v, want the created instance and its CA", shown)
	}
	if table := mustRun(t, data, "instance", "show", orders.ID); !strings.Contains(table, orders.CAs[0].Fingerprint) || !strings.Contains(table, orders.Host) {
		t.Errorf("instance show (table) =\n%s\nwant the host and the CA fingerprint", table)
	}

	// The server on the same data serves the CLI's instance and its CA.
	s := startServe(t, http.DefaultClient, nil, "serve", "--addr", "127.0.0.1:0", "--data", data)
	var tok client.Token
	mustJSON(t, &tok, data, "token", "create", "--name", "api", "--role", "viewer")
	if code, body := doRequest(t, http.DefaultClient, http.MethodGet, s.url+"/v2/databases/"+orders.ID+"/ca", tok.Secret, ""); code != http.StatusOK {
		t.Errorf("GET /v2/databases/{CLI instance}/ca = %d %s, want 200", code, body)
	}

	var deleted map[string]string
	mustJSON(t, &deleted, data, "instance", "delete", orders.ID, "--yes")
	if deleted["deleted"] != orders.ID {
		t.Errorf("instance delete -o json = %v, want deleted: %s", deleted, orders.ID)
	}
	if out := mustRun(t, data, "instance", "delete", cacheID, "--yes"); !strings.Contains(out, cacheID) {
		t.Errorf("instance delete (table) = %q, want it to name the instance", out)
	}
	_, err := runCmd(data, nil, "instance", "show", orders.ID)
	if dbtrust.ErrorCode(err) != dbtrust.NotFound {
		t.Errorf("instance show <deleted> = %v, want NotFound", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _ := doRequest(t, http.DefaultClient, http.MethodGet, s.url+"/v2/databases/"+orders.ID+"/ca", tok.Secret, "")
		if code == http.StatusNotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /v2/databases/{deleted}/ca = %d 30s after the CLI deleted it, want 404", code)
		}
		time.Sleep(20 * time.Millisecond)
	}

	mustJSON(t, new(accountOut), data, "account", "create", "beta")
	var betaInst instanceOut
	mustJSON(t, &betaInst, data, "instance", "create", "--name", "orders", "--account", "beta")
	errorCases := []struct {
		name      string
		args      []string
		wantCode  dbtrust.Code
		wantField string
	}{
		{"several accounts, none named", []string{"instance", "list"}, "", ""},
		{"unknown account", []string{"instance", "list", "--account", "nobody"}, dbtrust.NotFound, ""},
		{"bad engine", []string{"instance", "create", "--account", "acme", "--name", "x", "--engine", "oracle"}, dbtrust.Invalid, "engine"},
		{"bad name", []string{"instance", "create", "--account", "acme", "--name", "Bad_Name"}, dbtrust.Invalid, "name"},
		{"bad version", []string{"instance", "create", "--account", "acme", "--name", "x", "--version", "latest"}, dbtrust.Invalid, "version"},
		{"too many nodes", []string{"instance", "create", "--account", "acme", "--name", "x", "--nodes", "17"}, dbtrust.Invalid, "num_nodes"},
		{"bad tag", []string{"instance", "create", "--account", "acme", "--name", "x", "--tag", "a b"}, dbtrust.Invalid, "tags"},
		{"bad key type", []string{"instance", "create", "--account", "acme", "--name", "x", "--ca-key-type", "rsa-1024"}, "", ""},
		{"taken name", []string{"instance", "create", "--account", "beta", "--name", "orders"}, dbtrust.Conflict, ""},
		{"another account's instance", []string{"instance", "show", betaInst.ID, "--account", "acme"}, dbtrust.NotFound, ""},
		{"delete another account's", []string{"instance", "delete", betaInst.ID, "--yes", "--account", "acme"}, dbtrust.NotFound, ""},
		{"malformed ID", []string{"instance", "show", "nope", "--account", "acme"}, dbtrust.NotFound, ""},
		{"show without ID", []string{"instance", "show", "--account", "acme"}, "", ""},
		{"unknown subcommand", []string{"instance", "resize", "--account", "acme"}, "", ""},
		{"bad --nodes", []string{"instance", "create", "--account", "acme", "--name", "x", "--nodes", "many"}, "", ""},
	}
	for _, tt := range errorCases {
		_, err := runCmd(data, nil, tt.args...)
		if err == nil {
			t.Errorf("dbtrust %s = nil, want an error", strings.Join(tt.args, " "))
			continue
		}
		if tt.wantCode != "" && dbtrust.ErrorCode(err) != tt.wantCode {
			t.Errorf("dbtrust %s = %v, want code %q", strings.Join(tt.args, " "), err, tt.wantCode)
		}
		if got := dbtrust.ErrorField(err); got != tt.wantField {
			t.Errorf("ErrorField(dbtrust %s) = %q, want %q", strings.Join(tt.args, " "), got, tt.wantField)
		}
	}
	// Nothing half-made: beta still has its one instance, acme none.
	mustJSON(t, &list, data, "instance", "list", "--account", "beta")
	if len(list) != 1 || list[0].ID != betaInst.ID {
		t.Errorf("beta's instances after the failures = %+v, want only %s", list, betaInst.ID)
	}
	mustJSON(t, &empty, data, "instance", "list", "--account", "acme")
	if len(empty) != 0 {
		t.Errorf("acme's instances after the failures = %+v, want none", empty)
	}
}

// mainArgsEnv, when set in a child's environment, makes this test binary run
// main with the JSON list of arguments it holds.
const mainArgsEnv = "DBTRUST_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if v := os.Getenv(mainArgsEnv); v != "" {
		var args []string
		if err := json.Unmarshal([]byte(v), &args); err != nil {
			panic(err)
		}
		os.Args = append([]string{"dbtrust"}, args...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestUnknownSubcommandWritesNothing: a mistyped subcommand fails before the
// data folder is opened, so it creates no folder, key or database.
func TestUnknownSubcommandWritesNothing(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	env := map[string]string{"HOME": home}
	for _, args := range [][]string{
		{"account", "lst"},
		{"account", "--data", filepath.Join(home, "d")},
		{"token", "rotate"},
		{"instance", "resize"},
		{"instance", "-o", "json"},
		{"accesskey", "bogus"},
	} {
		if _, err := runCmd("", env, args...); err == nil {
			t.Errorf("dbtrust %s = nil, want an error", strings.Join(args, " "))
		}
	}
	entries, err := os.ReadDir(home)
	if err != nil || len(entries) != 0 {
		t.Errorf("HOME after unknown subcommands holds %d entries (%v), want nothing", len(entries), err)
	}
}
