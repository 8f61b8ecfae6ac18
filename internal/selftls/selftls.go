// Package selftls gives dbtrust a serving certificate of its own when the
// operator brings none: an internal CA kept in the store (its key sealed
// under the key-encryption key), so that every replica sharing the store
// serves under the same CA, signs short-lived serving certificates, which are
// renewed in the running server well before they expire.
package selftls

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
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

// Name is the serving CA's name in the store.
const Name = "default"

// KeyAAD binds a sealed serving CA key to its name in the store.
func KeyAAD(name string) []byte { return []byte("serving-ca:" + name) }

// legacyAAD bound the key when it was kept in the data folder.
const legacyAAD = "dbtrust-serving-ca"

// StoredCA is the serving CA as the store keeps it.
type StoredCA struct {
	Name      string
	CertPEM   []byte
	SealedKey []byte
	CreatedAt time.Time
}

// Store keeps the serving CA. The contract of dbtrust.Store holds.
type Store interface {
	// GetServingCA returns the CA of that name; NotFound when there is none.
	GetServingCA(ctx context.Context, name string) (StoredCA, error)
	// CreateServingCA records a CA; Conflict when one of that name exists,
	// so that of replicas starting together the first one's CA stays.
	CreateServingCA(ctx context.Context, ca StoredCA) error
}

// Lifetime is how long a serving certificate is valid; it is renewed once a
// third of that is left.
const Lifetime = 30 * 24 * time.Hour

// Config locates the internal CA and names the hosts the certificate covers.
type Config struct {
	Store  Store
	Dir    string   // the folder ca.pem is written to, for clients to trust
	Hosts  []string // DNS names and IP addresses; localhost and loopback are always added
	Sealer dbtrust.Sealer
	Now    func() time.Time // default time.Now
}

// Issuer hands out the serving certificate, renewing it as it ages. It is
// safe for concurrent use.
type Issuer struct {
	ca          *x509.Certificate
	caKey       crypto.Signer
	CAPath      string // the CA's PEM file, for clients to trust
	Fingerprint string // the CA certificate's SHA-256, in hex
	req         pki.LeafRequest
	now         func() time.Time

	mu   sync.Mutex
	cert *tls.Certificate
	leaf *x509.Certificate
}

// Open loads the internal CA from the store, creating it on first use
// (safely, when several replicas start at once), writes its certificate to
// cfg.Dir and issues a first serving certificate.
func Open(ctx context.Context, cfg Config) (*Issuer, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := datadir.Prepare(cfg.Dir); err != nil {
		return nil, err
	}
	iss := &Issuer{CAPath: filepath.Join(cfg.Dir, "ca.pem"), now: cfg.Now}
	var err error
	if iss.ca, iss.caKey, err = loadOrCreateCA(ctx, cfg); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(iss.ca.Raw)
	iss.Fingerprint = hex.EncodeToString(sum[:])
	if err := writeFile(iss.CAPath, pki.CertPEM(iss.ca.Raw), 0o644); err != nil {
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

// loadOrCreateCA loads the CA from the store, or records one when there is
// none: the one a data folder kept before the CA moved into the store, else a
// new one. Of replicas racing to record it, the first wins and the others
// load it.
func loadOrCreateCA(ctx context.Context, cfg Config) (*x509.Certificate, crypto.Signer, error) {
	for attempt := 0; ; attempt++ {
		stored, err := cfg.Store.GetServingCA(ctx, Name)
		if err == nil {
			return openCA(cfg, stored.CertPEM, stored.SealedKey, KeyAAD(Name))
		}
		if dbtrust.ErrorCode(err) != dbtrust.NotFound || attempt > 2 {
			return nil, nil, fmt.Errorf("serving CA: %w", err)
		}
		ca, err := legacyCA(cfg)
		if err != nil {
			return nil, nil, err
		}
		if ca.CertPEM == nil {
			if ca, err = newCA(cfg); err != nil {
				return nil, nil, err
			}
		}
		if err := cfg.Store.CreateServingCA(ctx, ca); err != nil && dbtrust.ErrorCode(err) != dbtrust.Conflict {
			return nil, nil, fmt.Errorf("serving CA: %w", err)
		}
	}
}

// legacyCA returns the CA kept in cfg.Dir by earlier versions, resealed for
// the store, so that clients that trust it keep working; a zero StoredCA
// when the folder holds none.
func legacyCA(cfg Config) (StoredCA, error) {
	keyPath := filepath.Join(cfg.Dir, "ca.key.sealed")
	certPEM, err := os.ReadFile(filepath.Join(cfg.Dir, "ca.pem"))
	if err != nil {
		return StoredCA{}, nil
	}
	sealed, err := os.ReadFile(keyPath)
	if err != nil {
		return StoredCA{}, nil
	}
	_, key, err := openCA(cfg, certPEM, sealed, []byte(legacyAAD))
	if err != nil {
		return StoredCA{}, fmt.Errorf("%s: %w (move it away to make a new serving CA)", keyPath, err)
	}
	return sealCA(cfg, certPEM, key)
}

func openCA(cfg Config, certPEM, sealed, aad []byte) (*x509.Certificate, crypto.Signer, error) {
	certs, err := pki.ParseCertsPEM(certPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("serving CA certificate: %w", err)
	}
	der, err := cfg.Sealer.Open(sealed, aad)
	if err != nil {
		return nil, nil, fmt.Errorf("serving CA key: %w", err)
	}
	key, err := pki.ParseKey(der)
	clear(der)
	if err != nil {
		return nil, nil, fmt.Errorf("serving CA key: %w", err)
	}
	if !reflect.DeepEqual(key.Public(), certs[0].PublicKey) {
		return nil, nil, errors.New("the serving CA key does not match its certificate")
	}
	return certs[0], key, nil
}

// newCA makes a new serving CA.
func newCA(cfg Config) (StoredCA, error) {
	now := cfg.Now()
	key, err := pki.GenerateKey(pki.ECDSAP256)
	if err != nil {
		return StoredCA{}, err
	}
	der, err := pki.NewCA(pki.CARequest{
		Subject: pkix.Name{CommonName: "dbtrust serving CA", Organization: []string{"dbtrust"}},
		Key:     key, Now: now, NotAfter: now.AddDate(10, 0, 0),
	})
	if err != nil {
		return StoredCA{}, err
	}
	return sealCA(cfg, pki.CertPEM(der), key)
}

func sealCA(cfg Config, certPEM []byte, key crypto.Signer) (StoredCA, error) {
	keyDER, err := pki.MarshalKey(key)
	if err != nil {
		return StoredCA{}, err
	}
	sealed, err := cfg.Sealer.Seal(keyDER, KeyAAD(Name))
	clear(keyDER)
	if err != nil {
		return StoredCA{}, err
	}
	return StoredCA{Name: Name, CertPEM: certPEM, SealedKey: sealed, CreatedAt: cfg.Now().UTC()}, nil
}

// writeFile replaces path whole: a reader sees the old file or the new one.
func writeFile(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
