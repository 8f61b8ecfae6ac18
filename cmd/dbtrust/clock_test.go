package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// call sends a native API request and decodes a 2xx answer into v; it fails
// the test when the status is not want.
func call(t *testing.T, s *served, method, path, token, body string, want int, v any) []byte {
	t.Helper()
	status, got := doRequest(t, http.DefaultClient, method, s.url+path, token, body)
	if status != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, status, got, want)
	}
	if v != nil {
		if err := json.Unmarshal(got, v); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, got)
		}
	}
	return got
}

func TestClockRoutesAbsentWithoutEmulatedClock(t *testing.T) {
	t.Parallel()
	s := startServe(t, http.DefaultClient, nil, "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "d"))
	for _, m := range []string{"GET", "POST"} {
		var e struct {
			Error     struct{ Code string } `json:"error"`
			RequestID string                `json:"request_id"`
		}
		call(t, s, m, "/v1/clock", s.token, `{"advance":"720h"}`, http.StatusNotFound, &e)
		if e.Error.Code != "not_found" || e.RequestID == "" {
			t.Errorf("%s /v1/clock without --clock emulated = %+v, want the native not_found error", m, e)
		}
	}
}

type wireClock struct {
	Now      time.Time `json:"now"`
	Offset   string    `json:"offset"`
	Emulated bool      `json:"emulated"`
}

// TestEmulatedClockRehearsesAYear moves an emulated clock a year forward one
// day at a time: the instance's automatic rotation policy rotates its CA, and
// a certificate issued with a 30-day TTL reads as expired.
func TestEmulatedClockRehearsesAYear(t *testing.T) {
	t.Parallel()
	s := startServe(t, http.DefaultClient, nil, "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "d"),
		"--clock", "emulated", "--ca-validity", "4320h", "--auto-rotate-interval", "0")
	var start wireClock
	call(t, s, "GET", "/v1/clock", s.token, "", http.StatusOK, &start)
	if !start.Emulated || time.Since(start.Now).Abs() > time.Minute {
		t.Fatalf("GET /v1/clock at start = %+v, want the real time", start)
	}
	var viewer struct{ Token string }
	call(t, s, "POST", "/v1/tokens", s.token, `{"name":"v","role":"viewer"}`, http.StatusCreated, &viewer)
	call(t, s, "POST", "/v1/clock", viewer.Token, `{"advance":"1h"}`, http.StatusForbidden, nil)
	call(t, s, "GET", "/v1/clock", viewer.Token, "", http.StatusForbidden, nil)
	call(t, s, "POST", "/v1/clock", s.token, `{"advance":"-1h"}`, http.StatusBadRequest, nil)
	call(t, s, "POST", "/v1/clock", s.token, `{"now":"2001-01-01T00:00:00Z"}`, http.StatusConflict, nil)
	call(t, s, "POST", "/v1/clock", s.token, `{}`, http.StatusBadRequest, nil)

	var inst struct{ ID string }
	call(t, s, "POST", "/v1/instances", s.token, `{"name":"orders","engine":"pg"}`, http.StatusCreated, &inst)
	p := "/v1/instances/" + inst.ID
	call(t, s, "PUT", p+"/rotation/policy", s.token, `{"enabled":true,"start_before":"720h","finish_after":"168h","retire_after":"168h"}`, http.StatusOK, nil)
	var cert struct{ Serial, State string }
	call(t, s, "POST", p+"/certificates", s.token, `{"dns_names":["db.example"],"ttl":"720h"}`, http.StatusCreated, &cert)
	var first struct{ CAs []struct{ ID, State string } }
	call(t, s, "GET", p+"/cas", s.token, "", http.StatusOK, &first)

	for range 365 {
		call(t, s, "POST", "/v1/clock", s.token, `{"advance":"24h"}`, http.StatusOK, nil)
	}
	var end wireClock
	call(t, s, "GET", "/v1/clock", s.token, "", http.StatusOK, &end)
	if d := end.Now.Sub(start.Now); d < 365*24*time.Hour || d > 366*24*time.Hour {
		t.Fatalf("after 365 advances of 24h the clock moved %s", d)
	}
	call(t, s, "GET", p+"/certificates/"+cert.Serial, s.token, "", http.StatusOK, &cert)
	if cert.State != "expired" {
		t.Errorf("a 30-day certificate a year later reads %q, want expired", cert.State)
	}
	var cas struct {
		CAs []struct {
			ID, State string
			NotAfter  time.Time `json:"not_after"`
		}
	}
	call(t, s, "GET", p+"/cas", s.token, "", http.StatusOK, &cas)
	var current int
	for _, ca := range cas.CAs {
		if ca.State == "current" {
			current++
			if ca.ID == first.CAs[0].ID || !ca.NotAfter.After(end.Now) {
				t.Errorf("current CA after a year = %+v, want a new, unexpired one", ca)
			}
		}
	}
	if current != 1 || len(cas.CAs) < 3 {
		t.Errorf("CAs after a year of 180-day CAs with automatic rotation = %+v, want two rotations or more", cas.CAs)
	}
}
