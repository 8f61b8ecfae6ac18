package selftls_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust/internal/pki"
	"github.com/dbtrust/dbtrust/internal/seal"
	"github.com/dbtrust/dbtrust/internal/selftls"
	"github.com/dbtrust/dbtrust/internal/servicetest"
)

var ctx = context.Background()

func newSealer(t *testing.T) *seal.AESGCM {
	t.Helper()
	k, err := seal.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := seal.New(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCertificateVerifiesAndRenews(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	iss, err := selftls.Open(ctx, selftls.Config{Store: servicetest.SQLite(t), Dir: t.TempDir(), Hosts: []string{"dbtrust.example.test", "10.1.2.3"}, Sealer: newSealer(t), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(iss.CAPath)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	first, err := iss.GetCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"localhost", "127.0.0.1", "dbtrust.example.test", "10.1.2.3"} {
		if _, err := first.Leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: name, CurrentTime: now}); err != nil {
			t.Fatalf("serving certificate does not verify for %q: %v", name, err)
		}
	}
	now = now.Add(selftls.Lifetime / 2) // two thirds still left: kept
	if c, _ := iss.GetCertificate(nil); c != first {
		t.Fatal("certificate renewed while two thirds of its life were left")
	}
	now = now.Add(selftls.Lifetime / 4) // a quarter left: renewed
	second, err := iss.GetCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	if second == first || !second.Leaf.NotAfter.After(first.Leaf.NotAfter) {
		t.Fatalf("GetCertificate with a quarter of the lifetime left returned the old certificate (NotAfter %v)", second.Leaf.NotAfter)
	}
	if _, err := second.Leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "localhost", CurrentTime: now}); err != nil {
		t.Fatalf("renewed certificate does not verify: %v", err)
	}
}

// TestConcurrentFirstStart opens one store from many goroutines at once, as
// several replicas starting together would, each with its own folder:
// exactly one CA results, and every folder's ca.pem is that CA.
func TestConcurrentFirstStart(t *testing.T) {
	st := servicetest.SQLite(t)
	sealer := newSealer(t)
	const n = 8
	cas := make([][]byte, n)
	dirs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for k := range n {
		dirs[k] = t.TempDir()
		wg.Add(1)
		go func() {
			defer wg.Done()
			iss, err := selftls.Open(ctx, selftls.Config{Store: st, Dir: dirs[k], Sealer: sealer})
			if err != nil {
				errs[k] = err
				return
			}
			c, _ := iss.GetCertificate(nil)
			cas[k] = c.Certificate[1]
		}()
	}
	wg.Wait()
	first, _ := os.ReadFile(filepath.Join(dirs[0], "ca.pem"))
	for k := range n {
		if errs[k] != nil {
			t.Fatalf("Open %d: %v", k, errs[k])
		}
		if !bytes.Equal(cas[k], cas[0]) {
			t.Fatalf("Open %d chains to another CA than Open 0", k)
		}
		onDisk, _ := os.ReadFile(filepath.Join(dirs[k], "ca.pem"))
		if !bytes.Contains(onDisk, []byte("BEGIN CERTIFICATE")) || !bytes.Equal(onDisk, first) {
			t.Fatalf("ca.pem of replica %d differs from replica 0's", k)
		}
		leftovers, _ := filepath.Glob(filepath.Join(dirs[k], ".tmp-*"))
		if len(leftovers) != 0 {
			t.Fatalf("temporary files left behind: %v", leftovers)
		}
	}
}

// TestRefusesForeignKey: a serving CA sealed under another KEK does not open.
func TestRefusesForeignKey(t *testing.T) {
	st := servicetest.SQLite(t)
	if _, err := selftls.Open(ctx, selftls.Config{Store: st, Dir: t.TempDir(), Sealer: newSealer(t)}); err != nil {
		t.Fatal(err)
	}
	if _, err := selftls.Open(ctx, selftls.Config{Store: st, Dir: t.TempDir(), Sealer: newSealer(t)}); err == nil {
		t.Fatal("Open under another key-encryption key succeeded")
	}
}

// TestImportsFolderCA: a data folder's CA from before the store kept it is
// moved into the store, so clients that trust it keep working.
func TestImportsFolderCA(t *testing.T) {
	dir := t.TempDir()
	sealer := newSealer(t)
	legacy := legacyFolder(t, dir, sealer)
	iss, err := selftls.Open(ctx, selftls.Config{Store: servicetest.SQLite(t), Dir: dir, Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := iss.GetCertificate(nil)
	if !bytes.Equal(c.Certificate[1], legacy.Raw) {
		t.Fatal("the serving CA in the store is not the data folder's CA")
	}
}

// legacyFolder writes a serving CA the way earlier versions kept it in the
// data folder: ca.pem and ca.key.sealed (bound to "dbtrust-serving-ca").
func legacyFolder(t *testing.T, dir string, sealer *seal.AESGCM) *x509.Certificate {
	t.Helper()
	key, err := pki.GenerateKey(pki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	der, err := pki.NewCA(pki.CARequest{Subject: pkix.Name{CommonName: "old serving CA"}, Key: key, Now: now, NotAfter: now.AddDate(1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := pki.MarshalKey(key)
	sealed, err := sealer.Seal(keyDER, []byte("dbtrust-serving-ca"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), pki.CertPEM(der), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.key.sealed"), sealed, 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert
}
