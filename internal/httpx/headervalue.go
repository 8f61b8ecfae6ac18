package httpx

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"unsafe"
)

// NumberHeader formats a number as a header value and remembers the last
// one: a value that rarely changes from one answer to the next (a rate
// limit, the end of its window, the length of a cached body) then costs
// no formatting and no allocation. It is safe for concurrent use.
type NumberHeader struct {
	last atomic.Pointer[numberValue]
}

type numberValue struct {
	n int64
	v []string
}

// Value returns n in decimal as a header's value list. The slice is shared
// by every answer that sends the same number: it must not be modified.
func (h *NumberHeader) Value(n int64) []string {
	if l := h.last.Load(); l != nil && l.n == n {
		return l.v
	}
	v := []string{strconv.FormatInt(n, 10)}
	h.last.Store(&numberValue{n: n, v: v[:1:1]})
	return v[:1:1]
}

// numberScratch is room in a request's state (see Front) for one header
// value that changes from answer to answer, such as a rate limit's
// remaining count.
type numberScratch struct {
	used  bool
	bytes [20]byte
	value [1]string
}

type numberKey struct{}

// RequestNumber returns n in decimal as a header's value list. For the
// first call on a request that came through Front, the digits and the list
// are kept in the request's state, so the value costs no allocation; the
// string is never written again, so it may outlive the request. Other
// calls format a new value. Call it from the handler's goroutine.
func RequestNumber(r *http.Request, n int64) []string {
	s, ok := r.Context().Value(numberKey{}).(*numberScratch)
	if !ok || s.used {
		return []string{strconv.FormatInt(n, 10)}
	}
	s.used = true
	b := strconv.AppendInt(s.bytes[:0], n, 10)
	s.value[0] = unsafe.String(&b[0], len(b))
	return s.value[:1:1]
}
