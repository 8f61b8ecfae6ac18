package httpx

import (
	"strconv"
	"sync/atomic"
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
