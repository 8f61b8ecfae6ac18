package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/client"
	"github.com/dbtrust/dbtrust/internal/pki"
)

// verifyAgainst checks that the PEM certificate chains to the PEM bundle for
// the IP address 127.0.0.1.
func verifyAgainst(t *testing.T, certPEM, bundle []byte) error {
	t.Helper()
	certs, err := pki.ParseCertsPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(bundle)
	_, err = certs[0].Verify(x509.VerifyOptions{Roots: roots, DNSName: "127.0.0.1"})
	return err
}

// runErr runs one command and returns its error.
func runErr(args ...string) error {
	var out, errOut bytes.Buffer
	return run(context.Background(), append([]string{"dbtrust"}, args...), noEnv, strings.NewReader(""), &out, &errOut)
}

// lifecycleFlow runs the same rotation and issuance commands with the given
// location flags (the data folder, or --server and --token).
func lifecycleFlow(t *testing.T, loc ...string) {
	t.Helper()
	with := func(args ...string) []string { return append(args, loc...) }
	dir := t.TempDir()

	var cas client.CAList
	cliJSON(t, &cas, with("ca", "list", "orders")...)
	if len(cas.CAs) != 1 || cas.CAs[0].State != "current" || len(cas.CAs[0].Fingerprint) != 64 {
		t.Fatalf("ca list = %+v", cas.CAs)
	}
	if out := cli(t, with("ca", "list", "orders")...); !strings.Contains(out, cas.CAs[0].Fingerprint) || !strings.Contains(out, "NOT AFTER") {
		t.Fatalf("ca list table lacks the fingerprint or validity:\n%s", out)
	}

	certFile, keyFile, caFile := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"), filepath.Join(dir, "ca.pem")
	var first client.Certificate
	cliJSON(t, &first, with("cert", "issue", "orders", "--ip", "127.0.0.1", "--dns", "localhost", "--ttl", "24h",
		"--cert-out", certFile, "--key-out", keyFile, "--ca-out", caFile)...)
	certPEM, _ := os.ReadFile(certFile)
	bundle, _ := os.ReadFile(caFile)
	if err := verifyAgainst(t, certPEM, bundle); err != nil {
		t.Fatalf("issued certificate does not verify against the written bundle: %v", err)
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}

	cliJSON(t, &cas, with("rotate", "start", "orders")...)
	if len(cas.CAs) != 2 || strings.Count(cas.BundlePEM, "BEGIN CERTIFICATE") != 2 {
		t.Fatalf("after rotate start: %d CAs", len(cas.CAs))
	}
	err := runErr(with("rotate", "start", "orders")...)
	if dbtrust.ErrorCode(err) != dbtrust.Conflict {
		t.Fatalf("second rotate start: %v, want a conflict", err)
	}
	cliJSON(t, &cas, with("rotate", "finish", "orders")...)
	cliJSON(t, &cas, with("rotate", "rollback", "orders")...)
	cliJSON(t, &cas, with("rotate", "finish", "orders")...)
	if err := runErr(with("rotate", "retire", "orders", "--yes")...); dbtrust.ErrorCode(err) != dbtrust.Conflict {
		t.Fatalf("retire with a live certificate: %v, want a conflict", err)
	}

	var second client.Certificate
	cliJSON(t, &second, with("cert", "issue", "orders", "--ip", "127.0.0.1", "--key-out", filepath.Join(dir, "second.key"))...)
	if second.CAID == first.CAID {
		t.Fatal("after the rotation the certificate came from the old CA")
	}
	var list client.CertificateList
	cliJSON(t, &list, with("cert", "list", "orders")...)
	if len(list.Certificates) != 2 {
		t.Fatalf("cert list = %d certificates, want 2", len(list.Certificates))
	}
	var rev client.Certificate
	cliJSON(t, &rev, with("cert", "revoke", "orders", first.Serial, "--reason", "superseded", "--yes")...)
	if rev.State != "revoked" {
		t.Fatalf("cert revoke: %+v", rev)
	}
	cliJSON(t, &cas, with("rotate", "retire", "orders", "--yes")...)
	for _, c := range cas.CAs {
		if c.State == "previous" {
			t.Fatal("retire left a previous CA")
		}
	}

	// The recipe writes the bundle where its commands expect it.
	recipeCA := filepath.Join(dir, "client", ".postgresql", "root.crt") // a folder that does not exist yet
	var rc client.Recipes
	cliJSON(t, &rc, with("recipe", "orders", "--ca-file", recipeCA)...)
	written, err := os.ReadFile(recipeCA)
	if err != nil {
		t.Fatalf("recipe did not write the bundle: %v", err)
	}
	if err := verifyAgainst(t, []byte(second.CertificatePEM), written); err != nil {
		t.Fatalf("the recipe's bundle does not verify the current certificate: %v", err)
	}
	if !strings.Contains(rc.Recipes[0].Command, "sslmode=verify-full sslrootcert="+recipeCA) {
		t.Fatalf("psql recipe = %q", rc.Recipes[0].Command)
	}
	out := cli(t, with("recipe", "orders", "--ca-file", recipeCA, "--client", "jdbc")...)
	if !strings.Contains(out, "jdbc:postgresql://") || strings.Contains(out, "psql \"") {
		t.Fatalf("recipe --client jdbc:\n%s", out)
	}
	if err := runErr(with("recipe", "nope")...); err == nil {
		t.Fatal("recipe of an unknown instance succeeded")
	}
}

func TestLifecycleCommandsOnDataFolder(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	cli(t, "account", "create", "main", "--data", data)
	cli(t, "instance", "create", "--name", "orders", "--engine", "pg", "--data", data)
	lifecycleFlow(t, "--data", data)
}

func TestLifecycleCommandsThroughServer(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	url, token := serveInProcess(t, "--data", data)
	status, body := doRequest(t, http.DefaultClient, "POST", url+"/v1/instances", token, `{"name":"orders","engine":"pg"}`)
	if status != 201 {
		t.Fatalf("create instance: %d %s", status, body)
	}
	lifecycleFlow(t, "--server", url, "--token", token)
	if err := runErr("ca", "list", "orders", "--server", url, "--token", "dbt_bad"); dbtrust.ErrorCode(err) != dbtrust.Unauthorized {
		t.Fatalf("a bad token: %v, want unauthorized", err)
	}
}

// TestLifecycleCommandsOverHTTPS drives the commands through a server that
// serves HTTPS with its self-issued certificate, trusting its CA file.
func TestLifecycleCommandsOverHTTPS(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	exited := make(chan error, 1)
	go func() {
		exited <- run(ctx, []string{"dbtrust", "serve", "--addr", "127.0.0.1:0", "--https", "--data", t.TempDir()}, noEnv, nil, &out, &errOut)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-exited; err != nil {
			t.Errorf("serve: %v\n%s", err, errOut.String())
		}
	})
	caRE := regexp.MustCompile(`tls ca:\s+(\S+)`)
	var url, token, caPath string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		s := out.String()
		m, c, k := servingRE.FindStringSubmatch(s), caRE.FindStringSubmatch(s), tokenRE.FindStringSubmatch(s)
		if m != nil && c != nil && k != nil {
			url, caPath, token = m[1], c[1], k[1]
			break
		}
	}
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("serve --https did not come up on HTTPS:\n%s", out.String())
	}
	pemBytes, err := os.ReadFile(caPath)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pemBytes)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	var status int
	var body []byte
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if status, body = doRequest(t, hc, "POST", url+"/v1/instances", token, `{"name":"orders","engine":"pg"}`); status != 0 {
			break
		}
	}
	if status != 201 {
		t.Fatalf("create instance over HTTPS: %d %s", status, body)
	}
	var cas client.CAList
	cliJSON(t, &cas, "ca", "list", "orders", "--server", url, "--token", token, "--server-ca", caPath)
	if len(cas.CAs) != 1 {
		t.Fatalf("ca list over HTTPS = %+v", cas)
	}
	err = runErr("ca", "list", "orders", "--server", url, "--token", token)
	if err == nil {
		t.Fatal("ca list over HTTPS without --server-ca trusted the self-issued certificate")
	}
	if exitCode(err) != exitUnavailable || !strings.Contains(errorMessage(err), "--server-ca") {
		t.Errorf("ca list over HTTPS without --server-ca = %q (exit %d), want a hint naming --server-ca and exit %d", errorMessage(err), exitCode(err), exitUnavailable)
	}
}
