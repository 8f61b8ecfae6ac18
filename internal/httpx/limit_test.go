package httpx_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/httpx"
	"github.com/dbtrust/dbtrust/internal/ratelimit"
)

func TestClientAddr(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	for remote, want := range map[string]string{"192.0.2.7:4000": "192.0.2.7", "[2001:db8::1]:4000": "2001:db8::1", "odd": "odd"} {
		r.RemoteAddr = remote
		if got := httpx.ClientAddr(r); got != want {
			t.Errorf("ClientAddr(%q) = %q, want %q", remote, got, want)
		}
	}
}

func TestLimit(t *testing.T) {
	now := time.Now()
	l := ratelimit.New(2, time.Minute, func() time.Time { return now })
	r := httptest.NewRequest("GET", "/", nil)
	for i := range 2 {
		w := httptest.NewRecorder()
		d, err := httpx.Limit(w, r, l, "k")
		if err != nil || !d.Allowed || d.Remaining != 1-i || w.Header().Get("Retry-After") != "" {
			t.Fatalf("request %d: Limit = %+v, %v (Retry-After %q), want allowed", i+1, d, err, w.Header().Get("Retry-After"))
		}
	}
	w := httptest.NewRecorder()
	d, err := httpx.Limit(w, r, l, "k")
	if dbtrust.ErrorCode(err) != dbtrust.RateLimited || d.Allowed || w.Header().Get("Retry-After") == "" {
		t.Fatalf("third request: Limit = %+v, %v (Retry-After %q), want RateLimited with Retry-After", d, err, w.Header().Get("Retry-After"))
	}
	if d, err := httpx.Limit(httptest.NewRecorder(), r, nil, "k"); err != nil || !d.Allowed {
		t.Fatalf("Limit(nil limiter) = %+v, %v, want allowed", d, err)
	}
}

// TestAdmit: failed authentications spend the address's budget of failures,
// not the budget of valid callers from that address, and past it they are
// RateLimited; store failures are passed through uncounted.
func TestAdmit(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	l := &httpx.Limits{Token: ratelimit.New(5, time.Minute, clock), FailedAuth: ratelimit.New(2, time.Minute, clock)}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "192.0.2.9:1"
	bad := dbtrust.Errorf(dbtrust.Unauthorized, "bad token")
	p := dbtrust.Principal{AccountID: "a", Role: dbtrust.RoleViewer, Subject: "token:t"}
	steps := []struct {
		name    string
		p       dbtrust.Principal
		authErr error
		want    dbtrust.Code
	}{
		{"failure 1", dbtrust.Principal{}, bad, dbtrust.Unauthorized},
		{"failure 2", dbtrust.Principal{}, bad, dbtrust.Unauthorized},
		{"failure 3: over the failures' budget", dbtrust.Principal{}, bad, dbtrust.RateLimited},
		{"a valid token from the same address", p, nil, ""},
		{"the store is down", dbtrust.Principal{}, dbtrust.Errorf(dbtrust.Unavailable, "down"), dbtrust.Unavailable},
	}
	for _, s := range steps {
		if _, err := httpx.Admit(httptest.NewRecorder(), r, l, s.p, s.authErr); dbtrust.ErrorCode(err) != s.want {
			t.Fatalf("%s: Admit = %v, want code %q", s.name, err, s.want)
		}
	}
}
