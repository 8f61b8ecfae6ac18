package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// row is one target of one scenario and its rounds. Ratios, when set, holds
// each round's throughput over the paired ceiling round's; CPURatios the
// ceiling's server CPU per request over this target's, which a loaded
// machine disturbs less.
type row struct {
	Name, Target string
	Runs         []result
	Ratios       []float64
	CPURatios    []float64
}

// interleave runs a then b, Rounds times, so that both see the same machine.
func (b *bench) interleave(ctx context.Context, name string, a func(context.Context) (result, error), ceilName string, c func(context.Context) (result, error)) error {
	ra, rc := row{Name: name, Target: "dbtrust"}, row{Name: name, Target: ceilName}
	for i := range b.cfg.Rounds {
		x, err := a(ctx)
		if err != nil {
			return fmt.Errorf("%s, round %d: %w", name, i+1, err)
		}
		y, err := c(ctx)
		if err != nil {
			return fmt.Errorf("%s (%s), round %d: %w", name, ceilName, i+1, err)
		}
		ra.Runs, rc.Runs = append(ra.Runs, x), append(rc.Runs, y)
		ra.Ratios = append(ra.Ratios, x.rate()/y.rate())
		if x.cpuPerOp() > 0 && y.cpuPerOp() > 0 {
			ra.CPURatios = append(ra.CPURatios, float64(y.cpuPerOp())/float64(x.cpuPerOp()))
		}
		fmt.Fprintf(b.out, "%s, round %d: dbtrust %.0f/s, %s %.0f/s\n", name, i+1, x.rate(), ceilName, y.rate())
	}
	b.rows = append(b.rows, ra, rc)
	return nil
}

func median[T float64 | time.Duration](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// printTable prints the medians of each row's rounds as a Markdown table.
func printTable(w io.Writer, rows []row) {
	fmt.Fprintln(w, "| scenario | target | req/s | p50 | p99 | server CPU/req | req/s ratio to the ceiling (each round) | CPU ratio |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		var rate []float64
		var p50, p99, cpu []time.Duration
		for _, x := range r.Runs {
			rate, p50, p99, cpu = append(rate, x.rate()), append(p50, x.quantile(0.5)), append(p99, x.quantile(0.99)), append(cpu, x.cpuPerOp())
		}
		ratio, cpuRatio := "", ""
		if len(r.Ratios) > 0 {
			var each []string
			for _, x := range r.Ratios {
				each = append(each, fmt.Sprintf("%.2f", x))
			}
			ratio = fmt.Sprintf("**%.2f** (%s)", median(r.Ratios), strings.Join(each, " "))
		}
		if len(r.CPURatios) > 0 {
			cpuRatio = fmt.Sprintf("%.2f", median(r.CPURatios))
		}
		lat := func(d time.Duration) string {
			if len(r.Runs[0].Lat) <= 1 {
				return "-"
			}
			return fmtDur(d)
		}
		fmt.Fprintf(w, "| %s | %s | %.0f | %s | %s | %s | %s | %s |\n", r.Name, r.Target, median(rate), lat(median(p50)), lat(median(p99)), fmtDur(median(cpu)), ratio, cpuRatio)
	}
}

func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	default:
		return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
	}
}

// writeServingCert makes a self-signed P-256 certificate for 127.0.0.1,
// which dbtrust (--tls-cert) and the ceiling both serve.
func writeServingCert(dir string) (certFile, keyFile string, certPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", nil, err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		return "", "", nil, err
	}
	return certFile, keyFile, certPEM, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
}
