package main

import (
	"context"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/dbtrust/dbtrust/internal/pki"
)

// runCeiling is the bare handler: the same bytes from memory, no routing,
// no middleware, on its own listener, until interrupted.
func runCeiling(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("ceiling", flag.ContinueOnError)
	bodyFile := fs.String("body", "", "file holding the response body")
	ctype := fs.String("content-type", "application/json", "Content-Type of the answer")
	cert := fs.String("tls-cert", "", "serve HTTPS with this certificate")
	key := fs.String("tls-key", "", "the key of --tls-cert")
	if err := fs.Parse(args); err != nil {
		return err
	}
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", *ctype)
		_, _ = w.Write(body)
	})}
	scheme := "http"
	if *cert != "" {
		scheme = "https"
	}
	fmt.Fprintf(stdout, "serving on %s://%s\n", scheme, ln.Addr())
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if *cert != "" {
		err = srv.ServeTLS(ln, *cert, *key)
	} else {
		err = srv.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// runRawCrypto is what issuance costs without a server, on one core (mode
// issue: a P-256 key generated, a certificate signed by a P-256 CA, both
// PEM-encoded), or what an instance's first CA costs (mode ca: a P-256 key
// generated and a CA certificate self-signed with it, PEM-encoded), one
// after another for the given time. It prints the result as JSON.
func runRawCrypto(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("rawcrypto", flag.ContinueOnError)
	d := fs.Duration("duration", time.Second, "how long to run")
	mode := fs.String("mode", "issue", "issue (keygen and a leaf signed by a CA) or ca (keygen and a self-signed CA)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var op func() error
	var err error
	switch *mode {
	case "issue":
		op, err = rawIssue()
	case "ca":
		op = rawCA
	default:
		err = fmt.Errorf("--mode %q: want issue or ca", *mode)
	}
	if err != nil {
		return err
	}
	var r result
	start := time.Now()
	for time.Since(start) < *d {
		t0 := time.Now()
		if err := op(); err != nil {
			return err
		}
		r.Lat = append(r.Lat, time.Since(t0))
	}
	r.Elapsed = time.Since(start)
	r.CPU = procCPU(os.Getpid()) // the key generation and CA set-up included: a few hundred µs
	return json.NewEncoder(stdout).Encode(r)
}

// rawIssue returns one issuance's crypto, with the CA made first.
func rawIssue() (func() error, error) {
	caKey, err := pki.GenerateKey(pki.ECDSAP256)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caDER, err := pki.NewCA(pki.CARequest{Subject: pkix.Name{CommonName: "load CA"}, Key: caKey, NotAfter: now.AddDate(10, 0, 0), Now: now})
	if err != nil {
		return nil, err
	}
	ca, err := pki.ParseCertsPEM(pki.CertPEM(caDER))
	if err != nil {
		return nil, err
	}
	return func() error {
		k, err := pki.GenerateKey(pki.ECDSAP256)
		if err != nil {
			return err
		}
		der, err := pki.IssueLeaf(ca[0], caKey, pki.LeafRequest{CommonName: "node-1.load.example", DNSNames: []string{"node-1.load.example"},
			PublicKey: k.Public(), Now: now, NotAfter: now.Add(90 * 24 * time.Hour)})
		if err != nil {
			return err
		}
		_ = pki.CertPEM(der)
		_, err = pki.KeyPEM(k)
		return err
	}, nil
}

// rawCA is one instance CA's crypto: a P-256 key and its self-signed CA
// certificate, PEM-encoded.
func rawCA() error {
	k, err := pki.GenerateKey(pki.ECDSAP256)
	if err != nil {
		return err
	}
	now := time.Now()
	der, err := pki.NewCA(pki.CARequest{Subject: pkix.Name{CommonName: "load CA"}, Key: k, NotAfter: now.AddDate(10, 0, 0), Now: now})
	if err != nil {
		return err
	}
	_ = pki.CertPEM(der)
	return nil
}
