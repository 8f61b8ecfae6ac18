package astra

import (
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"strings"
	"time"
)

// ETags and conditional requests.

// etag is the strong ETag of a response body: the MD5 of its bytes, quoted.
func etag(body []byte) string {
	sum := md5.Sum(body)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

// preconditions checks If-Match, If-Unmodified-Since and If-Modified-Since
// against the current resource. conditional is true when any was sent: the
// update must then apply to exactly the revision checked here.
func preconditions(r *http.Request, currentETag string, modified time.Time) (conditional bool, err error) {
	fail := newProblem(38)
	if im := r.Header.Get("If-Match"); im != "" {
		conditional = true
		match := false
		for _, t := range strings.Split(im, ",") {
			t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
			if t == "*" || t == currentETag || `"`+t+`"` == currentETag {
				match = true
			}
		}
		if !match {
			return true, fail
		}
	}
	mod := modified.UTC().Truncate(time.Second)
	if v := r.Header.Get("If-Unmodified-Since"); v != "" {
		conditional = true
		t, err := http.ParseTime(v)
		if err != nil {
			return true, newProblem(12)
		}
		if mod.After(t) {
			return true, fail
		}
	}
	if v := r.Header.Get("If-Modified-Since"); v != "" {
		conditional = true
		t, err := http.ParseTime(v)
		if err != nil {
			return true, newProblem(12)
		}
		if !mod.After(t) {
			return true, fail
		}
	}
	return conditional, nil
}
