// Package pki generates keys and certificates and parses PEM and DER. Its
// functions are pure: they take the time and the randomness source they need.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// KeyType names a key algorithm and size.
type KeyType string

const (
	ECDSAP256 KeyType = "ecdsa-p256"
	ECDSAP384 KeyType = "ecdsa-p384"
	RSA2048   KeyType = "rsa-2048"
	RSA3072   KeyType = "rsa-3072"
	RSA4096   KeyType = "rsa-4096"
)

// DefaultKeyType is used when none is asked for.
const DefaultKeyType = ECDSAP256

// KeyTypes lists the supported key types.
var KeyTypes = []KeyType{ECDSAP256, ECDSAP384, RSA2048, RSA3072, RSA4096}

// ParseKeyType returns the KeyType named s; "" means the default.
func ParseKeyType(s string) (KeyType, error) {
	if s == "" {
		return DefaultKeyType, nil
	}
	for _, k := range KeyTypes {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown key type %q (want one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096)", s)
}

// GenerateKey returns a new private key of type kt.
func GenerateKey(kt KeyType) (crypto.Signer, error) {
	switch kt {
	case ECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ECDSAP384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case RSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case RSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	case RSA4096:
		return rsa.GenerateKey(rand.Reader, 4096)
	}
	return nil, fmt.Errorf("unknown key type %q", kt)
}

// KeyTypeOf returns the KeyType of a public key, or an error for one dbtrust
// does not accept.
func KeyTypeOf(pub crypto.PublicKey) (KeyType, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return ECDSAP256, nil
		case elliptic.P384():
			return ECDSAP384, nil
		}
	case *rsa.PublicKey:
		switch k.N.BitLen() {
		case 2048:
			return RSA2048, nil
		case 3072:
			return RSA3072, nil
		case 4096:
			return RSA4096, nil
		}
	}
	return "", errors.New("unsupported public key: want ECDSA P-256/P-384 or RSA 2048/3072/4096")
}

// MarshalKey returns the PKCS#8 DER form of key.
func MarshalKey(key crypto.Signer) ([]byte, error) { return x509.MarshalPKCS8PrivateKey(key) }

// ParseKey parses a PKCS#8 DER private key.
func ParseKey(der []byte) (crypto.Signer, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("private key cannot sign")
	}
	return s, nil
}

// KeyPEM returns key as a PEM "PRIVATE KEY" (PKCS#8) block.
func KeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := MarshalKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// CertPEM returns der as a PEM "CERTIFICATE" block.
func CertPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// ParseCertsPEM parses every CERTIFICATE block of data, in order. It fails when
// there is none, when a block does not parse, or when data holds any other
// kind of PEM block (a private key passed by mistake, say).
func ParseCertsPEM(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block of type %q where a CERTIFICATE was expected", b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d does not parse: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block found")
	}
	return certs, nil
}

// Why a CSR was refused; ParseCSRPEM's errors wrap one of these.
var (
	ErrNoCSR        = errors.New("no PEM CERTIFICATE REQUEST block found")
	ErrCSRMalformed = errors.New("certificate request does not parse")
	ErrCSRSignature = errors.New("certificate request signature does not verify")
)

// ParseCSRPEM parses a PEM CERTIFICATE REQUEST and checks its signature.
// Its errors wrap ErrNoCSR, ErrCSRMalformed or ErrCSRSignature.
func ParseCSRPEM(data []byte) (*x509.CertificateRequest, error) {
	b, _ := pem.Decode(data)
	if b == nil || (b.Type != "CERTIFICATE REQUEST" && b.Type != "NEW CERTIFICATE REQUEST") {
		return nil, ErrNoCSR
	}
	csr, err := x509.ParseCertificateRequest(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCSRMalformed, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCSRSignature, err)
	}
	return csr, nil
}

// Fingerprint returns the lower-case hex SHA-256 of der.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// NewSerial returns a random positive 128-bit serial number.
func NewSerial() (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	b[0] &= 0x7f // positive, and at most 16 bytes in DER
	n := new(big.Int).SetBytes(b)
	if n.Sign() == 0 {
		n.SetInt64(1)
	}
	return n, nil
}

// subjectKeyID computes the RFC 5280 §4.2.1.2 method-1 key identifier.
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, err
	}
	sum := sha1.Sum(spki.PublicKey.Bytes)
	return sum[:], nil
}

// CARequest describes a self-signed CA certificate.
type CARequest struct {
	Subject  pkix.Name
	Key      crypto.Signer
	NotAfter time.Time
	Now      time.Time
}

// NewCA returns the DER of a self-signed CA certificate for req.Key:
// BasicConstraints CA:TRUE (critical), KeyUsage certSign|CRLSign (critical),
// SubjectKeyId, a random 128-bit serial, valid from one minute before Now.
func NewCA(req CARequest) ([]byte, error) {
	serial, err := NewSerial()
	if err != nil {
		return nil, err
	}
	ski, err := subjectKeyID(req.Key.Public())
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               req.Subject,
		NotBefore:             req.Now.Add(-time.Minute).UTC(),
		NotAfter:              req.NotAfter.UTC(),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          ski,
		AuthorityKeyId:        ski,
	}
	return x509.CreateCertificate(rand.Reader, tmpl, tmpl, req.Key.Public(), req.Key)
}

// LeafRequest describes a server (or client) certificate to issue from a CA.
type LeafRequest struct {
	CommonName string
	DNSNames   []string
	IPs        []net.IP
	PublicKey  crypto.PublicKey
	NotAfter   time.Time // capped at the CA's NotAfter
	Now        time.Time
	Client     bool     // also allow client authentication
	CRLURLs    []string // CRL distribution points, if any
}

// IssueLeaf signs a leaf certificate for req with the CA, returning its DER.
// NotAfter is capped at the CA's own expiry.
func IssueLeaf(ca *x509.Certificate, caKey crypto.Signer, req LeafRequest) ([]byte, error) {
	serial, err := NewSerial()
	if err != nil {
		return nil, err
	}
	ski, err := subjectKeyID(req.PublicKey)
	if err != nil {
		return nil, err
	}
	notAfter := req.NotAfter
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter
	}
	usage := x509.KeyUsageDigitalSignature
	if _, ok := req.PublicKey.(*rsa.PublicKey); ok {
		usage |= x509.KeyUsageKeyEncipherment
	}
	ext := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	if req.Client {
		ext = append(ext, x509.ExtKeyUsageClientAuth)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: req.CommonName},
		NotBefore:             req.Now.Add(-time.Minute).UTC(),
		NotAfter:              notAfter.UTC(),
		KeyUsage:              usage,
		ExtKeyUsage:           ext,
		BasicConstraintsValid: true,
		DNSNames:              req.DNSNames,
		IPAddresses:           req.IPs,
		SubjectKeyId:          ski,
		AuthorityKeyId:        ca.SubjectKeyId,
		CRLDistributionPoints: req.CRLURLs,
	}
	return x509.CreateCertificate(rand.Reader, tmpl, ca, req.PublicKey, caKey)
}

// RevokedEntry is one revoked certificate in a CRL.
type RevokedEntry struct {
	Serial     *big.Int
	RevokedAt  time.Time
	ReasonCode int // RFC 5280 CRLReason
}

// CRLRequest describes a certificate revocation list signed by a CA.
type CRLRequest struct {
	Number     *big.Int
	Now        time.Time
	NextUpdate time.Time
	Entries    []RevokedEntry
}

// NewCRL returns the DER of a CRL for req, signed by the CA.
func NewCRL(ca *x509.Certificate, caKey crypto.Signer, req CRLRequest) ([]byte, error) {
	tmpl := &x509.RevocationList{
		Number:     req.Number,
		ThisUpdate: req.Now.UTC(),
		NextUpdate: req.NextUpdate.UTC(),
	}
	for _, e := range req.Entries {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{
			SerialNumber: e.Serial, RevocationTime: e.RevokedAt.UTC(), ReasonCode: e.ReasonCode,
		})
	}
	return x509.CreateRevocationList(rand.Reader, tmpl, ca, caKey)
}

// CRLPEM returns der as a PEM "X509 CRL" block.
func CRLPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
}
