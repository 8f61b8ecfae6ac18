package httpx_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/httpx"
	"github.com/dbtrust/dbtrust/internal/ratelimit"
)

func TestLimitKey(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "192.0.2.7:4000"
	if got := httpx.LimitKey(r, "token:abc", true); got != "token:abc" {
		t.Fatalf("LimitKey(authenticated) = %q, want the subject", got)
	}
	if got := httpx.LimitKey(r, "token:abc", false); got != "ip:192.0.2.7" {
		t.Fatalf("LimitKey(unauthenticated) = %q, want ip:192.0.2.7", got)
	}
	r.RemoteAddr = "[2001:db8::1]:4000"
	if got := httpx.LimitKey(r, "", false); got != "ip:2001:db8::1" {
		t.Fatalf("LimitKey(IPv6) = %q, want ip:2001:db8::1", got)
	}
}

func TestLimit(t *testing.T) {
	now := time.Now()
	l := ratelimit.New(2, time.Minute, func() time.Time { return now })
	for i := range 2 {
		w := httptest.NewRecorder()
		d, err := httpx.Limit(w, l, "k")
		if err != nil || !d.Allowed || d.Remaining != 1-i || w.Header().Get("Retry-After") != "" {
			t.Fatalf("request %d: Limit = %+v, %v (Retry-After %q), want allowed", i+1, d, err, w.Header().Get("Retry-After"))
		}
	}
	w := httptest.NewRecorder()
	d, err := httpx.Limit(w, l, "k")
	if dbtrust.ErrorCode(err) != dbtrust.RateLimited || d.Allowed || w.Header().Get("Retry-After") == "" {
		t.Fatalf("third request: Limit = %+v, %v (Retry-After %q), want RateLimited with Retry-After", d, err, w.Header().Get("Retry-After"))
	}
	if d, err := httpx.Limit(httptest.NewRecorder(), nil, "k"); err != nil || !d.Allowed {
		t.Fatalf("Limit(nil limiter) = %+v, %v, want allowed", d, err)
	}
}
