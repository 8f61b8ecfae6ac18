package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"
)

// call sends a native API request and decodes a 2xx answer into v; it fails
// the test when the status is not want.
func call(t *testing.T, s *served, method, path, token, body string, want int, v any) []byte {
	t.Helper()
	status, got := doRequest(t, http.DefaultClient, method, s.url+path, token, body)
	if status != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, status, got, want)
	}
	if v != nil {
		if err := json.Unmarshal(got, v); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, got)
		}
	}
	return got
}

func TestClockRoutesAbsentWithoutEmulatedClock(t *testing.T) {
	t.Parallel()
	s := startServe(t, http.DefaultClient, nil, "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "d"))
	for _, m := range []string{"GET", "POST"} {
		var e struct {
			Error     struct{ Code string } `json:"error"`
			RequestID string                `json:"request_id"`
		}
		call(t, s, m, "/v1/clock", s.token, `{"advance":"720h"}`, http.StatusNotFound, &e)
		if e.Error.Code != "not_found" || e.RequestID == "" {
			t.Errorf("%s /v1/clock without --clock emulated = %+v, want the native not_found error", m, e)
		}
	}
}

type wireClock struct {
	Now      time.Time `json:"now"`
	Offset   string    `json:"offset"`
	Emulated bool      `json:"emulated"`
}

// TestEmulatedClockRehearsesAYear moves an emulated clock a year forward one
// day at a time: the instance's automatic rotation policy rotates its CA, a
// certificate issued with a 30-day TTL reads as expired, and a webhook
// receiver gets the expiry notifications at 30, 7 and 1 days, once each.
func TestEmulatedClockRehearsesAYear(t *testing.T) {
	t.Parallel()
	s := startServe(t, http.DefaultClient, nil, "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "d"),
		"--clock", "emulated", "--ca-validity", "4320h", "--auto-rotate-interval", "0", "--webhook-interval", "20ms")
	const secret = "rehearsal-secret-0123456789"
	rc := newReceiver(t, secret)
	call(t, s, "POST", "/v1/webhooks", s.token, fmt.Sprintf(`{"url":%q,"secret":%q,"events":["ca.expiring","certificate.expiring"]}`, rc.srv.URL, secret), http.StatusCreated, nil)
	var start wireClock
	call(t, s, "GET", "/v1/clock", s.token, "", http.StatusOK, &start)
	if !start.Emulated || time.Since(start.Now).Abs() > time.Minute {
		t.Fatalf("GET /v1/clock at start = %+v, want the real time", start)
	}
	var viewer struct{ Token string }
	call(t, s, "POST", "/v1/tokens", s.token, `{"name":"v","role":"viewer"}`, http.StatusCreated, &viewer)
	call(t, s, "POST", "/v1/clock", viewer.Token, `{"advance":"1h"}`, http.StatusForbidden, nil)
	call(t, s, "GET", "/v1/clock", viewer.Token, "", http.StatusForbidden, nil)
	call(t, s, "POST", "/v1/clock", s.token, `{"advance":"-1h"}`, http.StatusBadRequest, nil)
	call(t, s, "POST", "/v1/clock", s.token, `{"now":"2001-01-01T00:00:00Z"}`, http.StatusConflict, nil)
	call(t, s, "POST", "/v1/clock", s.token, `{}`, http.StatusBadRequest, nil)

	var inst struct{ ID string }
	call(t, s, "POST", "/v1/instances", s.token, `{"name":"orders","engine":"pg"}`, http.StatusCreated, &inst)
	p := "/v1/instances/" + inst.ID
	call(t, s, "PUT", p+"/rotation/policy", s.token, `{"enabled":true,"start_before":"720h","finish_after":"168h","retire_after":"168h"}`, http.StatusOK, nil)
	var cert struct{ Serial, State string }
	call(t, s, "POST", p+"/certificates", s.token, `{"dns_names":["db.example"],"ttl":"720h"}`, http.StatusCreated, &cert)
	var first struct{ CAs []struct{ ID, State string } }
	call(t, s, "GET", p+"/cas", s.token, "", http.StatusOK, &first)
	var legacy struct{ ID string } // no rotation policy: its CA runs out
	call(t, s, "POST", "/v1/instances", s.token, `{"name":"legacy","engine":"redis"}`, http.StatusCreated, &legacy)
	var legacyCAs struct{ CAs []struct{ ID string } }
	call(t, s, "GET", "/v1/instances/"+legacy.ID+"/cas", s.token, "", http.StatusOK, &legacyCAs)

	// An LDAP CA uploaded to the Astra certificates collection, good for 30 days.
	acct := accountLineRE.FindStringSubmatch(s.out.String())[2]
	astra := "/accounts/" + acct + "/core/v1/certificates"
	var uploaded struct{ ID, TrustState string }
	call(t, s, "POST", astra, s.token, fmt.Sprintf(`{"type":"application/astra-certificate","version":"1.1","cert":%q}`,
		base64.StdEncoding.EncodeToString(selfSigned(t, start.Now, 30*24*time.Hour))), http.StatusCreated, &uploaded)

	for range 365 {
		call(t, s, "POST", "/v1/clock", s.token, `{"advance":"24h"}`, http.StatusOK, nil)
	}
	var end wireClock
	call(t, s, "GET", "/v1/clock", s.token, "", http.StatusOK, &end)
	if d := end.Now.Sub(start.Now); d < 365*24*time.Hour || d > 366*24*time.Hour {
		t.Fatalf("after 365 advances of 24h the clock moved %s", d)
	}
	call(t, s, "GET", astra+"/"+uploaded.ID, s.token, "", http.StatusOK, &uploaded)
	if uploaded.TrustState != "expired" {
		t.Errorf("a 30-day Astra certificate a year later has trust state %q, want expired", uploaded.TrustState)
	}
	call(t, s, "GET", p+"/certificates/"+cert.Serial, s.token, "", http.StatusOK, &cert)
	if cert.State != "expired" {
		t.Errorf("a 30-day certificate a year later reads %q, want expired", cert.State)
	}
	var cas struct {
		CAs []struct {
			ID, State string
			NotAfter  time.Time `json:"not_after"`
		}
	}
	call(t, s, "GET", p+"/cas", s.token, "", http.StatusOK, &cas)
	var current int
	for _, ca := range cas.CAs {
		if ca.State == "current" {
			current++
			if ca.ID == first.CAs[0].ID || !ca.NotAfter.After(end.Now) {
				t.Errorf("current CA after a year = %+v, want a new, unexpired one", ca)
			}
		}
	}
	if current != 1 || len(cas.CAs) < 3 {
		t.Errorf("CAs after a year of 180-day CAs with automatic rotation = %+v, want two rotations or more", cas.CAs)
	}

	// Expiry notifications: at 30, 7 and 1 days, once each, for the
	// certificate and for the CA nobody rotated.
	thresholds := func(ds []delivered, key, id string) []float64 {
		var out []float64
		for _, d := range ds {
			if d.Data[key] == id {
				out = append(out, d.Data["threshold_days"].(float64))
			}
		}
		sort.Float64s(out)
		return out
	}
	want := []float64{1, 7, 30}
	rc.waitFor("the expiry notifications", func(ds []delivered) bool {
		return len(thresholds(ofType(ds, "certificate.expiring"), "serial", cert.Serial)) >= 3 &&
			len(thresholds(ofType(ds, "ca.expiring"), "ca_id", legacyCAs.CAs[0].ID)) >= 3
	})
	time.Sleep(200 * time.Millisecond)
	ok := rc.got(http.StatusOK)
	if got := thresholds(ofType(ok, "certificate.expiring"), "serial", cert.Serial); !slices.Equal(got, want) {
		t.Errorf("certificate expiry notifications at %v days, want %v", got, want)
	}
	if got := thresholds(ofType(ok, "ca.expiring"), "ca_id", legacyCAs.CAs[0].ID); !slices.Equal(got, want) {
		t.Errorf("unrotated CA expiry notifications at %v days, want %v", got, want)
	}
	if got := thresholds(ofType(ok, "ca.expiring"), "ca_id", first.CAs[0].ID); !slices.Equal(got, []float64{30}) {
		t.Errorf("rotated CA expiry notifications at %v days, want only 30 (it was retired 14 days into its last 30)", got)
	}
}

// selfSigned returns the PEM of a self-signed CA certificate valid from now
// for d.
func selfSigned(t *testing.T, now time.Time, d time.Duration) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ldap.example.com"},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(d), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
