package server_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/server"
	"github.com/dbtrust/dbtrust/internal/servicetest"
)

// scrape returns the samples of /metrics as "name{labels}" -> value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics = %d %s", resp.StatusCode, b)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servicetest.New(t, dbtrust.Options{CAValidity: 1000 * time.Hour})
	svc, acct, token := env.Service, env.Account, env.Token
	p := dbtrust.Operator(acct.ID)
	inst, err := svc.CreateInstance(ctx, p, dbtrust.InstanceSpec{Name: "backend", Engine: "pg"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := svc.IssueCertificate(ctx, p, inst.ID, dbtrust.IssueRequest{TTL: 10 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := svc.IssueCertificate(ctx, p, inst.ID, dbtrust.IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RevokeIssuedCertificate(ctx, p, inst.ID, revoked.Serial, ""); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(server.New(server.Config{Service: svc}))
	defer ts.Close()

	for _, r := range []struct {
		path, token string
	}{
		{"/v1/instances", token},
		{"/v1/instances", "wrong"},
		{"/v2/databases/" + inst.ID + "/ca", token},
		{"/v2/databases/nope/ca", token},
		{"/healthz", ""},
	} {
		req, _ := http.NewRequest("GET", ts.URL+r.path, nil)
		req.Header.Set("Authorization", "Bearer "+r.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	m := scrape(t, ts.URL)
	for sample, want := range map[string]float64{
		`dbtrust_http_requests_total{dialect="native",status="200"}`:       1,
		`dbtrust_http_requests_total{dialect="native",status="401"}`:       1,
		`dbtrust_http_requests_total{dialect="digitalocean",status="200"}`: 1,
		`dbtrust_http_requests_total{dialect="digitalocean",status="404"}`: 1,
		`dbtrust_http_requests_total{dialect="server",status="200"}`:       1,
		`dbtrust_expiry_scrape_error`:                                      0,
	} {
		if got, ok := m[sample]; !ok || got != want {
			t.Errorf("%s = %v (present %t), want %v", sample, got, ok, want)
		}
	}
	cas, err := svc.InstanceCAs(ctx, p, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	caLeft := m[`dbtrust_ca_expiry_seconds{ca_id="`+cas[0].ID+`",instance_id="`+inst.ID+`",state="current"}`]
	if caLeft < 999*3600 || caLeft > 1000*3600 {
		t.Errorf("CA seconds to expiry = %v, want about %v", caLeft, 1000*3600)
	}
	certLeft := m[`dbtrust_certificate_expiry_seconds{instance_id="`+inst.ID+`",serial="`+c.Serial+`"}`]
	if certLeft < 9*3600 || certLeft > 10*3600 {
		t.Errorf("certificate seconds to expiry = %v, want about %v", certLeft, 10*3600)
	}
	if _, ok := m[`dbtrust_certificate_expiry_seconds{instance_id="`+inst.ID+`",serial="`+revoked.Serial+`"}`]; ok {
		t.Error("a revoked certificate has an expiry gauge")
	}
}
