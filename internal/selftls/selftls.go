// Package selftls gives dbtrust a serving certificate of its own when the
// operator brings none: an internal CA kept in the data folder (its key sealed
// under the key-encryption key) signs short-lived serving certificates, which
// are renewed in the running server well before they expire.
package selftls

import (
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/datadir"
	"github.com/dbtrust/dbtrust/internal/pki"
)

const aad = "dbtrust-serving-ca"

// Lifetime is how long a serving certificate is valid; it is renewed once a
// third of that is left.
const Lifetime = 30 * 24 * time.Hour

// Config locates the internal CA and names the hosts the certificate covers.
type Config struct {
	Dir    string   // the folder holding ca.pem and ca.key.sealed
	Hosts  []string // DNS names and IP addresses; localhost and loopback are always added
	Sealer dbtrust.Sealer
	Now    func() time.Time // default time.Now
}

// Issuer hands out the serving certificate, renewing it as it ages. It is
// safe for concurrent use.
type Issuer struct {
	ca     *x509.Certificate
	caKey  crypto.Signer
	CAPath string // the CA's PEM file, for clients to trust
	req    pki.LeafRequest
	now    func() time.Time

	mu   sync.Mutex
	cert *tls.Certificate
	leaf *x509.Certificate
}

// Open loads the internal CA from cfg.Dir, creating it on first use (safely,
// when several processes start at once), and issues a first certificate.
func Open(cfg Config) (*Issuer, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := datadir.Prepare(cfg.Dir); err != nil {
		return nil, err
	}
	iss := &Issuer{CAPath: filepath.Join(cfg.Dir, "ca.pem"), now: cfg.Now}
	var err error
	if iss.ca, iss.caKey, err = loadOrCreateCA(cfg, iss.CAPath, filepath.Join(cfg.Dir, "ca.key.sealed")); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, h := range append([]string{"localhost", "127.0.0.1", "::1"}, cfg.Hosts...) {
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		if ip := net.ParseIP(h); ip != nil {
			if !ip.IsUnspecified() {
				iss.req.IPs = append(iss.req.IPs, ip)
			}
		} else {
			iss.req.DNSNames = append(iss.req.DNSNames, h)
		}
	}
	if _, err := iss.GetCertificate(nil); err != nil {
		return nil, err
	}
	return iss, nil
}

// GetCertificate returns the current serving certificate, issuing a new one
// when a third or less of its lifetime is left. It fits tls.Config.
func (i *Issuer) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	now := i.now()
	if i.cert != nil && now.Before(i.leaf.NotAfter.Add(-Lifetime/3)) {
		return i.cert, nil
	}
	key, err := pki.GenerateKey(pki.ECDSAP256)
	if err != nil {
		return nil, err
	}
	req := i.req
	req.CommonName, req.PublicKey, req.Now, req.NotAfter = "dbtrust", key.Public(), now, now.Add(Lifetime)
	der, err := pki.IssueLeaf(i.ca, i.caKey, req)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	i.cert = &tls.Certificate{Certificate: [][]byte{der, i.ca.Raw}, PrivateKey: key, Leaf: leaf}
	i.leaf = leaf
	return i.cert, nil
}

// loadOrCreateCA loads the CA, or creates it when there is none. Creation
// publishes the sealed key with a hard link, which fails when the file exists,
// so of several processes starting at once exactly one creates the CA and the
// others wait for it and load it.
func loadOrCreateCA(cfg Config, caPath, keyPath string) (*x509.Certificate, crypto.Signer, error) {
	for attempt := 0; ; attempt++ {
		ca, key, err := loadCA(cfg, caPath, keyPath)
		if !errors.Is(err, fs.ErrNotExist) {
			return ca, key, err
		}
		err = createCA(cfg, caPath, keyPath)
		switch {
		case err == nil:
			continue // load what was just written
		case !errors.Is(err, fs.ErrExist):
			return nil, nil, err
		case attempt >= 50:
			return nil, nil, fmt.Errorf("%s exists but %s does not appear; if no other dbtrust is starting, remove the first", keyPath, caPath)
		}
		time.Sleep(100 * time.Millisecond) // another process is creating the CA
	}
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
	clear(der)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	if !reflect.DeepEqual(key.Public(), certs[0].PublicKey) {
		return nil, nil, fmt.Errorf("%s does not hold the key of %s", keyPath, caPath)
	}
	return certs[0], key, nil
}

// createCA writes a new CA: the sealed key is linked into place first (failing
// with fs.ErrExist when another process got there first), then the
// certificate is renamed into place.
func createCA(cfg Config, caPath, keyPath string) error {
	now := cfg.Now()
	key, err := pki.GenerateKey(pki.ECDSAP256)
	if err != nil {
		return err
	}
	der, err := pki.NewCA(pki.CARequest{
		Subject: pkix.Name{CommonName: "dbtrust serving CA", Organization: []string{"dbtrust"}},
		Key:     key, Now: now, NotAfter: now.AddDate(10, 0, 0),
	})
	if err != nil {
		return err
	}
	keyDER, err := pki.MarshalKey(key)
	if err != nil {
		return err
	}
	sealed, err := cfg.Sealer.Seal(keyDER, []byte(aad))
	clear(keyDER)
	if err != nil {
		return err
	}
	keyTmp, err := writeTemp(filepath.Dir(keyPath), sealed, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(keyTmp)
	certTmp, err := writeTemp(filepath.Dir(caPath), pki.CertPEM(der), 0o644)
	if err != nil {
		return err
	}
	defer os.Remove(certTmp)
	if err := os.Link(keyTmp, keyPath); err != nil {
		return err // fs.ErrExist: another process is creating the CA
	}
	return os.Rename(certTmp, caPath)
}

func writeTemp(dir string, data []byte, mode os.FileMode) (string, error) {
	b := make([]byte, 8)
	rand.Read(b)
	path := filepath.Join(dir, ".tmp-"+hex.EncodeToString(b))
	if err := os.WriteFile(path, data, mode); err != nil {
		return "", err
	}
	return path, nil
}
