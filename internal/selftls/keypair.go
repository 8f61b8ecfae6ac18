package selftls

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"sync/atomic"
	"time"
)

// KeyPair serves the operator's certificate (--tls-cert, --tls-key) and
// reloads it from its files on demand, so that a renewed certificate is
// served without a restart and without dropping connections. It is safe for
// concurrent use.
type KeyPair struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

// LoadKeyPair reads the certificate and key files.
func LoadKeyPair(certFile, keyFile string) (*KeyPair, error) {
	kp := &KeyPair{certFile: certFile, keyFile: keyFile}
	if err := kp.Reload(time.Now()); err != nil {
		return nil, err
	}
	return kp, nil
}

// Reload reads the files again. A pair that does not load, whose key does
// not match, or whose certificate has expired is refused, and the
// certificate served so far stays.
func (kp *KeyPair) Reload(now time.Time) error {
	cert, err := tls.LoadX509KeyPair(kp.certFile, kp.keyFile)
	if err != nil {
		return fmt.Errorf("--tls-cert %s / --tls-key %s: %w", kp.certFile, kp.keyFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return fmt.Errorf("--tls-cert %s: %w", kp.certFile, err)
		}
	}
	if now.After(cert.Leaf.NotAfter) {
		return fmt.Errorf("--tls-cert %s expired on %s", kp.certFile, cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	kp.cur.Store(&cert)
	return nil
}

// NotAfter is when the served certificate expires.
func (kp *KeyPair) NotAfter() time.Time { return kp.cur.Load().Leaf.NotAfter }

// GetCertificate returns the current certificate. It fits tls.Config.
func (kp *KeyPair) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return kp.cur.Load(), nil
}
