package main

import (
	"context"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust/client"
	"github.com/dbtrust/dbtrust/internal/pki"
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
