package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/server"
	"github.com/dbtrust/dbtrust/internal/servicetest"
)

// The JSON bodies of the DigitalOcean and native APIs and the download-link
// queries, fuzzed through the whole server (in process): whatever comes in,
// the answer is the dialect's own, never a 5xx, and a JSON error is JSON.
// Seeds run with go test; scripts/fuzz.sh explores each for a few seconds.

type fuzzServer struct {
	h     http.Handler
	token string
	inst  string
}

func newFuzzServer(f *testing.F) *fuzzServer {
	env := servicetest.New(f, dbtrust.Options{})
	inst, err := env.Service.CreateInstance(context.Background(), env.Owner(), dbtrust.InstanceSpec{Name: "fuzz", Engine: "pg"})
	if err != nil {
		f.Fatal(err)
	}
	return &fuzzServer{h: server.New(server.Config{Service: env.Service, RateLimit: 1 << 30}), token: env.Token, inst: inst.ID}
}

func (s *fuzzServer) send(t *testing.T, method, path string, body []byte) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, bytes.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+s.token)
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	if w.Code >= 500 {
		t.Fatalf("%s %s with %q = %d %s", method, path, body, w.Code, w.Body)
	}
	if w.Code >= 400 && !json.Valid(w.Body.Bytes()) {
		t.Fatalf("%s %s with %q = %d with a body that is not JSON: %s", method, path, body, w.Code, w.Body)
	}
	return w
}

func FuzzDigitalOceanCreate(f *testing.F) {
	for _, s := range []string{
		`{"name":"backend","engine":"pg","version":"16","size":"db-s-1vcpu-1gb","region":"nyc1","num_nodes":1}`,
		`{"name":"x","engine":"mysql","tags":["a","b"],"rules":null,"project_id":""}`,
		`{"name":1}`, `[]`, `{`, ``, `{"name":"a"}{}`, `{"num_nodes":1e999}`, `{"tags":[null]}`,
	} {
		f.Add([]byte(s))
	}
	s := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte) { s.send(t, "POST", "/v2/databases", body) })
}

// nativeRoutes are the native routes with a JSON body the fuzzer picks from.
var nativeRoutes = []struct{ method, path string }{
	{"POST", "/v1/instances"},
	{"POST", "/v1/tokens"},
	{"PUT", "/v1/instances/{id}/rotation/policy"},
	{"POST", "/v1/instances/{id}/certificates"},
	{"POST", "/v1/instances/{id}/rotation/start"},
	{"POST", "/v1/webhooks"},
}

func FuzzNativeBodies(f *testing.F) {
	seeds := []string{
		`{"name":"db2","engine":"redis","tags":["prod"]}`, `{"name":"ci","role":"viewer"}`,
		`{"enabled":true,"start_before":"2160h","finish_after":"168h","retire_after":"168h"}`,
		`{"dns_names":["db.example"],"ttl":"2160h"}`, `{"csr":"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"}`,
		`{"key_type":"ecdsa-p384"}`, `{"url":"https://example.com/hook","events":["rotation.stage_changed"]}`,
		`{}`, `{"unknown":1}`, `null`, `{"ttl":-1}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s))
	}
	s := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := nativeRoutes[int(route)%len(nativeRoutes)]
		path := bytes.ReplaceAll([]byte(r.path), []byte("{id}"), []byte(s.inst))
		s.send(t, r.method, string(path), body)
	})
}

// FuzzLinkRequest: any request under a link bucket, signed or not, is a
// 403, 404 or 503 in the S3 XML shape: nothing forged is ever served.
func FuzzLinkRequest(f *testing.F) {
	for _, s := range [][2]string{
		{"/dbtrust-dds-ssl/0123456789abcdef0123456789abcdef/00000000-0000-0000-0000-000000000000/ca-dds.crt", "AWSAccessKeyId=DBTS&Expires=9999999999&Signature=AAAA"},
		{"/dbtrust-dcs-ssl/p/ssl-x/ca.crt", "Signature=%ZZ"},
		{"/dbtrust-dcs-ssl/", ""},
		{"/dbtrust-dds-ssl/a/b/c/d/e", "Expires=-1&AWSAccessKeyId=&Signature="},
	} {
		f.Add(s[0], s[1])
	}
	s := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, path, query string) {
		r, err := http.NewRequest("GET", "http://dbtrust.test", nil)
		if err != nil {
			return
		}
		r.URL.Path, r.URL.RawQuery = "/dbtrust-dds-ssl/"+path, query
		w := httptest.NewRecorder()
		s.h.ServeHTTP(w, r)
		if w.Code == http.StatusOK || w.Code >= 500 && w.Code != http.StatusServiceUnavailable {
			t.Fatalf("GET %s?%s = %d %s", r.URL.Path, query, w.Code, w.Body)
		}
	})
}
