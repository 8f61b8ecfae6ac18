package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/dbtrust/dbtrust/client"
)

// TestAccessKeyCommands runs create, list and revoke on the data folder and
// through a real server (--server): same output, same JSON shape.
func TestAccessKeyCommands(t *testing.T) {
	t.Parallel()
	for _, where := range []string{"data folder", "server"} {
		t.Run(where, func(t *testing.T) {
			t.Parallel()
			data := t.TempDir()
			on := []string{"--data", data}
			if where == "server" {
				url, token := serveInProcess(t, "--data", data)
				on = []string{"--server", url, "--token", token}
			} else {
				cli(t, "account", "create", "alpha", "--data", data)
			}
			var accts []accountOut
			cliJSON(t, &accts, "account", "list", "--data", data)
			testAccessKeyCommands(t, accts[0].ProjectID, on)
		})
	}
}

func testAccessKeyCommands(t *testing.T, project string, on []string) {
	t.Helper()
	with := func(args ...string) []string { return append(args, on...) }
	var k client.AccessKey
	cliJSON(t, &k, with("accesskey", "create", "--name", "ci", "--role", "viewer")...)
	if len(k.AccessKey) != 20 || len(k.SecretKey) != 40 || k.ProjectID != project || k.Role != "viewer" || k.Name != "ci" {
		t.Fatalf("accesskey create = %+v, want a 20-character AK, a 40-character SK and project %s", k, project)
	}
	table := cli(t, with("accesskey", "create")...)
	if !strings.Contains(table, "secret key:") || !strings.Contains(table, project) {
		t.Fatalf("accesskey create table:\n%s", table)
	}

	var list []client.AccessKey
	cliJSON(t, &list, with("accesskey", "list")...)
	if len(list) != 2 || list[0].AccessKey != k.AccessKey || list[0].SecretKey != "" || list[0].RevokedAt != "" {
		t.Fatalf("accesskey list = %+v, want two keys, no secret", list)
	}
	if out := cli(t, with("accesskey", "list")...); strings.Contains(out, k.SecretKey) || !strings.Contains(out, k.AccessKey) {
		t.Fatalf("accesskey list table shows the SK or misses the AK:\n%s", out)
	}

	var revoked map[string]string
	cliJSON(t, &revoked, with("accesskey", "revoke", "ci", "--yes")...) // by name
	cliJSON(t, &list, with("accesskey", "list")...)
	if revoked["revoked"] != k.AccessKey || list[0].RevokedAt == "" || list[1].RevokedAt != "" {
		t.Fatalf("revoke ci = %v, then the list is %+v", revoked, list)
	}
	cli(t, with("accesskey", "revoke", list[1].AccessKey[:12], "--yes")...) // by unique AK prefix

	for _, args := range [][]string{
		{"accesskey", "revoke", k.AccessKey, "--yes"},  // already revoked
		{"accesskey", "revoke", "DBTKNOSUCH", "--yes"}, // unknown
		{"accesskey", "revoke"},                        // no AK
		{"accesskey", "create", "--role", "root"},
		{"accesskey", "rotate"},
	} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), append(append([]string{"dbtrust"}, args...), on...), noEnv, strings.NewReader(""), &out, &errOut); err == nil {
			t.Errorf("dbtrust %s succeeded, want an error", strings.Join(args, " "))
		}
	}
	// Without --yes, revoke refuses off a terminal and revokes nothing.
	cliJSON(t, &k, with("accesskey", "create", "--name", "guarded")...)
	var out, errOut bytes.Buffer
	if err := run(context.Background(), append([]string{"dbtrust", "accesskey", "revoke", "guarded"}, on...), noEnv, strings.NewReader(""), &out, &errOut); err == nil {
		t.Fatal("accesskey revoke without --yes succeeded")
	}
	cliJSON(t, &list, with("accesskey", "list")...)
	if len(list) != 3 || list[2].Name != "guarded" || list[2].RevokedAt != "" {
		t.Fatalf("after a refused revoke the list is %+v", list)
	}
}

func TestServePublicURLAndLinkTTL(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	url, token := serveInProcess(t, "--data", data, "--public-url", "https://dbtrust.example:8443/", "--link-ttl", "90s")
	var accts []accountOut
	cliJSON(t, &accts, "account", "list", "--data", data)
	var inst instanceOut
	cliJSON(t, &inst, "instance", "create", "--name", "docs", "--engine", "mongodb", "--data", data)
	req, _ := http.NewRequest("GET", url+"/v3/"+accts[0].ProjectID+"/instances/"+inst.ID+"/ssl-cert/download-link", nil)
	req.Header.Set("X-Auth-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b struct {
		Certs []struct {
			DownloadLink string `json:"download_link"`
		} `json:"certs"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil || len(b.Certs) != 1 {
		t.Fatalf("download-link = %d (%v)", resp.StatusCode, err)
	}
	if !strings.HasPrefix(b.Certs[0].DownloadLink, "https://dbtrust.example:8443/dbtrust-dds-ssl/") {
		t.Fatalf("link %q does not start with the public URL", b.Certs[0].DownloadLink)
	}

	for _, args := range [][]string{
		{"--public-url", "ftp://x"}, {"--public-url", "https://x/dbtrust"}, {"--public-url", "https://x/?a=1"}, {"--link-ttl", "0s"}, {"--link-ttl", "1000h"},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"dbtrust", "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir()}, args...), noEnv, nil, &out, &errOut)
		if err == nil {
			t.Errorf("serve %v started, want a flag error", args)
		}
	}
}
