package selftls_test

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust/internal/seal"
	"github.com/dbtrust/dbtrust/internal/selftls"
)

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
	iss, err := selftls.Open(selftls.Config{Dir: t.TempDir(), Hosts: []string{"dbtrust.example.test", "10.1.2.3"}, Sealer: newSealer(t), Now: clock})
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

// TestConcurrentFirstStart opens one data folder from many goroutines at once,
// as several processes starting together would: exactly one CA results.
func TestConcurrentFirstStart(t *testing.T) {
	dir := t.TempDir()
	sealer := newSealer(t)
	const n = 8
	cas := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for k := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			iss, err := selftls.Open(selftls.Config{Dir: dir, Sealer: sealer})
			if err != nil {
				errs[k] = err
				return
			}
			c, _ := iss.GetCertificate(nil)
			cas[k] = c.Certificate[1]
		}()
	}
	wg.Wait()
	for k := range n {
		if errs[k] != nil {
			t.Fatalf("Open %d: %v", k, errs[k])
		}
		if !bytes.Equal(cas[k], cas[0]) {
			t.Fatalf("Open %d chains to another CA than Open 0", k)
		}
	}
	onDisk, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if !bytes.Contains(onDisk, []byte("BEGIN CERTIFICATE")) {
		t.Fatal("ca.pem missing")
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".tmp-*"))
	if len(leftovers) != 0 {
		t.Fatalf("temporary files left behind: %v", leftovers)
	}
}

func TestRefusesForeignKey(t *testing.T) {
	dir := t.TempDir()
	sealer := newSealer(t)
	if _, err := selftls.Open(selftls.Config{Dir: dir, Sealer: sealer}); err != nil {
		t.Fatal(err)
	}
	// Another folder's key next to this folder's certificate does not load.
	other := t.TempDir()
	if _, err := selftls.Open(selftls.Config{Dir: other, Sealer: sealer}); err != nil {
		t.Fatal(err)
	}
	key, _ := os.ReadFile(filepath.Join(other, "ca.key.sealed"))
	if err := os.WriteFile(filepath.Join(dir, "ca.key.sealed"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := selftls.Open(selftls.Config{Dir: dir, Sealer: sealer}); err == nil {
		t.Fatal("Open with a key that does not match ca.pem succeeded")
	}
	// A key sealed under another KEK does not open.
	if _, err := selftls.Open(selftls.Config{Dir: other, Sealer: newSealer(t)}); err == nil {
		t.Fatal("Open under another key-encryption key succeeded")
	}
}
