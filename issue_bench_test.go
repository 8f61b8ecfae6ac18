package dbtrust_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/pki"
	"github.com/dbtrust/dbtrust/internal/servicetest"
)

// BenchmarkIssue measures server-certificate issuance, ECDSA P-256, through
// the Service (validation, the CA key opened from its sealed form, signing,
// the record and the audit event written to an SQLite store) with a key
// generated for the caller and from a CSR, beside the raw crypto of the same
// two paths measured in the same run: key generation (or CSR parsing and its
// signature check) plus signing the certificate, nothing else.
//
//	go test -run '^$' -bench BenchmarkIssue -benchtime 2s .
func BenchmarkIssue(b *testing.B) {
	ctx := context.Background()
	env := servicetest.New(b, dbtrust.Options{})
	svc, acct := env.Service, env.Account
	p := dbtrust.Operator(acct.ID)
	inst, err := svc.CreateInstance(ctx, p, dbtrust.InstanceSpec{Name: "bench", Engine: "pg"})
	if err != nil {
		b.Fatal(err)
	}

	// The node's CSR, made once: the server's cost is the same for each.
	nodeKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "node-1.bench.example"}, DNSNames: []string{"node-1.bench.example"}}, nodeKey)
	if err != nil {
		b.Fatal(err)
	}
	csrPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER})

	// A CA of the same kind for the raw runs.
	caKey, _ := pki.GenerateKey(pki.ECDSAP256)
	now := time.Now()
	caDER, err := pki.NewCA(pki.CARequest{Subject: pkix.Name{CommonName: "bench CA"}, Key: caKey, NotAfter: now.AddDate(10, 0, 0), Now: now})
	if err != nil {
		b.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leaf := func(pub any) pki.LeafRequest {
		return pki.LeafRequest{CommonName: "node-1.bench.example", DNSNames: []string{"node-1.bench.example"},
			PublicKey: pub, Now: now, NotAfter: now.Add(90 * 24 * time.Hour)}
	}

	for _, bc := range []struct {
		name string
		fn   func(b *testing.B)
	}{
		{"service/generated-key", func(b *testing.B) {
			if _, err := svc.IssueCertificate(ctx, p, inst.ID, dbtrust.IssueRequest{DNSNames: []string{"node-1.bench.example"}, KeyType: "ecdsa-p256"}); err != nil {
				b.Fatal(err)
			}
		}},
		{"service/csr", func(b *testing.B) {
			if _, err := svc.IssueCertificate(ctx, p, inst.ID, dbtrust.IssueRequest{CSRPEM: csrPEM}); err != nil {
				b.Fatal(err)
			}
		}},
		{"raw/generated-key", func(b *testing.B) {
			k, err := pki.GenerateKey(pki.ECDSAP256)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := pki.IssueLeaf(caCert, caKey, leaf(k.Public())); err != nil {
				b.Fatal(err)
			}
			if _, err := pki.KeyPEM(k); err != nil {
				b.Fatal(err)
			}
		}},
		{"raw/csr", func(b *testing.B) {
			csr, err := pki.ParseCSRPEM(csrPEM)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := pki.IssueLeaf(caCert, caKey, leaf(csr.PublicKey)); err != nil {
				b.Fatal(err)
			}
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				bc.fn(b)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "certs/s")
		})
	}
}
