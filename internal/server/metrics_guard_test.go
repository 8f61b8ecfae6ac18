package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMetricsGuard(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("metrics")) })
	cases := []struct {
		name, token, remote, auth string
		want                      int
	}{
		{"no token, loopback v4", "", "127.0.0.1:4000", "", 200},
		{"no token, loopback v6", "", "[::1]:4000", "", 200},
		{"no token, other address", "", "192.0.2.7:4000", "", 403},
		{"token, right", "s3cret", "192.0.2.7:4000", "Bearer s3cret", 200},
		{"token, wrong", "s3cret", "192.0.2.7:4000", "Bearer nope", 401},
		{"token, missing even on loopback", "s3cret", "127.0.0.1:4000", "", 401},
		{"token, prefix of it", "s3cret", "127.0.0.1:4000", "Bearer s3cre", 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// A recorded request: RemoteAddr is set by hand, no traffic is sent.
			r := httptest.NewRequest("GET", "/metrics", nil)
			r.RemoteAddr = c.remote
			if c.auth != "" {
				r.Header.Set("Authorization", c.auth)
			}
			w := httptest.NewRecorder()
			guardMetrics(c.token, ok).ServeHTTP(w, r)
			if w.Code != c.want {
				t.Fatalf("guardMetrics(%q) from %s with %q = %d, want %d", c.token, c.remote, c.auth, w.Code, c.want)
			}
			if c.want != 200 && !strings.Contains(w.Body.String(), `"error"`) {
				t.Fatalf("refusal body %q is not in the native error shape", w.Body.String())
			}
		})
	}
}
