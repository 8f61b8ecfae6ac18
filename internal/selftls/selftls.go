// Package selftls gives dbtrust a serving certificate of its own when the
// operator brings none: an internal CA kept in the data folder (its key sealed
// under the key-encryption key) signs a fresh serving certificate at each start.
package selftls

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/pki"
)

const aad = "dbtrust-serving-ca"

// Config locates the internal CA and names the hosts the certificate covers.
type Config struct {
	Dir    string   // the folder holding ca.pem and ca.key.sealed
	Hosts  []string // DNS names and IP addresses; localhost and loopback are always added
	Sealer dbtrust.Sealer
	Now    time.Time
}

// Load returns a TLS certificate for cfg.Hosts, creating the internal CA on
// first use, and the path of the CA's PEM file for clients to trust.
func Load(cfg Config) (tls.Certificate, string, error) {
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return tls.Certificate{}, "", err
	}
	caPath := filepath.Join(cfg.Dir, "ca.pem")
	keyPath := filepath.Join(cfg.Dir, "ca.key.sealed")
	ca, caKey, err := loadCA(cfg, caPath, keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		ca, caKey, err = createCA(cfg, caPath, keyPath)
	}
	if err != nil {
		return tls.Certificate{}, "", err
	}
	key, err := pki.GenerateKey(pki.ECDSAP256)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	req := pki.LeafRequest{CommonName: "dbtrust", PublicKey: key.Public(), Now: cfg.Now, NotAfter: cfg.Now.AddDate(0, 0, 30)}
	seen := map[string]bool{}
	for _, h := range append([]string{"localhost", "127.0.0.1", "::1"}, cfg.Hosts...) {
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		if ip := net.ParseIP(h); ip != nil {
			if !ip.IsUnspecified() {
				req.IPs = append(req.IPs, ip)
			}
		} else {
			req.DNSNames = append(req.DNSNames, h)
		}
	}
	der, err := pki.IssueLeaf(ca, caKey, req)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.Raw}, PrivateKey: key}, caPath, nil
}

func loadCA(cfg Config, caPath, keyPath string) (*x509.Certificate, crypto.Signer, error) {
	certPEM, err := os.ReadFile(caPath)
	if err != nil {
		return nil, nil, err
	}
	sealed, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, err
	}
	certs, err := pki.ParseCertsPEM(certPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", caPath, err)
	}
	der, err := cfg.Sealer.Open(sealed, []byte(aad))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	key, err := pki.ParseKey(der)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	return certs[0], key, nil
}

func createCA(cfg Config, caPath, keyPath string) (*x509.Certificate, crypto.Signer, error) {
	key, err := pki.GenerateKey(pki.ECDSAP256)
	if err != nil {
		return nil, nil, err
	}
	der, err := pki.NewCA(pki.CARequest{
		Subject: pkix.Name{CommonName: "dbtrust serving CA", Organization: []string{"dbtrust"}},
		Key:     key, Now: cfg.Now, NotAfter: cfg.Now.AddDate(10, 0, 0),
	})
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := pki.MarshalKey(key)
	if err != nil {
		return nil, nil, err
	}
	sealed, err := cfg.Sealer.Seal(keyDER, []byte(aad))
	if err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(keyPath, sealed, 0o600); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(caPath, pki.CertPEM(der), 0o644); err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}
