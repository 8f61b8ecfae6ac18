package agent

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"hash/fnv"
	"os/exec"
	"strings"
	"time"

	"github.com/dbtrust/dbtrust/client"
	"github.com/dbtrust/dbtrust/internal/pki"
)

// install brings the files in line with the instance's CAs: the bundle when
// it changed, and a new key and certificate when the one in place is due.
// Everything new is checked before anything is renamed into place; the
// bundle goes first, so that a certificate is never in place without the
// bundle that verifies it.
func (a *Agent) install(ctx context.Context, cas client.CAList, bundle []byte) (Result, error) {
	roots, current, err := parseCAs(cas, bundle)
	if err != nil {
		return Result{}, fmt.Errorf("dbtrust sent CAs that do not parse (%v); the files in place are kept", err)
	}
	now := a.cfg.Clock()
	have := a.files.load()
	res := Result{BundleChanged: !bytes.Equal(have.ca, bundle)}
	res.Reason = a.due(have, current, roots, now)
	var certPEM, keyPEM []byte
	leaf := have.cert
	if res.Reason != "" {
		if certPEM, keyPEM, leaf, err = a.renew(ctx, roots, now); err != nil {
			return Result{}, err
		}
	}
	if res.BundleChanged {
		if err := a.files.write(fileCA, bundle); err != nil {
			return Result{}, err
		}
		a.log.Info("installed the instance's CA bundle", "file", a.files.path(fileCA), "cas", strings.Count(string(bundle), "BEGIN CERTIFICATE"))
	}
	if res.Reason != "" {
		if err := a.files.writeCert(certPEM, keyPEM); err != nil {
			return Result{BundleChanged: res.BundleChanged}, err
		}
		res.CertRenewed = true
		if have.cert != nil && now.Before(have.cert.NotAfter) {
			a.replaced = have.cert.SerialNumber.Text(16)
		}
		a.log.Info("installed a new certificate", "reason", res.Reason, "serial", leaf.SerialNumber.Text(16),
			"not_after", leaf.NotAfter.UTC().Format(time.RFC3339), "names", strings.Join(names(leaf), ","))
	}
	res.NextRenewal = renewAt(leaf)
	return res, nil
}

// parseCAs returns the bundle as a pool and the current CA's certificate.
func parseCAs(cas client.CAList, bundle []byte) (*x509.CertPool, *x509.Certificate, error) {
	certs, err := pki.ParseCertsPEM(bundle)
	if err != nil {
		return nil, nil, err
	}
	roots := x509.NewCertPool()
	for _, c := range certs {
		if !c.IsCA {
			return nil, nil, errors.New("the bundle holds a certificate that is not a CA")
		}
		roots.AddCert(c)
	}
	for _, ca := range cas.CAs {
		if ca.State != "current" {
			continue
		}
		cur, err := pki.ParseCertsPEM([]byte(ca.CertificatePEM))
		if err != nil {
			return nil, nil, err
		}
		return roots, cur[0], nil
	}
	return nil, nil, errors.New("the instance has no current CA")
}

// due says why the certificate in place must be replaced, or "" when it
// need not be.
func (a *Agent) due(have state, current *x509.Certificate, roots *x509.CertPool, now time.Time) string {
	switch {
	case have.cert == nil:
		return "there is no certificate in place yet"
	case have.key == nil || !samePublicKey(have.key, have.cert):
		return "the key in place does not match the certificate"
	case have.cert.CheckSignatureFrom(current) != nil:
		return "the instance's CA rotated: the certificate in place is not from the current CA"
	case a.verify(have.cert, roots, now) != nil:
		return "the certificate in place does not verify against the instance's bundle for every endpoint"
	case !now.Before(renewAt(have.cert)):
		return "two thirds of the certificate's life have passed"
	}
	return ""
}

// renew makes a key, sends a CSR, and checks what comes back: it must be for
// that key, chain to the bundle, and name every endpoint.
func (a *Agent) renew(ctx context.Context, roots *x509.CertPool, now time.Time) (certPEM, keyPEM []byte, leaf *x509.Certificate, err error) {
	key, err := pki.GenerateKey(pki.DefaultKeyType)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("could not make a key: %v", err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("could not make a CSR: %v", err)
	}
	csr := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	c, err := a.api.Issue(ctx, a.inst.ID, client.IssueRequest{CSR: string(csr)})
	if err != nil {
		return nil, nil, nil, explain(err, "have a certificate issued")
	}
	certs, err := pki.ParseCertsPEM([]byte(c.CertificatePEM))
	if err == nil && !samePublicKey(key, certs[0]) {
		err = errors.New("it is not for the key this node made")
	}
	if err == nil {
		err = a.verify(certs[0], roots, now)
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("dbtrust sent a certificate that fails the checks (%v); the files in place are kept", err)
	}
	if keyPEM, err = pki.KeyPEM(key); err != nil {
		return nil, nil, nil, fmt.Errorf("could not encode the key: %v", err)
	}
	return []byte(c.CertificatePEM), keyPEM, certs[0], nil
}

// verify checks that leaf chains to the bundle as a server certificate and
// names every endpoint of the instance.
func (a *Agent) verify(leaf *x509.Certificate, roots *x509.CertPool, now time.Time) error {
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		var inv x509.CertificateInvalidError
		if errors.As(err, &inv) && inv.Reason == x509.Expired {
			return errors.New("it is expired or not yet valid")
		}
		return errors.New("it does not chain to the instance's CA bundle as a server certificate")
	}
	for _, e := range a.inst.Endpoints {
		if leaf.VerifyHostname(e.Host) != nil {
			return fmt.Errorf("it does not name the endpoint %s", e.Host)
		}
	}
	return nil
}

func samePublicKey(key crypto.Signer, cert *x509.Certificate) bool {
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(cert.PublicKey)
}

// renewAt is when a certificate falls due: at two thirds of its life, moved
// by up to a twentieth of its life either way. The jitter comes from the
// serial, so that the nodes of a fleet spread out while each node's own
// answer stays the same from pass to pass.
func renewAt(c *x509.Certificate) time.Time {
	life := c.NotAfter.Sub(c.NotBefore)
	h := fnv.New32a()
	h.Write(c.SerialNumber.Bytes())
	jitter := time.Duration(float64(life/10) * (float64(h.Sum32()%1000)/1000 - 0.5))
	return c.NotBefore.Add(life*2/3 + jitter)
}

func names(c *x509.Certificate) []string {
	out := append([]string{}, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	return out
}

// reload runs the operator's reload command and says how it went.
func (a *Agent) reload(ctx context.Context) error {
	if a.cfg.Reload == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", a.cfg.Reload)
	cmd.Dir = a.cfg.Dir
	out, err := cmd.CombinedOutput()
	text := strings.TrimSpace(string(out))
	if len(text) > 2000 {
		text = text[:2000] + "..."
	}
	if err != nil {
		a.log.Error("reload command failed; the new files are in place and the reload is retried on the next pass", "command", a.cfg.Reload, "err", err, "output", text)
		return fmt.Errorf("the reload command failed (%v): %s", err, text)
	}
	a.log.Info("reload command succeeded", "command", a.cfg.Reload, "output", text)
	return nil
}
