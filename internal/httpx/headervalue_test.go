package httpx_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"testing"

	"github.com/dbtrust/dbtrust/internal/httpx"
)

// TestRequestNumber: the values a handler formats with RequestNumber and
// the request ID Front writes stay what they were after the request is
// over and others were served (their bytes live in the request's state),
// a second number on one request is right too, and a request that did not
// come through Front gets its number all the same.
func TestRequestNumber(t *testing.T) {
	front := &httpx.Front{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), NoAccess: true}
	h := front.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int64(len(r.URL.Path))
		w.Header()["A"] = httpx.RequestNumber(r, n)
		w.Header()["B"] = httpx.RequestNumber(r, -n*1000)
	}))
	type answer struct{ id, a, b string }
	var kept []http.Header
	var want []answer
	for _, path := range []string{"/", "/four", "/a-longer-path"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		kept = append(kept, rec.Header())
		n := len(path)
		want = append(want, answer{rec.Header().Get("X-Request-Id"), itoa(n), itoa(-n * 1000)})
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for i, hdr := range kept {
		got := answer{hdr.Get("X-Request-Id"), hdr.Get("A"), hdr.Get("B")}
		if got != want[i] || !uuid.MatchString(got.id) || (i > 0 && got.id == want[i-1].id) {
			t.Errorf("answer %d: headers %+v, want %+v (a fresh version 4 UUID)", i, got, want[i])
		}
	}
	if got := httpx.RequestNumber(httptest.NewRequest("GET", "/", nil), 42); len(got) != 1 || got[0] != "42" {
		t.Errorf("RequestNumber outside Front = %q, want [42]", got)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
