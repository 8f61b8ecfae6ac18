package huaweicloud_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// benchClient keeps connections alive across the parallel clients.
var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64}}

func (e *env) benchDo(b *testing.B, r *http.Request) []byte {
	resp, err := benchClient.Do(r)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("%s %s = %d %s", r.Method, r.URL.Path, resp.StatusCode, body)
	}
	return body
}

func reportRate(b *testing.B, unit string) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
}

// BenchmarkLinkIssuance measures DDS download-link and DCS download calls
// over loopback HTTP (keep-alive, parallel clients), each authenticated with
// an AK/SK signature or an X-Auth-Token.
func BenchmarkLinkIssuance(b *testing.B) {
	e := newEnv(b)
	cases := []struct {
		name string
		req  func() *http.Request
	}{
		{"DDS/AKSK", func() *http.Request {
			r := e.req("GET", ddsPath(e.a.ProjectID, e.cache.ID), "")
			sdkSign(r, e.key, e.clk.sdkDate(0), nil)
			return r
		}},
		{"DDS/token", func() *http.Request {
			r := e.req("GET", ddsPath(e.a.ProjectID, e.cache.ID), "")
			r.Header.Set("X-Auth-Token", e.ownerTok)
			return r
		}},
		{"DCS/AKSK", func() *http.Request {
			r := e.req("POST", dcsPath(e.a.ProjectID, e.cache.ID, "/ssl-certs/download"), "")
			sdkSign(r, e.key, e.clk.sdkDate(0), nil)
			return r
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					e.benchDo(b, c.req())
				}
			})
			reportRate(b, "links/s")
		})
	}
}

// BenchmarkDownload measures GETs of a presigned link (signature check, CA
// bundle read, PEM body) over loopback HTTP.
func BenchmarkDownload(b *testing.B) {
	e := newEnv(b)
	var out struct {
		Link string `json:"link"`
	}
	r := e.req("POST", dcsPath(e.a.ProjectID, e.cache.ID, "/ssl-certs/download"), "")
	r.Header.Set("X-Auth-Token", e.ownerTok)
	if err := json.Unmarshal(e.benchDo(b, r), &out); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, _ := http.NewRequest("GET", out.Link, nil)
			e.benchDo(b, r)
		}
	})
	reportRate(b, "downloads/s")
}
