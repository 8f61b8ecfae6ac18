package e2e_test

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/client"
	"github.com/dbtrust/dbtrust/internal/pki"
	"github.com/dbtrust/dbtrust/internal/server"
	"github.com/dbtrust/dbtrust/internal/servicetest"
)

// trust is a running dbtrust (all dialects) and its first account's owner.
type trust struct {
	t       *testing.T
	url     string
	token   string
	project string // the account's Huawei project ID
	account string // the account's ID (Astra's account_id)
}

func startTrust(t *testing.T) *trust {
	t.Helper()
	env := servicetest.New(t, dbtrust.Options{})
	svc, acct, token := env.Service, env.Account, env.Token
	// The listener comes first: the Huawei download links name the server's URL.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ts := &httptest.Server{Listener: ln, Config: &http.Server{Handler: server.New(server.Config{Service: svc, PublicURL: url + "/"})}}
	ts.Start()
	t.Cleanup(ts.Close)
	return &trust{t: t, url: url, token: token, project: acct.ProjectID, account: acct.ID}
}

// call sends a request with the owner token in header hdr ("Authorization"
// gets "Bearer "), expects status want, and decodes the JSON answer into out
// (or keeps the raw body, when out is a *[]byte).
func (d *trust) call(method, path, hdr string, body, out any, want int) {
	d.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, d.url+path, rd)
	if err != nil {
		d.t.Fatal(err)
	}
	switch hdr {
	case "Authorization":
		req.Header.Set(hdr, "Bearer "+d.token)
	case "X-Auth-Token":
		req.Header.Set(hdr, d.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		d.t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = b
	} else if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			d.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// createInstance creates an instance through the native API.
func (d *trust) createInstance(name, engine string) client.Instance {
	d.t.Helper()
	var inst client.Instance
	d.call("POST", "/v1/instances", "Authorization", map[string]any{"name": name, "engine": engine}, &inst, 201)
	return inst
}

// issue issues a server certificate for 127.0.0.1 and localhost through the
// native API, with a key generated for the caller.
func (d *trust) issue(instanceID string) client.Certificate {
	d.t.Helper()
	var c client.Certificate
	d.call("POST", "/v1/instances/"+instanceID+"/certificates", "Authorization",
		map[string]any{"dns_names": []string{"localhost"}, "ips": []string{"127.0.0.1"}, "ttl": "24h"}, &c, 201)
	return c
}

// rotate takes one rotation step through the native API.
func (d *trust) rotate(instanceID, step string) client.CAList {
	d.t.Helper()
	var l client.CAList
	d.call("POST", "/v1/instances/"+instanceID+"/rotation/"+step, "Authorization", nil, &l, 200)
	return l
}

// doBundle fetches the instance's CA bundle as a DigitalOcean client does:
// GET /v2/databases/{id}/ca, {"ca":{"certificate":"<base64 PEM>"}}.
func (d *trust) doBundle(instanceID string) []byte {
	d.t.Helper()
	var resp struct {
		CA struct {
			Certificate []byte `json:"certificate"`
		} `json:"ca"`
	}
	d.call("GET", "/v2/databases/"+instanceID+"/ca", "Authorization", nil, &resp, 200)
	return resp.CA.Certificate
}

// dcsBundle fetches the instance's CA bundle as a Huawei DCS client does:
// POST .../ssl-certs/download for a presigned link, then GET the link.
func (d *trust) dcsBundle(instanceID string) []byte {
	d.t.Helper()
	var resp struct {
		Link string `json:"link"`
	}
	d.call("POST", "/v2/"+d.project+"/instances/"+instanceID+"/ssl-certs/download", "X-Auth-Token", nil, &resp, 200)
	r, err := http.Get(resp.Link)
	if err != nil {
		d.t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	if r.StatusCode != 200 {
		d.t.Fatalf("GET download link = %d %s", r.StatusCode, b)
	}
	return b
}

// save writes a client's copy of a bundle and returns its path.
func save(t *testing.T, dir, name string, bundle []byte) string {
	t.Helper()
	if _, err := pki.ParseCertsPEM(bundle); err != nil {
		t.Fatalf("bundle %s: %v", name, err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, bundle, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// count returns the number of certificates in a PEM bundle.
func count(t *testing.T, bundle []byte) int {
	t.Helper()
	certs, err := pki.ParseCertsPEM(bundle)
	if err != nil {
		t.Fatal(err)
	}
	return len(certs)
}

// isUnknownAuthority reports whether err is a TLS failure to chain the
// server's certificate to a trusted root.
func isUnknownAuthority(err error) bool {
	var ua x509.UnknownAuthorityError
	return errors.As(err, &ua)
}

// caFingerprint returns the fingerprint of the instance's CA in state st.
func caFingerprint(t *testing.T, l client.CAList, st string) string {
	t.Helper()
	for _, c := range l.CAs {
		if c.State == st {
			return c.Fingerprint
		}
	}
	t.Fatalf("no %s CA in %+v", st, l.CAs)
	return ""
}

// issuerFingerprint returns the fingerprint of the bundle certificate that
// signed leaf.
func issuerFingerprint(t *testing.T, leaf *x509.Certificate, bundle []byte) string {
	t.Helper()
	certs, err := pki.ParseCertsPEM(bundle)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range certs {
		if leaf.CheckSignatureFrom(c) == nil {
			return pki.Fingerprint(c.Raw)
		}
	}
	t.Fatal("no certificate of the bundle signed the server's certificate")
	return ""
}

// waitFor retries f until it succeeds or the deadline passes.
func waitFor(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
