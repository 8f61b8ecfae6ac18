package pki_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust/internal/pki"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newCA makes a CA of key type kt valid until notAfter and returns its
// parsed certificate and key.
func newCA(t *testing.T, kt pki.KeyType, cn string, notAfter time.Time) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	key, err := pki.GenerateKey(kt)
	if err != nil {
		t.Fatalf("GenerateKey(%q) = %v, want nil", kt, err)
	}
	der, err := pki.NewCA(pki.CARequest{Subject: pkix.Name{CommonName: cn}, Key: key, Now: now, NotAfter: notAfter})
	if err != nil {
		t.Fatalf("NewCA(%q) = %v, want nil", kt, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("ParseCertificate(NewCA(%q)) = %v, want nil", kt, err)
	}
	return cert, key
}

// methodOneKeyID is RFC 5280 §4.2.1.2 method 1, computed independently of
// pki: SHA-1 of the subjectPublicKey BIT STRING of the SubjectPublicKeyInfo.
func methodOneKeyID(t *testing.T, spkiDER []byte) []byte {
	t.Helper()
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if rest, err := asn1.Unmarshal(spkiDER, &spki); err != nil || len(rest) != 0 {
		t.Fatalf("asn1.Unmarshal(SubjectPublicKeyInfo) = %v (%d trailing bytes), want nil", err, len(rest))
	}
	sum := sha1.Sum(spki.PublicKey.Bytes)
	return sum[:]
}

func TestNewCA(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kt       pki.KeyType
		validity time.Duration
		check    func(pub crypto.PublicKey) bool
	}{
		{pki.ECDSAP256, 10 * 365 * 24 * time.Hour, func(pub crypto.PublicKey) bool {
			k, ok := pub.(*ecdsa.PublicKey)
			return ok && k.Curve == elliptic.P256()
		}},
		{pki.ECDSAP384, 365 * 24 * time.Hour, func(pub crypto.PublicKey) bool {
			k, ok := pub.(*ecdsa.PublicKey)
			return ok && k.Curve == elliptic.P384()
		}},
		{pki.RSA2048, 24 * time.Hour, func(pub crypto.PublicKey) bool {
			k, ok := pub.(*rsa.PublicKey)
			return ok && k.N.BitLen() == 2048
		}},
		{pki.RSA3072, 48 * time.Hour, func(pub crypto.PublicKey) bool {
			k, ok := pub.(*rsa.PublicKey)
			return ok && k.N.BitLen() == 3072
		}},
		{pki.RSA4096, 5 * 365 * 24 * time.Hour, func(pub crypto.PublicKey) bool {
			k, ok := pub.(*rsa.PublicKey)
			return ok && k.N.BitLen() == 4096
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.kt), func(t *testing.T) {
			t.Parallel()
			notAfter := now.Add(tt.validity)
			ca, _ := newCA(t, tt.kt, "test CA "+string(tt.kt), notAfter)
			if !tt.check(ca.PublicKey) {
				t.Errorf("NewCA(%q).PublicKey = %T, want a key of that type", tt.kt, ca.PublicKey)
			}
			if got, err := pki.KeyTypeOf(ca.PublicKey); err != nil || got != tt.kt {
				t.Errorf("KeyTypeOf(NewCA(%q).PublicKey) = %q, %v, want %q", tt.kt, got, err, tt.kt)
			}
			if !ca.BasicConstraintsValid || !ca.IsCA {
				t.Errorf("NewCA(%q) BasicConstraints valid=%v CA=%v, want true, true", tt.kt, ca.BasicConstraintsValid, ca.IsCA)
			}
			if !extensionCritical(ca, asn1.ObjectIdentifier{2, 5, 29, 19}) {
				t.Errorf("NewCA(%q) BasicConstraints critical = false, want true", tt.kt)
			}
			if want := x509.KeyUsageCertSign | x509.KeyUsageCRLSign; ca.KeyUsage&want != want {
				t.Errorf("NewCA(%q).KeyUsage = %b, want certSign|CRLSign (%b) set", tt.kt, ca.KeyUsage, want)
			}
			if !extensionCritical(ca, asn1.ObjectIdentifier{2, 5, 29, 15}) {
				t.Errorf("NewCA(%q) KeyUsage critical = false, want true", tt.kt)
			}
			if want := methodOneKeyID(t, ca.RawSubjectPublicKeyInfo); !bytes.Equal(ca.SubjectKeyId, want) {
				t.Errorf("NewCA(%q).SubjectKeyId = %x, want %x (RFC 5280 method 1)", tt.kt, ca.SubjectKeyId, want)
			}
			if !bytes.Equal(ca.AuthorityKeyId, ca.SubjectKeyId) {
				t.Errorf("NewCA(%q).AuthorityKeyId = %x, want the SubjectKeyId %x", tt.kt, ca.AuthorityKeyId, ca.SubjectKeyId)
			}
			if ca.SerialNumber.Sign() <= 0 || ca.SerialNumber.BitLen() < 64 || ca.SerialNumber.BitLen() > 128 {
				t.Errorf("NewCA(%q).SerialNumber = %x (%d bits), want positive, 64 to 128 bits", tt.kt, ca.SerialNumber, ca.SerialNumber.BitLen())
			}
			if !ca.NotAfter.Equal(notAfter) {
				t.Errorf("NewCA(%q).NotAfter = %v, want %v", tt.kt, ca.NotAfter, notAfter)
			}
			if ca.NotBefore.After(now) || now.Sub(ca.NotBefore) > time.Hour {
				t.Errorf("NewCA(%q).NotBefore = %v, want at or a little before %v", tt.kt, ca.NotBefore, now)
			}
			if ca.Subject.CommonName != "test CA "+string(tt.kt) {
				t.Errorf("NewCA(%q).Subject.CommonName = %q, want %q", tt.kt, ca.Subject.CommonName, "test CA "+string(tt.kt))
			}
			if err := ca.CheckSignatureFrom(ca); err != nil {
				t.Errorf("NewCA(%q).CheckSignatureFrom(itself) = %v, want nil", tt.kt, err)
			}
		})
	}
}

func extensionCritical(c *x509.Certificate, oid asn1.ObjectIdentifier) bool {
	for _, e := range c.Extensions {
		if e.Id.Equal(oid) {
			return e.Critical
		}
	}
	return false
}

func TestNewCASerialsDiffer(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for i := 0; i < 8; i++ {
		ca, _ := newCA(t, pki.ECDSAP256, "serials", now.Add(time.Hour))
		s := ca.SerialNumber.Text(16)
		if seen[s] {
			t.Fatalf("NewCA serial %s seen twice, want a fresh random serial each time", s)
		}
		seen[s] = true
	}
}

func TestNewSerial(t *testing.T) {
	t.Parallel()
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	a, err := pki.NewSerial()
	if err != nil {
		t.Fatalf("NewSerial() = %v, want nil", err)
	}
	b, err := pki.NewSerial()
	if err != nil {
		t.Fatalf("NewSerial() = %v, want nil", err)
	}
	for _, n := range []*big.Int{a, b} {
		if n.Sign() <= 0 || n.Cmp(limit) >= 0 {
			t.Errorf("NewSerial() = %x, want in (0, 2^128)", n)
		}
	}
	if a.Cmp(b) == 0 {
		t.Errorf("NewSerial() twice = %x, %x, want different", a, b)
	}
}

func TestIssueLeaf(t *testing.T) {
	t.Parallel()
	caNotAfter := now.Add(30 * 24 * time.Hour)
	tests := []struct {
		name         string
		caType       pki.KeyType
		leafType     pki.KeyType
		notAfter     time.Time
		wantNotAfter time.Time
		client       bool
	}{
		{"ecdsa within CA", pki.ECDSAP256, pki.ECDSAP256, now.Add(24 * time.Hour), now.Add(24 * time.Hour), false},
		{"capped at CA expiry", pki.ECDSAP256, pki.ECDSAP384, now.Add(365 * 24 * time.Hour), caNotAfter, false},
		{"rsa leaf under ecdsa CA", pki.ECDSAP384, pki.RSA2048, now.Add(time.Hour), now.Add(time.Hour), true},
		{"ecdsa leaf under rsa CA", pki.RSA2048, pki.ECDSAP256, caNotAfter.Add(time.Second), caNotAfter, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ca, caKey := newCA(t, tt.caType, "issuing CA", caNotAfter)
			key, err := pki.GenerateKey(tt.leafType)
			if err != nil {
				t.Fatalf("GenerateKey(%q) = %v, want nil", tt.leafType, err)
			}
			req := pki.LeafRequest{
				CommonName: "db.example.test",
				DNSNames:   []string{"db.example.test", "replica.example.test"},
				IPs:        []net.IP{net.ParseIP("10.0.0.7")},
				PublicKey:  key.Public(),
				NotAfter:   tt.notAfter,
				Now:        now,
				Client:     tt.client,
			}
			der, err := pki.IssueLeaf(ca, caKey, req)
			if err != nil {
				t.Fatalf("IssueLeaf(%q) = %v, want nil", tt.name, err)
			}
			leaf, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatalf("ParseCertificate(IssueLeaf(%q)) = %v, want nil", tt.name, err)
			}
			if !leaf.NotAfter.Equal(tt.wantNotAfter) {
				t.Errorf("IssueLeaf(%q).NotAfter = %v, want %v", tt.name, leaf.NotAfter, tt.wantNotAfter)
			}
			if leaf.IsCA {
				t.Errorf("IssueLeaf(%q).IsCA = true, want false", tt.name)
			}
			if !slices.Equal(leaf.DNSNames, req.DNSNames) {
				t.Errorf("IssueLeaf(%q).DNSNames = %q, want %q", tt.name, leaf.DNSNames, req.DNSNames)
			}
			if len(leaf.IPAddresses) != 1 || !leaf.IPAddresses[0].Equal(req.IPs[0]) {
				t.Errorf("IssueLeaf(%q).IPAddresses = %v, want %v", tt.name, leaf.IPAddresses, req.IPs)
			}
			wantEKU := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
			if tt.client {
				wantEKU = append(wantEKU, x509.ExtKeyUsageClientAuth)
			}
			if !slices.Equal(leaf.ExtKeyUsage, wantEKU) {
				t.Errorf("IssueLeaf(%q).ExtKeyUsage = %v, want %v", tt.name, leaf.ExtKeyUsage, wantEKU)
			}
			if !bytes.Equal(leaf.AuthorityKeyId, ca.SubjectKeyId) {
				t.Errorf("IssueLeaf(%q).AuthorityKeyId = %x, want the CA's SubjectKeyId %x", tt.name, leaf.AuthorityKeyId, ca.SubjectKeyId)
			}
			if want := methodOneKeyID(t, leaf.RawSubjectPublicKeyInfo); !bytes.Equal(leaf.SubjectKeyId, want) {
				t.Errorf("IssueLeaf(%q).SubjectKeyId = %x, want %x", tt.name, leaf.SubjectKeyId, want)
			}
			roots := x509.NewCertPool()
			roots.AddCert(ca)
			for _, name := range req.DNSNames {
				opts := x509.VerifyOptions{DNSName: name, Roots: roots, CurrentTime: now.Add(time.Minute)}
				if _, err := leaf.Verify(opts); err != nil {
					t.Errorf("IssueLeaf(%q).Verify(DNSName %q) = %v, want nil", tt.name, name, err)
				}
			}
			opts := x509.VerifyOptions{DNSName: "other.example.test", Roots: roots, CurrentTime: now.Add(time.Minute)}
			if _, err := leaf.Verify(opts); err == nil {
				t.Errorf("IssueLeaf(%q).Verify(DNSName %q) = nil, want a hostname error", tt.name, opts.DNSName)
			}
			other, _ := newCA(t, pki.ECDSAP256, "other CA", caNotAfter)
			otherRoots := x509.NewCertPool()
			otherRoots.AddCert(other)
			opts = x509.VerifyOptions{DNSName: req.DNSNames[0], Roots: otherRoots, CurrentTime: now.Add(time.Minute)}
			if _, err := leaf.Verify(opts); err == nil {
				t.Errorf("IssueLeaf(%q).Verify(another CA) = nil, want an unknown authority error", tt.name)
			}
		})
	}
}

// TestIssueLeafTLSHandshake serves a leaf over a real TLS connection: a client
// trusting only the issuing CA gets through, one trusting another CA does not.
func TestIssueLeafTLSHandshake(t *testing.T) {
	t.Parallel()
	realNow := time.Now()
	caKey, err := pki.GenerateKey(pki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	caDER, err := pki.NewCA(pki.CARequest{Subject: pkix.Name{CommonName: "handshake CA"}, Key: caKey, Now: realNow, NotAfter: realNow.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leafKey, err := pki.GenerateKey(pki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	leafDER, err := pki.IssueLeaf(ca, caKey, pki.LeafRequest{
		CommonName: "db.example.test", DNSNames: []string{"db.example.test"},
		PublicKey: leafKey.Public(), Now: realNow, NotAfter: realNow.Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	serverCert := tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}

	otherKey, _ := pki.GenerateKey(pki.ECDSAP256)
	otherDER, err := pki.NewCA(pki.CARequest{Subject: pkix.Name{CommonName: "other CA"}, Key: otherKey, Now: realNow, NotAfter: realNow.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := x509.ParseCertificate(otherDER)

	tests := []struct {
		name    string
		trust   *x509.Certificate
		wantErr bool
	}{
		{"trusts the issuing CA", ca, false},
		{"trusts another CA", other, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pool := x509.NewCertPool()
			pool.AddCert(tt.trust)
			err := handshake(t, serverCert, &tls.Config{RootCAs: pool, ServerName: "db.example.test", MinVersion: tls.VersionTLS12})
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Fatalf("TLS handshake (%s) = %v, want error %v", tt.name, err, tt.wantErr)
			}
			var uae x509.UnknownAuthorityError
			if tt.wantErr && !errors.As(err, &uae) {
				var ve *tls.CertificateVerificationError
				if !errors.As(err, &ve) {
					t.Fatalf("TLS handshake (%s) = %v, want a certificate verification error", tt.name, err)
				}
			}
		})
	}
}

// handshake runs a TLS handshake over a loopback connection and returns the
// client's error. (net.Pipe is unbuffered: a client that rejects the server's
// certificate mid-flight would deadlock with the server still writing.)
func handshake(t *testing.T, serverCert tls.Certificate, client *tls.Config) error {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		buf := make([]byte, 4)
		if n, err := c.Read(buf); err == nil {
			c.Write(buf[:n])
		}
	}()
	defer func() { ln.Close(); <-done }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d := tls.Dialer{Config: client}
	conn, err := d.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("ping")); err != nil {
		return err
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(conn, buf); err != nil {
		return err
	}
	if string(buf) != "ping" {
		t.Fatalf("echo over TLS = %q, want %q", buf, "ping")
	}
	return nil
}

func TestParseCertsPEM(t *testing.T) {
	t.Parallel()
	ca, key := newCA(t, pki.ECDSAP256, "pem CA", now.Add(time.Hour))
	keyPEM, err := pki.KeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	one := pki.CertPEM(ca.Raw)
	two := append(pki.CertPEM(ca.Raw), one...)
	broken := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")})
	tests := []struct {
		name    string
		in      []byte
		wantN   int
		wantErr bool
	}{
		{"one certificate", one, 1, false},
		{"two certificates", two, 2, false},
		{"certificate then private key", append(append([]byte{}, one...), keyPEM...), 0, true},
		{"private key only", keyPEM, 0, true},
		{"garbage", []byte("this is not PEM at all"), 0, true},
		{"CERTIFICATE block of garbage", broken, 0, true},
		{"empty", nil, 0, true},
		{"whitespace", []byte("\n\n  \n"), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := pki.ParseCertsPEM(tt.in)
			if (err != nil) != tt.wantErr || len(got) != tt.wantN {
				t.Fatalf("ParseCertsPEM(%q) = %d certs, %v, want %d certs, error %v", tt.name, len(got), err, tt.wantN, tt.wantErr)
			}
			for i, c := range got {
				if !c.Equal(ca) {
					t.Errorf("ParseCertsPEM(%q)[%d] = %v, want the CA", tt.name, i, c.Subject)
				}
			}
		})
	}
}

func TestParseCSRPEM(t *testing.T) {
	t.Parallel()
	key, err := pki.GenerateKey(pki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(nil, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "db.example.test"}, DNSNames: []string{"db.example.test"},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	good := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	tampered := bytes.Clone(der)
	tampered[len(tampered)-5] ^= 0xff // inside the signature
	badSig := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: tampered})
	// A CSR whose signature is valid DER but over other content: the subject changed after signing.
	swapped := bytes.Replace(bytes.Clone(der), []byte("db.example.test"), []byte("xx.example.test"), 1)
	badBody := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: swapped})
	ca, _ := newCA(t, pki.ECDSAP256, "csr CA", now.Add(time.Hour))
	tests := []struct {
		name    string
		in      []byte
		wantErr bool
	}{
		{"valid", good, false},
		{"NEW CERTIFICATE REQUEST header", pem.EncodeToMemory(&pem.Block{Type: "NEW CERTIFICATE REQUEST", Bytes: der}), false},
		{"broken signature", badSig, true},
		{"content changed after signing", badBody, true},
		{"a certificate", pki.CertPEM(ca.Raw), true},
		{"garbage DER", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{0x30, 0x03, 0x02, 0x01}}), true},
		{"not PEM", []byte("hello"), true},
		{"empty", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			csr, err := pki.ParseCSRPEM(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseCSRPEM(%q) = %v, want error %v", tt.name, err, tt.wantErr)
			}
			if err == nil && csr.Subject.CommonName != "db.example.test" {
				t.Errorf("ParseCSRPEM(%q).Subject.CommonName = %q, want %q", tt.name, csr.Subject.CommonName, "db.example.test")
			}
		})
	}
}

func TestParseKeyType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    pki.KeyType
		wantErr bool
	}{
		{"", pki.ECDSAP256, false},
		{"ecdsa-p256", pki.ECDSAP256, false},
		{"ecdsa-p384", pki.ECDSAP384, false},
		{"rsa-2048", pki.RSA2048, false},
		{"rsa-3072", pki.RSA3072, false},
		{"rsa-4096", pki.RSA4096, false},
		{"rsa-1024", "", true},
		{"ECDSA-P256", "", true},
		{"ed25519", "", true},
		{"ecdsa-p521", "", true},
		{" ecdsa-p256", "", true},
	}
	for _, tt := range tests {
		got, err := pki.ParseKeyType(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseKeyType(%q) = %q, %v, want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	if _, err := pki.GenerateKey("ed25519"); err == nil {
		t.Errorf("GenerateKey(%q) = nil error, want an error", "ed25519")
	}
}

func TestKeyRoundTrip(t *testing.T) {
	t.Parallel()
	for _, kt := range []pki.KeyType{pki.ECDSAP256, pki.ECDSAP384, pki.RSA2048} {
		key, err := pki.GenerateKey(kt)
		if err != nil {
			t.Fatal(err)
		}
		der, err := pki.MarshalKey(key)
		if err != nil {
			t.Fatalf("MarshalKey(%q) = %v, want nil", kt, err)
		}
		back, err := pki.ParseKey(der)
		if err != nil {
			t.Fatalf("ParseKey(MarshalKey(%q)) = %v, want nil", kt, err)
		}
		type equaler interface{ Equal(crypto.PrivateKey) bool }
		if !back.(equaler).Equal(key) {
			t.Errorf("ParseKey(MarshalKey(%q)) = another key, want the same", kt)
		}
	}
	if _, err := pki.ParseKey([]byte("garbage")); err == nil {
		t.Errorf("ParseKey(%q) = nil error, want an error", "garbage")
	}
}
