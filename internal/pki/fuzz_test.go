package pki_test

import (
	"testing"

	"github.com/dbtrust/dbtrust/internal/pki"
)

// FuzzParseCSRPEM and FuzzParseCertsPEM: uploaded PEM never panics the
// parsers; a CSR that parses has a checked signature.
func FuzzParseCSRPEM(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"))
	f.Add([]byte("garbage"))
	f.Add([]byte("-----BEGIN NEW CERTIFICATE REQUEST-----\nMIIBAA==\n-----END NEW CERTIFICATE REQUEST-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		csr, err := pki.ParseCSRPEM(data)
		if err == nil && csr.CheckSignature() != nil {
			t.Fatalf("ParseCSRPEM accepted a CSR whose signature does not verify")
		}
	})
}

func FuzzParseCertsPEM(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := pki.ParseCertsPEM(data)
		if err == nil && len(certs) == 0 {
			t.Fatalf("ParseCertsPEM = no certificates and no error")
		}
	})
}
