// Package servicetest gives tests a real Service: a fresh SQLite file in the
// test's temporary folder and a fresh key-encryption key, with its first
// account bootstrapped.
package servicetest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"path/filepath"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/seal"
	"github.com/dbtrust/dbtrust/internal/sqlite"
)

// Env is a Service with the parts under it and its first account.
type Env struct {
	Service *dbtrust.Service
	Store   *sqlite.Store
	Sealer  *seal.AESGCM
	Account dbtrust.Account
	Token   string // the first account's owner token
}

// Owner acts as the operator of the first account.
func (e *Env) Owner() dbtrust.Principal { return dbtrust.Operator(e.Account.ID) }

// New returns a bootstrapped Service over a fresh SQLite store; the store is
// closed when the test ends.
func New(t testing.TB, opt dbtrust.Options) *Env {
	t.Helper()
	e := &Env{Store: SQLite(t), Sealer: Sealer(t)}
	e.Service = dbtrust.NewService(e.Store, e.Sealer, opt)
	var err error
	if e.Account, e.Token, _, err = e.Service.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e
}

// SQLite opens a fresh SQLite store in the test's temporary folder.
func SQLite(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "dbtrust.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Sealer returns a sealer under a fresh random key-encryption key.
func Sealer(t testing.TB) *seal.AESGCM {
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

// CSR returns a PEM certificate signing request for host (as its CN and its
// one DNS name) over a fresh P-256 key, as a node would make it; the key is
// dropped.
func CSR(t testing.TB, host string) []byte { return CSRFor(t, host, []string{host}, nil) }

// CSRFor returns a CSR for a fresh P-256 key with common name cn (may be
// empty) and the given DNS names and IP addresses (may be none).
func CSRFor(t testing.TB, cn string, dns []string, ips []net.IP) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: dns, IPAddresses: ips}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}
