package digitalocean_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"testing"

	"github.com/dbtrust/dbtrust"
)

// fetchCA gets the cluster's CA bundle the way godo does and returns a pool of it.
func (e *env) fetchCA(t *testing.T, id string) *x509.CertPool {
	t.Helper()
	r := e.do(t, "GET", "/v2/databases/"+id+"/ca", e.token, nil)
	var v struct {
		CA struct {
			Certificate []byte `json:"certificate"`
		} `json:"ca"`
	}
	if r.status != 200 || json.Unmarshal(r.body, &v) != nil {
		t.Fatalf("GET ca = %d %s", r.status, r.body)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(v.CA.Certificate) {
		t.Fatal("CA bundle has no certificate")
	}
	return pool
}

// TestServerCertificateVerifiesAgainstServedCA issues a server certificate
// from a cluster's CA and completes a real TLS handshake with a client that
// trusts only the CA served by the DigitalOcean endpoint; a client holding
// another cluster's CA is refused.
func TestServerCertificateVerifiesAgainstServedCA(t *testing.T) {
	e := newEnv(t, 1000)
	id := e.createCluster(t, "backend")
	other := e.createCluster(t, "other")
	issued, err := e.svc.IssueCertificate(context.Background(), dbtrust.Operator(e.acct.ID), id,
		dbtrust.IssueRequest{DNSNames: []string{"db.example.test"}, IPs: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	dial := func(pool *x509.CertPool) error { return handshake(t, issued, pool, "db.example.test") }
	if err := dial(e.fetchCA(t, id)); err != nil {
		t.Fatalf("handshake with the served CA: %v", err)
	}
	if err := dial(e.fetchCA(t, other)); err == nil {
		t.Fatal("handshake with another cluster's CA succeeded, want a verification failure")
	}
}

// handshake serves issued on a loopback TLS listener and returns the error of
// a client handshake that trusts only pool and expects serverName.
func handshake(t *testing.T, issued dbtrust.IssuedCertificate, pool *x509.CertPool, serverName string) error {
	t.Helper()
	cert, err := tls.X509KeyPair(issued.CertPEM, issued.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				c.(*tls.Conn).Handshake()
				c.Close()
			}()
		}
	}()
	c, err := tls.DialWithDialer(&net.Dialer{}, "tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: serverName})
	if err == nil {
		c.Close()
	}
	return err
}
