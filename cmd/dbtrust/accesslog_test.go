package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestServeAccessLog: serve's access log (JSON here) has a line for each
// request by the time serve returns, even with a flush interval not yet
// due, naming the request's X-Request-Id and its path without the query;
// with --access-log off there is none.
func TestServeAccessLog(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"on", "off"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			s := startServe(t, http.DefaultClient, map[string]string{"DBTRUST_ACCESS_LOG": mode},
				"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--log-format", "json")
			resp, err := http.Get(s.url + "/v1/openapi.json?signature=sekrit")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			id := resp.Header.Get("X-Request-Id")
			if err := s.stop(t); err != nil {
				t.Fatal(err)
			}
			logs := s.log.String()
			if strings.Contains(logs, "sekrit") {
				t.Fatalf("the log carries a query string:\n%s", logs)
			}
			want := `"msg":"request","request_id":"` + id + `","method":"GET","path":"/v1/openapi.json","status":200,`
			if got := strings.Contains(logs, want); got != (mode == "on") {
				t.Fatalf("--access-log %s: access line present = %v:\n%s", mode, got, logs)
			}
		})
	}
}
