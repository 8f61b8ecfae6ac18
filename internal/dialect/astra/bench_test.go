package astra_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/credential"
	"github.com/dbtrust/dbtrust/trustcert"
)

// benchEnv is a server whose account holds n credentials.
func benchEnv(b *testing.B, n int) (*env, []string) {
	e := newEnv(b)
	ids := make([]string, 0, n)
	for i := range n {
		c, err := e.creds.Create(context.Background(), dbtrust.Operator(e.acct.ID), credential.Input{
			Version: "1.1", Name: ptr(fmt.Sprintf("bench-%04d", i)), KeyStore: map[string][]byte{"k": []byte("v")}})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	return e, ids
}

func benchGet(b *testing.B, e *env, path string) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if r := e.do(req{method: "GET", path: path, unchecked: true}); r.status != http.StatusOK {
			b.Fatalf("GET %s = %d", path, r.status)
		}
	}
}

// BenchmarkGetCredential reads one credential of 1,000 over HTTP.
func BenchmarkGetCredential(b *testing.B) {
	e, ids := benchEnv(b, 1000)
	benchGet(b, e, "/credentials/"+ids[500])
}

// BenchmarkListCredentialsPage reads a 50-item page of 1,000 credentials in
// creation order, from the middle of the list (a continue token).
func BenchmarkListCredentialsPage(b *testing.B) {
	e, _ := benchEnv(b, 1000)
	var page listReply
	e.do(req{method: "GET", path: "/credentials?limit=500"}).decode(b, &page)
	benchGet(b, e, "/credentials?limit=50&continue="+url.QueryEscape(page.Metadata.Continue))
}

// BenchmarkListCredentialsFiltered filters and orders 1,000 credentials
// and returns a 50-item page.
func BenchmarkListCredentialsFiltered(b *testing.B) {
	e, _ := benchEnv(b, 1000)
	benchGet(b, e, "/credentials?limit=50&orderBy=name%20desc&filter="+url.QueryEscape("name gte 'bench-05'"))
}

// BenchmarkListCertificates lists 100 uploaded certificates and 10 instance CAs.
func BenchmarkListCertificates(b *testing.B) {
	e := newEnv(b)
	op := dbtrust.Operator(e.acct.ID)
	for i := range 100 {
		if _, err := e.certs.Create(context.Background(), op, trustcert.Input{Version: "1.1",
			CertPEM: newCertPEM(b, fmt.Sprintf("c%d.example.com", i), timeIn(90))}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 10 {
		if _, err := e.svc.CreateInstance(context.Background(), op, dbtrust.InstanceSpec{Name: fmt.Sprintf("db%d", i), Engine: "pg"}); err != nil {
			b.Fatal(err)
		}
	}
	benchGet(b, e, "/certificates")
}

// BenchmarkListCredentialsKeyTypeCount reads the first page of 100 of the
// 5,000 apikey credentials among 10,000, with count=true: the store filters,
// pages and counts.
func BenchmarkListCredentialsKeyTypeCount(b *testing.B) {
	e := newEnv(b)
	for i := range 10000 {
		in := credential.Input{Version: "1.1", Name: ptr(fmt.Sprintf("bench-%05d", i)), KeyType: "apikey",
			KeyStore: map[string][]byte{"apikey": []byte("v")}}
		if i%2 == 1 {
			in.KeyType, in.KeyStore = "generic", map[string][]byte{"k": []byte("v")}
		}
		if _, err := e.creds.Create(context.Background(), dbtrust.Operator(e.acct.ID), in); err != nil {
			b.Fatal(err)
		}
	}
	benchGet(b, e, "/credentials?limit=100&count=true&filter="+url.QueryEscape("keyType eq 'apikey'"))
}
