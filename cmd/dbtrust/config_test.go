package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/client"
	"github.com/dbtrust/dbtrust/internal/pki"
	"github.com/dbtrust/dbtrust/internal/server"
)

// caOf returns the current CA certificate of an instance.
func caOf(t *testing.T, l client.CAList) *x509.Certificate {
	t.Helper()
	for _, ca := range l.CAs {
		if ca.State == "current" {
			certs, err := pki.ParseCertsPEM([]byte(ca.CertificatePEM))
			if err != nil {
				t.Fatal(err)
			}
			return certs[0]
		}
	}
	t.Fatalf("no current CA in %+v", l)
	return nil
}

// TestOneConfiguration: the same settings make the same data whether serve
// or a local command makes it. With DBTRUST_CA_VALIDITY=720h and
// DBTRUST_CA_KEY_TYPE=ecdsa-p384, an instance created on the data folder and
// one created through the server get CAs of 30 days and P-384 keys alike;
// the same settings from a config file do the same.
func TestOneConfiguration(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	env := map[string]string{"DBTRUST_CA_VALIDITY": "720h", "DBTRUST_CA_KEY_TYPE": "ecdsa-p384", "DBTRUST_DATA": data}
	s := startServe(t, http.DefaultClient, env, "serve", "--addr", "127.0.0.1:0")

	var local, remote client.CAList
	if _, err := runCmd("", env, "instance", "create", "made-locally"); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd("", env, "ca", "list", "made-locally", "-o", "json")
	if err != nil || decodeOutput(out, &local, true) != nil {
		t.Fatalf("ca list on the data folder = %v\n%s", err, out)
	}
	serverEnv := map[string]string{"DBTRUST_SERVER": s.url, "DBTRUST_TOKEN": s.token}
	if _, err := runCmd("", serverEnv, "instance", "create", "made-by-server"); err != nil {
		t.Fatal(err)
	}
	out, err = runCmd("", serverEnv, "ca", "list", "made-by-server", "-o", "json")
	if err != nil || decodeOutput(out, &remote, true) != nil {
		t.Fatalf("ca list through the server = %v\n%s", err, out)
	}

	conf := filepath.Join(t.TempDir(), "dbtrust.yaml")
	os.WriteFile(conf, []byte("ca-validity: 720h\nca-key-type: ecdsa-p384\n"), 0o644)
	fileData := t.TempDir()
	var fromFile client.CAList
	cli(t, "account", "create", "acme", "--data", fileData, "--config", conf)
	cli(t, "instance", "create", "from-file", "--data", fileData, "--config", conf)
	cliJSON(t, &fromFile, "ca", "list", "from-file", "--data", fileData)

	for name, l := range map[string]client.CAList{"local": local, "server": remote, "config file": fromFile} {
		ca := caOf(t, l)
		if got := ca.NotAfter.Sub(ca.NotBefore); got < 720*time.Hour || got > 721*time.Hour+time.Minute {
			t.Errorf("%s instance's CA lives %v, want 720h", name, got)
		}
		if kt, err := pki.KeyTypeOf(ca.PublicKey); err != nil || kt != pki.ECDSAP384 {
			t.Errorf("%s instance's CA key = %v (%v), want ecdsa-p384", name, kt, err)
		}
		if l.CAs[0].KeyType != "ecdsa-p384" {
			t.Errorf("%s instance's CA key_type = %q, want ecdsa-p384", name, l.CAs[0].KeyType)
		}
	}
}

// TestMalformedSettingsRefused: a value that does not parse, from the
// environment, the command line or the config file, is an error at start
// that names it, never its default quietly; nothing is served or written.
func TestMalformedSettingsRefused(t *testing.T) {
	t.Parallel()
	conf := filepath.Join(t.TempDir(), "dbtrust.yaml")
	os.WriteFile(conf, []byte("rate-limit: lots\n"), 0o644)
	typo := filepath.Join(t.TempDir(), "typo.yaml")
	os.WriteFile(typo, []byte("rate-limt: 10\n"), 0o644)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string // in the message
	}{
		{"env rate limit", map[string]string{"DBTRUST_RATE_LIMIT": "abc"}, []string{"serve"}, "DBTRUST_RATE_LIMIT"},
		{"env link TTL", map[string]string{"DBTRUST_LINK_TTL": "soon"}, []string{"serve"}, "DBTRUST_LINK_TTL"},
		{"env https", map[string]string{"DBTRUST_HTTPS": "yes please"}, []string{"serve"}, "DBTRUST_HTTPS"},
		{"env CA validity", map[string]string{"DBTRUST_CA_VALIDITY": "10 years"}, []string{"instance", "list"}, "DBTRUST_CA_VALIDITY"},
		{"env CA key type", map[string]string{"DBTRUST_CA_KEY_TYPE": "rsa-1024"}, []string{"instance", "list"}, "rsa-1024"},
		{"env output", map[string]string{"DBTRUST_OUTPUT": "xml"}, []string{"instance", "list"}, "xml"},
		{"flag rate limit", nil, []string{"serve", "--rate-limit", "abc"}, "--rate-limit"},
		{"env failed-auth limit", map[string]string{"DBTRUST_FAILED_AUTH_LIMIT": "abc"}, []string{"serve"}, "DBTRUST_FAILED_AUTH_LIMIT"},
		{"flag download limit", nil, []string{"serve", "--download-limit", "lots"}, "--download-limit"},
		{"flag link limit zero", nil, []string{"serve", "--link-limit", "0"}, "link limit 0"},
		{"env public limit negative", map[string]string{"DBTRUST_PUBLIC_LIMIT": "-1"}, []string{"serve"}, "public limit -1"},
		{"config file value", nil, []string{"serve", "--config", conf}, "rate-limit"},
		{"config file key", nil, []string{"serve", "--config", typo}, `did you mean "rate-limit"`},
		{"config file missing", nil, []string{"serve", "--config", filepath.Join(t.TempDir(), "none.yaml")}, "config file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := filepath.Join(t.TempDir(), "data")
			env := map[string]string{"DBTRUST_DATA": data}
			for k, v := range tt.env {
				env[k] = v
			}
			args := append([]string{"dbtrust"}, tt.args...)
			if tt.args[0] == "serve" {
				args = append(args, "--addr", "127.0.0.1:0")
			}
			var out, errOut strings.Builder
			err := run(context.Background(), args, mapEnv(env), strings.NewReader(""), &out, &errOut)
			if exitCode(err) != exitUsage || !strings.Contains(errOut.String(), tt.want) {
				t.Errorf("dbtrust %s with %v = %v (exit %d), stderr %q; want a usage error naming %s", strings.Join(tt.args, " "), tt.env, err, exitCode(err), errOut.String(), tt.want)
			}
			if _, err := os.Stat(data); err == nil {
				t.Errorf("dbtrust %s made the data folder despite the bad setting", strings.Join(tt.args, " "))
			}
		})
	}
}

// TestLimitSettingsReachServerConfig: each request budget of serve, from its
// flag or from its DBTRUST_* variable, is what the server is built with,
// the defaults included; and serve --help lists each with its variable.
func TestLimitSettingsReachServerConfig(t *testing.T) {
	t.Parallel()
	defaults := server.Config{RateLimit: 5000, FailedAuthLimit: 100, PublicLimit: 0, DownloadLimit: 600, LinkLimit: 60}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want func(*server.Config)
	}{
		{"defaults", nil, nil, func(*server.Config) {}},
		{"flag failed-auth", nil, []string{"--failed-auth-limit", "3"}, func(c *server.Config) { c.FailedAuthLimit = 3 }},
		{"env failed-auth", map[string]string{"DBTRUST_FAILED_AUTH_LIMIT": "7"}, nil, func(c *server.Config) { c.FailedAuthLimit = 7 }},
		{"flag public", nil, []string{"--public-limit", "50"}, func(c *server.Config) { c.PublicLimit = 50 }},
		{"env public", map[string]string{"DBTRUST_PUBLIC_LIMIT": "51"}, nil, func(c *server.Config) { c.PublicLimit = 51 }},
		{"flag download", nil, []string{"--download-limit", "20"}, func(c *server.Config) { c.DownloadLimit = 20 }},
		{"env download", map[string]string{"DBTRUST_DOWNLOAD_LIMIT": "21"}, nil, func(c *server.Config) { c.DownloadLimit = 21 }},
		{"flag link", nil, []string{"--link-limit", "5"}, func(c *server.Config) { c.LinkLimit = 5 }},
		{"env link", map[string]string{"DBTRUST_LINK_LIMIT": "6"}, nil, func(c *server.Config) { c.LinkLimit = 6 }},
		{"flag wins over env", map[string]string{"DBTRUST_LINK_LIMIT": "6"}, []string{"--link-limit", "8"}, func(c *server.Config) { c.LinkLimit = 8 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &app{getenv: mapEnv(tt.env), cfg: &config{}}
			serve, _, err := newRootCmd(a).Find([]string{"serve"})
			if err != nil {
				t.Fatal(err)
			}
			if err := serve.ParseFlags(tt.args); err != nil {
				t.Fatal(err)
			}
			if err := a.cfg.load(serve, a.getenv); err != nil {
				t.Fatalf("load %v with %v: %v", tt.args, tt.env, err)
			}
			got, want := a.cfg.Serve.serverConfig(nil, nil, ""), defaults
			tt.want(&want)
			if got.RateLimit != want.RateLimit || got.FailedAuthLimit != want.FailedAuthLimit || got.PublicLimit != want.PublicLimit ||
				got.DownloadLimit != want.DownloadLimit || got.LinkLimit != want.LinkLimit {
				t.Errorf("serve %v with %v: server limits %d/%d/%d/%d/%d, want %d/%d/%d/%d/%d (rate/failed-auth/public/download/link)",
					tt.args, tt.env, got.RateLimit, got.FailedAuthLimit, got.PublicLimit, got.DownloadLimit, got.LinkLimit,
					want.RateLimit, want.FailedAuthLimit, want.PublicLimit, want.DownloadLimit, want.LinkLimit)
			}
		})
	}
	help := cli(t, "serve", "--help")
	for _, s := range []string{"--failed-auth-limit", "DBTRUST_FAILED_AUTH_LIMIT", "--public-limit", "DBTRUST_PUBLIC_LIMIT",
		"--download-limit", "DBTRUST_DOWNLOAD_LIMIT", "--link-limit", "DBTRUST_LINK_LIMIT"} {
		if !strings.Contains(help, s) {
			t.Errorf("serve --help does not mention %s:\n%s", s, help)
		}
	}
}

// TestFailedAuthLimitTakesEffect: a server started with --failed-auth-limit 3
// answers three bad tokens from one address with 401 and the fourth with
// the native 429 and Retry-After; the budget is the address's across
// dialects (the fifth, to the DigitalOcean API, is DigitalOcean's 429), and
// the owner token from that address still gets through.
func TestFailedAuthLimitTakesEffect(t *testing.T) {
	t.Parallel()
	s := startServe(t, http.DefaultClient, map[string]string{"DBTRUST_DATA": t.TempDir()},
		"serve", "--addr", "127.0.0.1:0", "--failed-auth-limit", "3")
	bad := func(i int) string { return fmt.Sprintf("dbt_%016x_%043d", i, i) }
	for i := range 3 {
		if code, body := doRequest(t, http.DefaultClient, "GET", s.url+"/v1/instances", bad(i), ""); code != http.StatusUnauthorized {
			t.Fatalf("bad token %d = %d %s, want 401", i+1, code, body)
		}
	}
	for _, tt := range []struct{ path, code string }{{"/v1/instances", string(dbtrust.RateLimited)}, {"/v2/databases", "too_many_requests"}} {
		req, _ := http.NewRequest("GET", s.url+tt.path, nil)
		req.Header.Set("Authorization", "Bearer "+bad(9))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error struct{ Code string } `json:"error"`
			ID    string                `json:"id"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || (body.Error.Code != tt.code && body.ID != tt.code) {
			t.Errorf("GET %s over the failed-auth limit = %d, Retry-After %q, body %+v; want 429 %s with Retry-After",
				tt.path, resp.StatusCode, resp.Header.Get("Retry-After"), body, tt.code)
		}
	}
	if code, body := doRequest(t, http.DefaultClient, "GET", s.url+"/v1/instances", s.token, ""); code != http.StatusOK {
		t.Errorf("the owner token from the same address = %d %s, want 200", code, body)
	}
}
