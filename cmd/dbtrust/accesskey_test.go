package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestAccessKeyCommands(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	var acct accountOut
	cliJSON(t, &acct, "account", "create", "alpha", "--data", data)

	var k accessKeyOut
	cliJSON(t, &k, "accesskey", "create", "--name", "ci", "--role", "viewer", "--data", data)
	if len(k.AccessKey) != 20 || len(k.SecretKey) != 40 || k.ProjectID != acct.ProjectID || k.Role != "viewer" || k.Name != "ci" {
		t.Fatalf("accesskey create = %+v, want a 20-character AK, a 40-character SK and project %s", k, acct.ProjectID)
	}
	table := cli(t, "accesskey", "create", "--data", data)
	if !strings.Contains(table, "secret key:") || !strings.Contains(table, acct.ProjectID) {
		t.Fatalf("accesskey create table:\n%s", table)
	}

	var list []accessKeyOut
	cliJSON(t, &list, "accesskey", "list", "--data", data)
	if len(list) != 2 || list[0].AccessKey != k.AccessKey || list[0].SecretKey != "" || list[0].RevokedAt != "" {
		t.Fatalf("accesskey list = %+v, want two keys, no secret", list)
	}
	if out := cli(t, "accesskey", "list", "--data", data); strings.Contains(out, k.SecretKey) || !strings.Contains(out, k.AccessKey) {
		t.Fatalf("accesskey list table shows the SK or misses the AK:\n%s", out)
	}

	cli(t, "accesskey", "revoke", k.AccessKey, "--yes", "--data", data)
	cliJSON(t, &list, "accesskey", "list", "--data", data)
	if list[0].RevokedAt == "" {
		t.Fatalf("revoked key lists as %+v", list[0])
	}

	for _, args := range [][]string{
		{"accesskey", "revoke", k.AccessKey, "--yes"},  // already revoked
		{"accesskey", "revoke", "DBTKNOSUCH", "--yes"}, // unknown
		{"accesskey", "revoke"},                        // no AK
		{"accesskey", "create", "--role", "root"},
		{"accesskey", "rotate"},
	} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), append(append([]string{"dbtrust"}, args...), "--data", data), noEnv, strings.NewReader(""), &out, &errOut); err == nil {
			t.Errorf("dbtrust %s succeeded, want an error", strings.Join(args, " "))
		}
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
