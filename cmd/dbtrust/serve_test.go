package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust/internal/pki"
)

// served is one 'dbtrust serve' running in a goroutine.
type served struct {
	url, token string
	out, log   *syncBuffer
	cancel     context.CancelFunc
	exited     chan error
	stopped    bool
	label      string // the profiler label of serve's goroutines
}

// mapEnv is a getenv over a fixed map: tests never touch the process's
// environment.
func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// startServe runs 'dbtrust ARGS' (a serve command) with env and waits until
// it answers /healthz with client. The server is stopped when the test ends
// unless stop was called.
func startServe(t *testing.T, client *http.Client, env map[string]string, args ...string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{out: &syncBuffer{}, log: &syncBuffer{}, cancel: cancel, exited: make(chan error, 1)}
	s.label = fmt.Sprintf("%p", s)
	go pprof.Do(ctx, pprof.Labels(serveLabel, s.label), func(ctx context.Context) {
		s.exited <- run(ctx, append([]string{"dbtrust"}, args...), mapEnv(env), strings.NewReader(""), s.out, s.log)
	})
	t.Cleanup(func() {
		if !s.stopped {
			if err := s.stop(t); err != nil {
				t.Errorf("serve: %v\n%s", err, s.log.String())
			}
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.exited:
			s.stopped = true
			t.Fatalf("dbtrust %s exited before serving: %v\n%s\n%s", strings.Join(args, " "), err, s.out.String(), s.log.String())
		default:
		}
		if m := servingRE.FindStringSubmatch(s.out.String()); m != nil {
			if resp, err := client.Get(m[1] + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					s.url = m[1]
					if m := tokenRE.FindStringSubmatch(s.out.String()); m != nil {
						s.token = m[1]
					}
					return s
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("dbtrust %s did not come up:\n%s\n%s", strings.Join(args, " "), s.out.String(), s.log.String())
	return nil
}

// stop cancels the server's context and returns what run returned. By then
// every goroutine serve started must have ended: one still running could
// write into the data folder after serve said it stopped.
func (s *served) stop(t *testing.T) error {
	t.Helper()
	s.stopped = true
	s.cancel()
	select {
	case err := <-s.exited:
		if left := leftovers(s.label); len(left) > 0 {
			t.Errorf("serve returned with %d of its goroutines still running:\n%s", len(left), strings.Join(left, "\n\n"))
		}
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not return within 30s of its context being cancelled")
		return nil
	}
}

var (
	accountLineRE = regexp.MustCompile(`account:\s+(\S+) \(([0-9a-f-]{36})\), project ([0-9a-f]{32})`)
	tlsCALineRE   = regexp.MustCompile(`tls ca:\s+(\S+)`)
	localURLRE    = regexp.MustCompile(`^http://127\.0\.0\.1:([1-9][0-9]*)$`)
)

func getJSON(t *testing.T, c *http.Client, url, token string, v any) int {
	t.Helper()
	status, body := doRequest(t, c, http.MethodGet, url, token, "")
	if status == 0 {
		t.Fatalf("GET %s: %s", url, body)
	}
	if v != nil && len(body) > 0 {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s = %d %s: not JSON: %v", url, status, body, err)
		}
	}
	return status
}

func TestServeFirstAndSecondStart(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "not", "yet", "there")
	s := startServe(t, http.DefaultClient, nil, "serve", "--addr", "127.0.0.1:0", "--data", data)

	if !localURLRE.MatchString(s.url) {
		t.Errorf("serve URL = %q, want http://127.0.0.1:<the bound port>", s.url)
	}
	m := accountLineRE.FindStringSubmatch(s.out.String())
	if m == nil || m[1] != "default" {
		t.Fatalf("serve output has no account line for the default account:\n%s", s.out.String())
	}
	accountID := m[2]
	if !strings.HasPrefix(s.token, "dbt_") {
		t.Fatalf("first serve printed token %q, want a dbt_ token\n%s", s.token, s.out.String())
	}

	// The printed console URL answers with the sign-in page.
	if m := regexp.MustCompile(`console:\s+(\S+)`).FindStringSubmatch(s.out.String()); m == nil || m[1] != s.url+"/ui/" {
		t.Errorf("serve output names console %v, want %s/ui/\n%s", m, s.url, s.out.String())
	} else if resp, err := http.Get(m[1]); err != nil || resp.StatusCode != http.StatusOK || !strings.HasSuffix(resp.Request.URL.Path, "/ui/signin") {
		t.Errorf("GET %s = %v, %v; want the sign-in page", m[1], resp, err)
	} else {
		resp.Body.Close()
	}

	for _, tt := range []struct{ path, want string }{{"/healthz", "ok"}, {"/readyz", "ready"}} {
		var st struct{ Status string }
		if code := getJSON(t, http.DefaultClient, s.url+tt.path, "", &st); code != http.StatusOK || st.Status != tt.want {
			t.Errorf("GET %s = %d %q, want 200 %q", tt.path, code, st.Status, tt.want)
		}
	}
	var list struct {
		Databases []json.RawMessage `json:"databases"`
	}
	if code := getJSON(t, http.DefaultClient, s.url+"/v2/databases", s.token, &list); code != http.StatusOK {
		t.Errorf("GET /v2/databases with the printed token = %d, want 200", code)
	}
	if code := getJSON(t, http.DefaultClient, s.url+"/v2/databases", "dbt_0123456789abcdef_"+strings.Repeat("A", 43), nil); code != http.StatusUnauthorized {
		t.Errorf("GET /v2/databases with a made-up token = %d, want 401", code)
	}

	// The data folder: private, with the key file 0600 and the database.
	for _, f := range []struct {
		name string
		mode os.FileMode
	}{{"", 0o700}, {"kek", 0o600}} {
		st, err := os.Stat(filepath.Join(data, f.name))
		if err != nil || st.Mode().Perm() != f.mode {
			t.Errorf("stat(data/%s) = %v, %v, want mode %o", f.name, st.Mode().Perm(), err, f.mode)
		}
	}
	if st, err := os.Stat(filepath.Join(data, "dbtrust.db")); err != nil || st.Size() == 0 {
		t.Errorf("stat(data/dbtrust.db) = %v, want a database file", err)
	}
	if !strings.Contains(s.out.String(), filepath.Join(data, "kek")) {
		t.Errorf("first serve output does not name the key file it created:\n%s", s.out.String())
	}

	// Graceful shutdown: run returns nil and the port is closed.
	if err := s.stop(t); err != nil {
		t.Fatalf("serve after its context is cancelled returned %v, want nil", err)
	}
	// (Another test's server may have bound the freed port since: only our
	// own server would accept our token.)
	if code, _ := doRequest(t, http.DefaultClient, http.MethodGet, s.url+"/v2/databases", s.token, ""); code == http.StatusOK {
		t.Errorf("GET /v2/databases after shutdown = %d, want the server gone", code)
	}

	// Second start on the same data: same account, no new token, no new key.
	kek1, _ := os.ReadFile(filepath.Join(data, "kek"))
	s2 := startServe(t, http.DefaultClient, nil, "serve", "--addr", "127.0.0.1:0", "--data", data)
	if s2.token != "" || strings.Contains(s2.out.String(), "dbt_") {
		t.Errorf("second serve printed a token:\n%s", s2.out.String())
	}
	if m := accountLineRE.FindStringSubmatch(s2.out.String()); m == nil || m[2] != accountID {
		t.Errorf("second serve account line = %v, want account %s\n%s", m, accountID, s2.out.String())
	}
	if strings.Contains(s2.out.String(), " created") {
		t.Errorf("second serve says it created a key file:\n%s", s2.out.String())
	}
	if kek2, _ := os.ReadFile(filepath.Join(data, "kek")); string(kek2) != string(kek1) {
		t.Errorf("second serve changed the key file")
	}
	if code := getJSON(t, http.DefaultClient, s2.url+"/v2/databases", s.token, nil); code != http.StatusOK {
		t.Errorf("GET /v2/databases on the second start with the first token = %d, want 200", code)
	}
}

func TestServeEnv(t *testing.T) {
	t.Parallel()
	envData := filepath.Join(t.TempDir(), "from-env")
	flagData := filepath.Join(t.TempDir(), "from-flag")
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantData string
	}{
		{"env only", map[string]string{"DBTRUST_ADDR": "127.0.0.1:0", "DBTRUST_DATA": envData}, nil, envData},
		{"flags over env", map[string]string{"DBTRUST_ADDR": "127.0.0.1:1", "DBTRUST_DATA": envData}, []string{"--addr", "127.0.0.1:0", "--data", flagData}, flagData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServe(t, http.DefaultClient, tt.env, append([]string{"serve"}, tt.args...)...)
			if !localURLRE.MatchString(s.url) {
				t.Errorf("serve URL = %q, want http://127.0.0.1:<port>", s.url)
			}
			if _, err := os.Stat(filepath.Join(tt.wantData, "dbtrust.db")); err != nil {
				t.Errorf("serve (%s) database in %s: %v, want it there", tt.name, tt.wantData, err)
			}
			if err := s.stop(t); err != nil {
				t.Errorf("serve (%s) stop = %v, want nil", tt.name, err)
			}
		})
	}
}

// httpsClient trusts only the CA certificates in caFile.
func httpsClient(t *testing.T, caPEM []byte) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("no certificate in the CA file")
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}, Timeout: 30 * time.Second}
}

// checkAEADOnly: under TLS 1.2 the server agrees only to AEAD suites; a
// client offering only CBC suites gets no handshake.
func checkAEADOnly(t *testing.T, addr string, caPEM []byte) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	dial := func(suites []uint16) (*tls.Conn, error) {
		return tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, CipherSuites: suites})
	}
	cbc := []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256}
	if c, err := dial(cbc); err == nil {
		c.Close()
		t.Errorf("TLS 1.2 handshake offering only CBC suites succeeded with %s, want it refused", tls.CipherSuiteName(c.ConnectionState().CipherSuite))
	}
	c, err := dial(nil)
	if err != nil {
		t.Fatalf("TLS 1.2 handshake with the default suites: %v", err)
	}
	defer c.Close()
	if name := tls.CipherSuiteName(c.ConnectionState().CipherSuite); !strings.Contains(name, "GCM") && !strings.Contains(name, "CHACHA20") {
		t.Errorf("TLS 1.2 suite agreed = %s, want an AEAD suite", name)
	}
}

func TestServeSelfIssuedHTTPS(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	// Until the CA file exists, poll with a client that skips verification;
	// the real checks below use only the printed CA.
	probe := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	s := startServe(t, probe, nil, "serve", "--https", "--addr", "127.0.0.1:0", "--data", data)
	if !strings.HasPrefix(s.url, "https://127.0.0.1:") {
		t.Fatalf("serve --https URL = %q, want https://127.0.0.1:<port>", s.url)
	}
	m := tlsCALineRE.FindStringSubmatch(s.out.String())
	if m == nil {
		t.Fatalf("serve --https printed no tls ca line:\n%s", s.out.String())
	}
	caPEM, err := os.ReadFile(m[1])
	if err != nil {
		t.Fatalf("read the printed CA file %q: %v", m[1], err)
	}
	cas, err := pki.ParseCertsPEM(caPEM)
	if err != nil || len(cas) != 1 || !cas[0].IsCA {
		t.Fatalf("ParseCertsPEM(printed CA file) = %d certs, %v, want one CA", len(cas), err)
	}

	client := httpsClient(t, caPEM)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := client.Get(s.url + path)
		if err != nil {
			t.Fatalf("GET %s over HTTPS trusting the printed CA: %v, want success", path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.TLS == nil {
			t.Errorf("GET %s = %d (TLS %v), want 200 over TLS", path, resp.StatusCode, resp.TLS != nil)
		}
	}
	if code := getJSON(t, client, s.url+"/v2/databases", s.token, nil); code != http.StatusOK {
		t.Errorf("GET /v2/databases over HTTPS = %d, want 200", code)
	}
	// A client that trusts only some other CA is refused.
	otherKey, _ := pki.GenerateKey(pki.ECDSAP256)
	otherDER, err := pki.NewCA(pki.CARequest{Subject: pkix.Name{CommonName: "other"}, Key: otherKey, Now: time.Now(), NotAfter: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := httpsClient(t, pki.CertPEM(otherDER)).Get(s.url + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("GET /healthz trusting another CA succeeded, want a certificate error")
	} else if ve := new(tls.CertificateVerificationError); !errors.As(err, &ve) {
		t.Errorf("GET /healthz trusting another CA = %v, want a certificate verification error", err)
	}
	checkAEADOnly(t, strings.TrimPrefix(s.url, "https://"), caPEM)
	// Plain HTTP is not served on that port.
	plainURL := "http://" + strings.TrimPrefix(s.url, "https://")
	if resp, err := http.Get(plainURL + "/v2/databases"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
			t.Errorf("plain GET %s = %d, want no API answer over plain HTTP", plainURL, resp.StatusCode)
		}
	}
	if err := s.stop(t); err != nil {
		t.Fatalf("serve --https stop = %v, want nil", err)
	}

	// A second start keeps the same internal CA, so clients keep trusting it.
	s2 := startServe(t, client, nil, "serve", "--https", "--addr", "127.0.0.1:0", "--data", data)
	if m2 := tlsCALineRE.FindStringSubmatch(s2.out.String()); m2 == nil || m2[1] != m[1] {
		t.Errorf("second serve --https CA line = %v, want %q", m2, m[1])
	}
}

func TestServeOperatorCertificate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Now()
	caKey, _ := pki.GenerateKey(pki.ECDSAP384)
	caDER, err := pki.NewCA(pki.CARequest{Subject: pkix.Name{CommonName: "operator CA"}, Key: caKey, Now: now, NotAfter: now.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leafKey, _ := pki.GenerateKey(pki.RSA2048)
	leafDER, err := pki.IssueLeaf(ca, caKey, pki.LeafRequest{
		CommonName: "dbtrust.test", DNSNames: []string{"localhost"}, IPs: []net.IP{net.ParseIP("127.0.0.1")},
		PublicKey: leafKey.Public(), Now: now, NotAfter: now.Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, _ := pki.KeyPEM(leafKey)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pki.CertPEM(leafDER), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}

	client := httpsClient(t, pki.CertPEM(caDER))
	s := startServe(t, client, nil, "serve", "--tls-cert", certFile, "--tls-key", keyFile, "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data"))
	if !strings.HasPrefix(s.url, "https://") || strings.Contains(s.out.String(), "tls ca:") {
		t.Errorf("serve --tls-cert URL %q, output:\n%s\nwant https and no self-issued CA line", s.url, s.out.String())
	}
	resp, err := client.Get(s.url + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz trusting the operator's CA: %v", err)
	}
	resp.Body.Close()
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 || !resp.TLS.PeerCertificates[0].Equal(mustParse(t, leafDER)) {
		t.Errorf("serve --tls-cert served another certificate, want the operator's")
	}

	// Broken TLS flags fail before serving.
	bad := []struct {
		name string
		args []string
	}{
		{"cert without key", []string{"--tls-cert", certFile}},
		{"key without cert", []string{"--tls-key", keyFile}},
		{"missing files", []string{"--tls-cert", filepath.Join(dir, "nope.pem"), "--tls-key", keyFile}},
		{"key of another certificate", []string{"--tls-cert", certFile, "--tls-key", writeOtherKey(t, dir)}},
	}
	for _, tt := range bad {
		args := append([]string{"dbtrust", "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data2")}, tt.args...)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var out, errOut syncBuffer
		err := run(ctx, args, noEnv, nil, &out, &errOut)
		cancel()
		if err == nil {
			t.Errorf("serve (%s) = nil, want an error", tt.name)
		}
		if strings.Contains(out.String(), "serving on") {
			t.Errorf("serve (%s) printed a URL, want it to fail before serving", tt.name)
		}
	}
}

func writeOtherKey(t *testing.T, dir string) string {
	t.Helper()
	k, _ := pki.GenerateKey(pki.ECDSAP256)
	b, _ := pki.KeyPEM(k)
	p := filepath.Join(dir, "other-key.pem")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustParse(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestChooseTLS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host                       string
		operatorCert, https, force bool
		want                       tlsChoice
	}{
		{"127.0.0.1", false, false, false, plainHTTP},
		{"127.0.0.2", false, false, false, plainHTTP},
		{"::1", false, false, false, plainHTTP},
		{"localhost", false, false, false, plainHTTP},
		{"127.0.0.1", false, true, false, selfIssuedTLS},
		{"127.0.0.1", true, false, false, operatorTLS},
		{"127.0.0.1", true, true, false, operatorTLS},
		{"", false, false, false, selfIssuedTLS}, // ":8080" listens everywhere
		{"0.0.0.0", false, false, false, selfIssuedTLS},
		{"::", false, false, false, selfIssuedTLS},
		{"10.0.0.5", false, false, false, selfIssuedTLS},
		{"192.0.2.10", false, false, false, selfIssuedTLS},
		{"db.example.com", false, false, false, selfIssuedTLS},
		{"localhost.example.com", false, false, false, selfIssuedTLS},
		{"0.0.0.0", true, false, false, operatorTLS},
		{"0.0.0.0", false, false, true, plainHTTP}, // --insecure-http, explicitly
		{"0.0.0.0", false, true, true, selfIssuedTLS},
	}
	for _, tt := range tests {
		if got := chooseTLS(tt.host, tt.operatorCert, tt.https, tt.force); got != tt.want {
			t.Errorf("chooseTLS(%q, cert=%v, https=%v, insecure=%v) = %v, want %v", tt.host, tt.operatorCert, tt.https, tt.force, got, tt.want)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host string
		want bool
	}{
		{"127.0.0.1", true},
		{"127.1.2.3", true},
		{"::1", true},
		{"localhost", true},
		{"", false},
		{"0.0.0.0", false},
		{"::", false},
		{"10.0.0.1", false},
		{"::ffff:10.0.0.1", false},
		{"example.com", false},
		{"localhost.evil.test", false},
		{"128.0.0.1", false},
	}
	for _, tt := range tests {
		if got := isLoopback(tt.host); got != tt.want {
			t.Errorf("isLoopback(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

func TestDisplayAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 8080}, "127.0.0.1:8080"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 443}, "127.0.0.1:443"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 443}, "127.0.0.1:443"},
		{&net.TCPAddr{IP: net.ParseIP("::1"), Port: 9}, "[::1]:9"},
	}
	for _, tt := range tests {
		if got := displayAddr(tt.addr); got != tt.want {
			t.Errorf("displayAddr(%v) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

// TestServeFailedFirstStartKeepsTheToken: a first start that fails before
// serving (port taken, bad certificate) makes no account, so the next start
// still prints the first token.
func TestServeFailedFirstStartKeepsTheToken(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() }) // not defer: the parallel subtests run after this function returns
	junk := filepath.Join(t.TempDir(), "junk.pem")
	if err := os.WriteFile(junk, []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
	}{
		{"port in use", []string{"--addr", busy.Addr().String()}},
		{"unusable certificate", []string{"--addr", "127.0.0.1:0", "--tls-cert", junk, "--tls-key", junk}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := t.TempDir()
			var out, errOut syncBuffer
			err := run(context.Background(), append([]string{"dbtrust", "serve", "--data", data}, tt.args...), noEnv, nil, &out, &errOut)
			if err == nil {
				t.Fatalf("serve (%s) = nil, want an error", tt.name)
			}
			s := startServe(t, http.DefaultClient, nil, "serve", "--addr", "127.0.0.1:0", "--data", data)
			if s.token == "" {
				t.Errorf("serve after a failed first start (%s) printed no token, want the first token\n%s", tt.name, s.out.String())
			}
		})
	}
}
