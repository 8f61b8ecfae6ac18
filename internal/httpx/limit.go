package httpx

import (
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/ratelimit"
)

// Limits are the request budgets every dialect shares, so that one caller
// has one budget whichever API it speaks. A nil Limiter does not limit.
type Limits struct {
	Token      *ratelimit.Limiter // per authenticated principal
	FailedAuth *ratelimit.Limiter // per client address, failed authentications only
	Public     *ratelimit.Limiter // per client address, routes without credentials (CRLs)
	Download   *ratelimit.Limiter // per client address, download-link requests
	Link       *ratelimit.Limiter // per download link
}

// ClientAddr returns the address r came from, without its port.
func ClientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Admit applies the budgets to a request whose authentication gave p and
// authErr. An authenticated caller is counted against its principal's budget
// (and named for the audit log, Identify); a failed authentication against
// its address's budget of failures, which valid callers from that address do
// not share. The error is RateLimited (with Retry-After set) over a budget,
// else authErr; the Decision is the principal's, for RateLimit headers.
func Admit(w http.ResponseWriter, r *http.Request, l *Limits, p dbtrust.Principal, authErr error) (ratelimit.Decision, error) {
	if l == nil {
		l = &Limits{}
	}
	if authErr == nil {
		Identify(r, p)
		return Limit(w, r, l.Token, p.Subject)
	}
	if dbtrust.ErrorCode(authErr) != dbtrust.Unauthorized {
		return ratelimit.Decision{Allowed: true}, authErr
	}
	d, err := Limit(w, r, l.FailedAuth, "ip:"+ClientAddr(r))
	if err != nil {
		return d, err
	}
	return d, authErr
}

// Limit counts one request of key against l (no limit when l is nil). Over
// the limit it sets Retry-After, in whole seconds until the window resets, and
// returns a RateLimited error; the Decision is returned either way.
func Limit(w http.ResponseWriter, r *http.Request, l *ratelimit.Limiter, key string) (ratelimit.Decision, error) {
	if l == nil {
		return ratelimit.Decision{Allowed: true}, nil
	}
	d := l.Allow(r.Context(), key)
	if d.Allowed {
		return d, nil
	}
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(time.Until(d.Reset).Seconds()+0.999))))
	return d, dbtrust.Errorf(dbtrust.RateLimited, "too many requests: at most %d per window", d.Limit)
}
