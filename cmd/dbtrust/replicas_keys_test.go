package main

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust/internal/kek"
	"github.com/dbtrust/dbtrust/internal/pgtest"
	"github.com/dbtrust/dbtrust/internal/pki"
	"github.com/dbtrust/dbtrust/internal/seal"
)

var tlsFingerprintRE = regexp.MustCompile(`tls ca sha256:\s+([0-9a-f]{64})`)

// TestHTTPSReplicasShareOneCA starts two --https replicas on one PostgreSQL
// database, each with its own data folder: both print the same CA
// fingerprint, and a client that trusts the CA file the first one printed
// verifies the second.
func TestHTTPSReplicasShareOneCA(t *testing.T) {
	t.Parallel()
	pg := pgtest.FreshDB(t)
	kekFile := filepath.Join(t.TempDir(), "kek")
	probe := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	var outs []string
	var urls []string
	for range 2 {
		s := startServe(t, probe, nil, "serve", "--https", "--addr", "127.0.0.1:0", "--store", pg, "--kek-file", kekFile, "--data", t.TempDir())
		outs, urls = append(outs, s.out.String()), append(urls, s.url)
	}
	fpA, fpB := tlsFingerprintRE.FindStringSubmatch(outs[0]), tlsFingerprintRE.FindStringSubmatch(outs[1])
	if fpA == nil || fpB == nil || fpA[1] != fpB[1] {
		t.Fatalf("replicas printed CA fingerprints %v and %v, want the same one\n%s\n%s", fpA, fpB, outs[0], outs[1])
	}
	m := tlsCALineRE.FindStringSubmatch(outs[0])
	caPEM, err := os.ReadFile(m[1])
	if err != nil {
		t.Fatal(err)
	}
	client := httpsClient(t, caPEM)
	for i, url := range urls {
		resp, err := client.Get(url + "/healthz")
		if err != nil {
			t.Fatalf("replica %d trusting the first replica's CA file: %v", i, err)
		}
		resp.Body.Close()
	}
}

// newOperatorCA makes a CA for operator certificates; issue makes a leaf
// for localhost and 127.0.0.1 with a fresh key.
func newOperatorCA(t *testing.T) (caPEM []byte, issue func(notAfter time.Time) (certPEM, keyPEM []byte)) {
	t.Helper()
	now := time.Now()
	caKey, _ := pki.GenerateKey(pki.ECDSAP256)
	caDER, err := pki.NewCA(pki.CARequest{Subject: pkix.Name{CommonName: "operator CA"}, Key: caKey, Now: now, NotAfter: now.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	return pki.CertPEM(caDER), func(notAfter time.Time) ([]byte, []byte) {
		leafKey, _ := pki.GenerateKey(pki.ECDSAP256)
		der, err := pki.IssueLeaf(ca, caKey, pki.LeafRequest{
			CommonName: "dbtrust.test", DNSNames: []string{"localhost"}, IPs: []net.IP{net.ParseIP("127.0.0.1")},
			PublicKey: leafKey.Public(), Now: now.Add(-time.Hour), NotAfter: notAfter,
		})
		if err != nil {
			t.Fatal(err)
		}
		keyPEM, _ := pki.KeyPEM(leafKey)
		return pki.CertPEM(der), keyPEM
	}
}

// TestSIGHUPReloadsCertificate runs serve --tls-cert as a process: SIGHUP
// serves a renewed certificate on new connections without dropping open
// ones, a bad new certificate is refused with a log line while the last good
// one stays, and the server survives every SIGHUP.
func TestSIGHUPReloadsCertificate(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	dir := t.TempDir()
	caPEM, issue := newOperatorCA(t)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	write := func(cert, key []byte) {
		t.Helper()
		if err := os.WriteFile(certFile, cert, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyFile, key, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(issue(time.Now().Add(time.Hour)))
	p := startBin(t, bin, "serve", "--addr", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile, "--data", filepath.Join(dir, "data"))
	url := ""
	for deadline := time.Now().Add(time.Minute); url == ""; time.Sleep(10 * time.Millisecond) {
		if m := servingRE.FindStringSubmatch(p.out.String()); m != nil {
			url = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("serve did not come up:\n%s", p.logs.String())
		}
	}

	kept := httpsClient(t, caPEM) // holds one connection open throughout
	served := func(c *http.Client) (serial *big.Int, reused bool) {
		t.Helper()
		req, _ := http.NewRequest("GET", url+"/healthz", nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET /healthz: %v\n%s", err, p.logs.String())
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.TLS.PeerCertificates[0].SerialNumber, reused
	}
	first, _ := served(kept)
	hup := func(wantLog string) { t.Helper(); p.signal(t, syscall.SIGHUP, wantLog) }

	write(issue(time.Now().Add(2 * time.Hour)))
	hup("TLS certificate reloaded")
	renewed, _ := served(httpsClient(t, caPEM))
	if renewed.Cmp(first) == 0 {
		t.Fatalf("after SIGHUP a new connection got the old certificate (serial %x)", first)
	}
	if again, reused := served(kept); !reused || again.Cmp(first) != 0 {
		t.Errorf("the connection opened before SIGHUP: reused %v, serial %x, want it kept with the old certificate", reused, again)
	}

	// A bad certificate (the key of another) and an expired one are refused.
	certPEM, _ := issue(time.Now().Add(3 * time.Hour))
	_, otherKey := issue(time.Now().Add(3 * time.Hour))
	write(certPEM, otherKey)
	hup("the new TLS certificate is refused")
	expired, expiredKey := issue(time.Now().Add(-time.Minute))
	write(expired, expiredKey)
	hup("the new TLS certificate is refused")
	if still, _ := served(httpsClient(t, caPEM)); still.Cmp(renewed) != 0 {
		t.Errorf("after refused reloads a new connection got serial %x, want the last good one %x", still, renewed)
	}
	select {
	case err := <-p.exited:
		t.Fatalf("serve exited after SIGHUP: %v\n%s", err, p.logs.String())
	default:
	}
	p.stop(t)
}

// TestBackupRestoreUnderLoad backs up a SQLite store while a server writes
// to it, restores the backup into PostgreSQL (refusing a wrong KEK and a
// non-empty store first), serves the restored store and fetches every CA
// and issues from it; then backs up the PostgreSQL store and restores it
// into a new SQLite file.
func TestBackupRestoreUnderLoad(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	var acct accountOut
	cliJSON(t, &acct, "account", "create", "acme", "--data", data)
	url, _ := serveInProcess(t, "--data", data, "--rate-limit", "1000000")
	stop, done := make(chan struct{}), make(chan int)
	go func() { // writes: new instances, as fast as they go
		n := 0
		defer func() { done <- n }()
		for ; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			st, body := doRequest(t, http.DefaultClient, "POST", url+"/v1/instances", acct.Token, fmt.Sprintf(`{"name":"w-%04d","engine":"pg"}`, n))
			if st != http.StatusCreated {
				t.Errorf("create w-%04d = %d %s", n, st, body)
				return
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)
	backup := filepath.Join(t.TempDir(), "dbtrust.backup")
	var b backupOut
	cliJSON(t, &b, "backup", "--to", backup, "--data", data)
	close(stop)
	written := <-done
	if len(b.KeyIDs) != 1 || written == 0 {
		t.Fatalf("backup = %+v after %d writes, want one KEK ID", b, written)
	}

	pg := pgtest.FreshDB(t)
	other := filepath.Join(t.TempDir(), "other.kek")
	cli(t, "kek", "rotate", "--new-kek-file", other, "--data", t.TempDir()) // only makes the file
	if _, err := runCmd(t.TempDir(), nil, "restore", "--from", backup, "--store", pg, "--kek-file", other); !errors.Is(err, kek.ErrMismatch) {
		t.Fatalf("restore with another KEK = %v, want ErrMismatch", err)
	}
	var r restoreOut
	cliJSON(t, &r, "restore", "--from", backup, "--store", pg, "--kek-file", filepath.Join(data, "kek"), "--data", t.TempDir())
	if r.KeyID != b.KeyIDs[0] {
		t.Fatalf("restore = %+v, want KEK %s", r, b.KeyIDs[0])
	}
	if _, err := runCmd(t.TempDir(), nil, "restore", "--from", backup, "--store", pg, "--kek-file", filepath.Join(data, "kek")); err == nil {
		t.Fatal("restore into a store that is not empty succeeded")
	}

	// Serve the restored store: every CA of the backup, and issuance.
	restored, _ := serveInProcess(t, "--store", pg, "--kek-file", filepath.Join(data, "kek"), "--data", t.TempDir())
	var list struct{ Instances []struct{ ID, Name string } }
	if st := getJSON(t, http.DefaultClient, restored+"/v1/instances", acct.Token, &list); st != http.StatusOK || len(list.Instances) == 0 {
		t.Fatalf("GET /v1/instances on the restored store = %d, %d instances", st, len(list.Instances))
	}
	for _, inst := range list.Instances {
		if st, body := doRequest(t, http.DefaultClient, "GET", restored+"/v2/databases/"+inst.ID+"/ca", acct.Token, ""); st != http.StatusOK {
			t.Fatalf("GET ca of %s on the restored store = %d %s", inst.Name, st, body)
		}
	}
	if st, body := doRequest(t, http.DefaultClient, "POST", restored+"/v1/instances/"+list.Instances[0].ID+"/certificates", acct.Token, `{"common_name":"node.example.test"}`); st != http.StatusCreated {
		t.Fatalf("issue on the restored store = %d %s", st, body)
	}
	t.Logf("%d instances written during the backup; %d in the backup, every CA served and issuance works after restore", written, len(list.Instances))

	// And back: PostgreSQL to a backup file to a new SQLite store.
	backup2 := filepath.Join(t.TempDir(), "pg.backup")
	cliJSON(t, &b, "backup", "--to", backup2, "--store", pg, "--kek-file", filepath.Join(data, "kek"), "--data", t.TempDir())
	data2 := t.TempDir()
	cliJSON(t, &r, "restore", "--from", backup2, "--kek-file", filepath.Join(data, "kek"), "--data", data2)
	var insts []map[string]any
	cliJSON(t, &insts, "instance", "list", "--account", "acme", "--kek-file", filepath.Join(data, "kek"), "--data", data2)
	if len(insts) != len(list.Instances) {
		t.Errorf("the SQLite store restored from PostgreSQL has %d instances, want %d", len(insts), len(list.Instances))
	}
}

// TestSIGHUPReloadsKEK runs serve as a process through a whole KEK rotation
// without a restart: the new key file appears and SIGHUP makes the server
// seal under it; after the rotation the new key replaces the old file and
// SIGHUP again leaves the server with the new key alone. A SIGHUP with a key
// that does not match is refused and the server keeps its keys.
func TestSIGHUPReloadsKEK(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	data := t.TempDir()
	var acct accountOut
	cliJSON(t, &acct, "account", "create", "acme", "--data", data)
	var inst struct{ ID string }
	cliJSON(t, &inst, "instance", "create", "--name", "orders", "--engine", "pg", "--account", "acme", "--data", data)
	kekFile, next := filepath.Join(data, "kek"), filepath.Join(data, "kek.next")

	p := startBin(t, bin, "serve", "--addr", "127.0.0.1:0", "--data", data, "--new-kek-file", next)
	url, _ := waitServing(t, &p.out, p.exited)
	issue := func(when string) {
		t.Helper()
		if st, body := doRequest(t, http.DefaultClient, "POST", url+"/v1/instances/"+inst.ID+"/certificates", acct.Token, `{"common_name":"node.example.test"}`); st != http.StatusCreated {
			t.Fatalf("issue %s = %d %s\n%s", when, st, body, p.logs.String())
		}
	}
	hup := func(wantLog string) { t.Helper(); p.signal(t, syscall.SIGHUP, wantLog) }

	cli(t, "kek", "rotate", "--new-kek-file", next, "--data", data) // makes the new key only
	hup("key-encryption keys reloaded")
	raw, _ := os.ReadFile(next)
	newKey, _ := seal.DecodeKey(string(raw))
	if !strings.Contains(p.logs.String(), "sealing_key="+seal.KeyID(newKey)) {
		t.Fatalf("after SIGHUP the server does not seal under the new key %s:\n%s", seal.KeyID(newKey), p.logs.String())
	}
	cli(t, "kek", "rotate", "--new-kek-file", next, "--data", data)
	issue("after the rotation, the server holding both keys")

	// The operator's last step: the new key becomes the key file.
	oldRaw, _ := os.ReadFile(kekFile)
	if err := os.Rename(next, kekFile); err != nil {
		t.Fatal(err)
	}
	hup("key-encryption keys reloaded")
	issue("with the new key alone")
	// A key that is not the store's is refused on SIGHUP; the server carries on.
	if err := os.WriteFile(kekFile, oldRaw, 0o600); err != nil {
		t.Fatal(err)
	}
	hup("the key-encryption keys did not reload")
	issue("after a refused reload")
	select {
	case err := <-p.exited:
		t.Fatalf("serve exited: %v", err)
	default:
	}
	p.stop(t)
}

// TestServePicksUpRotationWithoutSIGHUP: a server whose --new-kek-file did
// not exist when it started notices, within seconds, that another process
// began a rotation to that key, loads it and serves values sealed under it.
func TestServePicksUpRotationWithoutSIGHUP(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	var acct accountOut
	cliJSON(t, &acct, "account", "create", "acme", "--data", data)
	var inst struct{ ID string }
	cliJSON(t, &inst, "instance", "create", "--name", "orders", "--engine", "pg", "--account", "acme", "--data", data)
	next := filepath.Join(t.TempDir(), "kek.next")
	s := startServe(t, http.DefaultClient, nil, "serve", "--addr", "127.0.0.1:0", "--data", data, "--new-kek-file", next)

	cli(t, "kek", "rotate", "--new-kek-file", next, "--data", data) // makes the key file only
	cli(t, "kek", "rotate", "--new-kek-file", next, "--data", data) // re-seals everything under it
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(s.log.String(), "the store records a new key"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the server did not pick up the new key:\n%s", s.log.String())
		}
	}
	if st, body := doRequest(t, http.DefaultClient, "POST", s.url+"/v1/instances/"+inst.ID+"/certificates", acct.Token, `{"common_name":"node.example.test"}`); st != http.StatusCreated {
		t.Fatalf("issue after the rotation, without SIGHUP = %d %s", st, body)
	}
}
