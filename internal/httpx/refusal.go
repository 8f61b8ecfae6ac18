package httpx

import (
	"context"
	"net/http"

	"github.com/dbtrust/dbtrust"
)

// Refused requests (401 and 403 answers) are recorded in the audit log by
// one middleware for every dialect: the dialect names the caller it
// authenticated (Identify), the middleware sees the status.

type callKey struct{}

// call is who a request was authenticated as, and on which route.
type call struct {
	p       dbtrust.Principal
	pattern string
}

// Identify notes that r was made by p, so that a refusal of r is recorded
// under p rather than under the client's address.
func Identify(r *http.Request, p dbtrust.Principal) {
	if rc, ok := r.Context().(*reqCtx); ok {
		rc.call.p, rc.call.pattern = p, r.Pattern
	} else if c, ok := r.Context().Value(callKey{}).(*call); ok {
		c.p, c.pattern = p, r.Pattern
	}
}

// Refuser records refused requests (dbtrust.Service.Refused).
type Refuser interface {
	Refused(ctx context.Context, p dbtrust.Principal, source, resource string, err error)
}

// recordRefusal records r's answer when it was a 401 or a 403, after
// sending it: a failed authentication under the client's address, a denied
// action under the principal the dialect identified.
func (f *Front) recordRefusal(st *request, r *http.Request) {
	c := &st.ctx.call
	var code dbtrust.Code
	switch st.sw.Status {
	case http.StatusUnauthorized:
		code, c.p = dbtrust.Unauthorized, dbtrust.Principal{}
	case http.StatusForbidden:
		code = dbtrust.Forbidden
	default:
		return
	}
	http.NewResponseController(&st.sw).Flush() // the caller has its answer before the store is written
	resource := r.Method + " " + c.pattern
	if c.pattern == "" {
		resource = r.Method
	}
	f.Refusals.Refused(r.Context(), c.p, ClientAddr(r), resource, dbtrust.Errorf(code, "refused"))
}
