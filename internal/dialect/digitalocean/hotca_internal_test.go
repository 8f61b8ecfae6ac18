package digitalocean

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// hotCA takes a request only where the real ServeMux, with the CA route
// registered as Register does, would route it to the same handler with the
// same ID; everything else (other methods, escaped or unclean paths, other
// shapes) goes to the mux, which then decides as before.
func TestHotCAMatchesMux(t *testing.T) {
	var got string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/databases/{database_cluster_uuid}/ca", func(w http.ResponseWriter, r *http.Request) {
		got = "ca " + r.PathValue("database_cluster_uuid")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { got = "other" })
	hot := hotCA(mux, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := hotCAID(r.URL.Path)
		got = "hot " + id
	}))
	cases := []struct{ method, target string }{
		{"GET", "/v2/databases/9cc10173-e9ea-4176-9dbc-a4cee4c4ff30/ca"},
		{"GET", "/v2/databases/options/ca"},
		{"GET", "/v2/databases/a%20b/ca"},
		{"GET", "/v2/databases/a%2Fb/ca"},
		{"GET", "/v2/databases//ca"},
		{"GET", "/v2/databases/./ca"},
		{"GET", "/v2/databases/../ca"},
		{"GET", "/v2/databases/a/b/ca"},
		{"GET", "/v2/databases/ca"},
		{"GET", "/v2/databases/abc/ca/"},
		{"GET", "/v2/databases/abc/cab"},
		{"GET", "/v2/databases/abc/ca?x=1"},
		{"HEAD", "/v2/databases/abc/ca"},
		{"POST", "/v2/databases/abc/ca"},
	}
	for _, c := range cases {
		hot.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(c.method, c.target, nil))
		viaHot := got
		mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(c.method, c.target, nil))
		viaMux := got
		if len(viaHot) > 4 && viaHot[:4] == "hot " {
			if viaMux != "ca "+viaHot[4:] {
				t.Errorf("%s %s: hotCA took it as %q, the mux as %q", c.method, c.target, viaHot, viaMux)
			}
		} else if viaHot != viaMux {
			t.Errorf("%s %s: through hotCA %q, the mux alone %q", c.method, c.target, viaHot, viaMux)
		}
	}
	hot.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", cases[0].target, nil))
	if got != "hot 9cc10173-e9ea-4176-9dbc-a4cee4c4ff30" {
		t.Errorf("a plain CA fetch went %q, want hotCA's route", got)
	}
}
