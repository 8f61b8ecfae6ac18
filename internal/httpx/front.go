package httpx

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Front is the one middleware in front of every route: it gives each
// request an ID (X-Request-Id), a deadline, the note of who it was
// authenticated as (Identify) and records its refusals, counts and logs it,
// and answers a panic. One layer does all of it, with one allocation for the
// request's state (its context, its ID's bytes and its header values
// included) and one copy of the request, rather than a layer, a context and
// a copy of the request each.
type Front struct {
	Log    *slog.Logger // panics; and the access log when Access is nil (one INFO line a request)
	Access *AccessLog   // the access log; nil: written through Log
	// NoAccess turns the access log off.
	NoAccess bool
	OnPanic  http.Handler // answers a request whose handler panicked before writing
	// Observe counts an answered request (the metrics); nil: not counted.
	Observe func(r *http.Request, status int, d time.Duration)
	// Refusals records every 401 and 403 answer, after it is sent: a failed
	// authentication under the client's address, a denied action under the
	// principal the dialect identified. Nil: not recorded.
	Refusals Refuser
	// Timeout bounds each request, store calls included, so that a store
	// that hangs turns into a prompt 503; 0: no deadline of its own.
	Timeout time.Duration
}

// request is one request's state, allocated once.
type request struct {
	ctx   reqCtx
	sw    StatusWriter
	start time.Time
	idHdr [1]string // the X-Request-Id header's value slice
}

// Handler returns next behind f.
func (f *Front) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &request{start: time.Now()}
		st.ctx.Context, st.ctx.id = r.Context(), newRequestID(&st.ctx.idBytes)
		if f.Timeout > 0 {
			st.ctx.deadline = st.start.Add(f.Timeout)
		}
		st.idHdr[0] = st.ctx.id
		w.Header()["X-Request-Id"] = st.idHdr[:]
		st.sw.ResponseWriter = w
		r = r.WithContext(&st.ctx)
		defer func() { f.finish(st, r, recover()) }()
		next.ServeHTTP(&st.sw, r)
	})
}

// finish runs after the handler (or its panic, v): it answers a panic,
// counts, records a refusal, releases the deadline's timer and logs.
func (f *Front) finish(st *request, r *http.Request, v any) {
	if v != nil {
		if v == http.ErrAbortHandler {
			st.ctx.release()
			panic(v)
		}
		f.Log.Error("panic serving request", "request_id", st.ctx.id, "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
		if st.sw.Status == 0 {
			f.OnPanic.ServeHTTP(&st.sw, r)
		}
	}
	d := time.Since(st.start)
	status := st.sw.Status
	if status == 0 {
		status = http.StatusOK
	}
	// Counted before a refusal is recorded: recording flushes the answer to
	// the caller first, and a caller that has its answer finds it counted.
	if f.Observe != nil {
		f.Observe(r, status, d)
	}
	if f.Refusals != nil {
		f.recordRefusal(st, r)
	}
	st.ctx.release()
	switch {
	case f.NoAccess:
	case f.Access != nil:
		f.Access.Log(st.start, st.ctx.id, r.Method, r.URL.Path, status, st.sw.Bytes, d)
	default:
		f.Log.Info("request", "request_id", st.ctx.id, "method", r.Method, "path", r.URL.Path,
			"status", status, "bytes", st.sw.Bytes, "ms", float64(d.Microseconds())/1000)
	}
}

// newRequestID returns a random (version 4) UUID, written in b: the string
// shares b's memory, which is part of the request's state (no allocation of
// its own) and is never written again. The bits come from the runtime's
// per-thread ChaCha8 generator, seeded from the system's: 122 random bits
// make a collision as unlikely as with crypto/rand, without a system call or
// a lock per request. A request ID is no secret.
func newRequestID(b *[36]byte) string {
	const hex = "0123456789abcdef"
	hi, lo := rand.Uint64(), rand.Uint64()
	hi = hi&^(0xf<<12) | 0x4<<12 // version 4
	lo = lo&^(0x3<<62) | 0x2<<62 // RFC 9562 variant
	j := 0
	for i := 0; i < 32; i++ {
		if i == 8 || i == 12 || i == 16 || i == 20 {
			b[j] = '-'
			j++
		}
		v := hi
		if i >= 16 {
			v = lo
		}
		b[j] = hex[v>>(60-4*(i%16))&0xf]
		j++
	}
	return unsafe.String(&b[0], len(b))
}

// reqCtx is the context every request carries: its ID, who it was
// authenticated as, and its deadline. The deadline's timer is made only
// when something waits on it (Done), which is what a store call does: a
// request answered from memory, such as a cached CA fetch, sets no timer at
// all, while a store call still runs out of time at the same instant.
type reqCtx struct {
	context.Context        // the connection's
	id              string // X-Request-Id, in idBytes
	idBytes         [36]byte
	num             numberScratch // RequestNumber's
	call            call          // Identify's note
	deadline        time.Time     // zero: none of its own
	mu              sync.Mutex
	timed           atomic.Pointer[timed]
}

type timed struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func (c *reqCtx) Deadline() (time.Time, bool) {
	pd, ok := c.Context.Deadline()
	if c.deadline.IsZero() || ok && pd.Before(c.deadline) {
		return pd, ok
	}
	return c.deadline, true
}

// Done makes the deadline's timer on first use.
func (c *reqCtx) Done() <-chan struct{} {
	if c.deadline.IsZero() {
		return c.Context.Done()
	}
	if t := c.timed.Load(); t != nil {
		return t.ctx.Done()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.timed.Load()
	if t == nil {
		t = &timed{}
		t.ctx, t.cancel = context.WithDeadline(c.Context, c.deadline)
		c.timed.Store(t)
	}
	return t.ctx.Done()
}

func (c *reqCtx) Err() error {
	if t := c.timed.Load(); t != nil {
		return t.ctx.Err()
	}
	if err := c.Context.Err(); err != nil {
		return err
	}
	if !c.deadline.IsZero() && !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// Value answers the request's own keys; once the timer exists, other keys
// go through it, so that contexts derived from this one attach to its
// cancellation directly (context.WithCancel finds it) rather than through a
// goroutine each.
func (c *reqCtx) Value(key any) any {
	switch key {
	case requestIDKey:
		return c.id
	case callKey{}:
		return &c.call
	case numberKey{}:
		return &c.num
	}
	if t := c.timed.Load(); t != nil {
		return t.ctx.Value(key)
	}
	return c.Context.Value(key)
}

// release stops the deadline's timer, if one was made.
func (c *reqCtx) release() {
	if t := c.timed.Load(); t != nil {
		t.cancel()
	}
}
