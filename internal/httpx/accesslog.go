package httpx

import (
	"encoding/json"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// AccessLog writes one line per answered request (time, request ID,
// method, path, status, bytes, milliseconds) in the server log's own format
// (logfmt text or JSON, the fields slog would write), without costing the
// request a system call: lines are appended to a bounded buffer in memory,
// and a goroutine writes the buffer out every FlushInterval, sooner when it
// is half full, and at Close. When the writer cannot keep up and the buffer
// is full, lines are dropped and counted (Dropped) rather than making
// requests wait. The path is logged without its query, which may carry
// signatures.
type AccessLog struct {
	w     io.Writer
	json  bool
	limit int

	mu     sync.Mutex
	buf    []byte
	closed bool

	dropped atomic.Uint64
	stamp   atomic.Pointer[stamp] // the current second, formatted
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// AccessLogOptions tune NewAccessLog.
type AccessLogOptions struct {
	JSON          bool          // JSON lines; default logfmt text
	Buffer        int           // bytes held at most between writes; default 1 MiB
	FlushInterval time.Duration // default 200ms
}

// NewAccessLog starts an access log writing to w; Close flushes and stops it.
func NewAccessLog(w io.Writer, o AccessLogOptions) *AccessLog {
	if o.Buffer <= 0 {
		o.Buffer = 1 << 20
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 200 * time.Millisecond
	}
	l := &AccessLog{w: w, json: o.JSON, limit: o.Buffer, buf: make([]byte, 0, o.Buffer),
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go l.run(o.FlushInterval)
	return l
}

// Dropped returns how many lines were dropped because the buffer was full.
func (l *AccessLog) Dropped() uint64 { return l.dropped.Load() }

// Close writes what is buffered and stops the writer. Lines logged after
// Close are written at once. A nil AccessLog closes as a no-op.
func (l *AccessLog) Close() error {
	if l == nil {
		return nil
	}
	l.once.Do(func() { close(l.stop) })
	<-l.done
	return nil
}

// Log appends one request's line.
func (l *AccessLog) Log(at time.Time, id, method, path string, status, bytes int, d time.Duration) {
	var a [512]byte
	line := l.encode(a[:0], at, id, method, path, status, bytes, d)
	l.mu.Lock()
	if l.closed {
		l.w.Write(append([]byte(nil), line...)) // a copy: line stays on the stack
		l.mu.Unlock()
		return
	}
	if len(l.buf)+len(line) > l.limit {
		l.mu.Unlock()
		l.dropped.Add(1)
		l.wake()
		return
	}
	l.buf = append(l.buf, line...)
	half := len(l.buf) >= l.limit/2
	l.mu.Unlock()
	if half {
		l.wake()
	}
}

func (l *AccessLog) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// run writes the buffer out until Close.
func (l *AccessLog) run(every time.Duration) {
	defer close(l.done)
	t := time.NewTicker(every)
	defer t.Stop()
	spare := make([]byte, 0, l.limit)
	for {
		select {
		case <-t.C:
		case <-l.kick:
		case <-l.stop:
			l.mu.Lock()
			l.closed = true
			l.w.Write(l.buf)
			l.buf = l.buf[:0]
			l.mu.Unlock()
			return
		}
		l.mu.Lock()
		full := l.buf
		l.buf = spare
		l.mu.Unlock()
		if len(full) > 0 {
			l.w.Write(full)
		}
		spare = full[:0]
	}
}

// stamp is one second of slog's time layout, 2006-01-02T15:04:05.000Z07:00,
// formatted once for every line of that second: the date and time before
// the milliseconds, and the zone after them.
type stamp struct {
	sec        int64
	loc        *time.Location
	head, zone string
}

// appendTime appends at in slog's layout.
func (l *AccessLog) appendTime(b []byte, at time.Time) []byte {
	sec := at.Unix()
	st := l.stamp.Load()
	if st == nil || st.sec != sec || st.loc != at.Location() {
		st = &stamp{sec: sec, loc: at.Location(), head: at.Format("2006-01-02T15:04:05"), zone: at.Format("Z07:00")}
		l.stamp.Store(st)
	}
	ms := at.Nanosecond() / 1e6
	b = append(b, st.head...)
	b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	return append(b, st.zone...)
}

// encode appends the line of one request to b, field by field as slog's
// text or JSON handler would write them at level INFO with message
// "request"; ms has three decimals.
func (l *AccessLog) encode(b []byte, at time.Time, id, method, path string, status, bytes int, d time.Duration) []byte {
	us := d.Microseconds()
	if l.json {
		b = append(b, `{"time":"`...)
		b = l.appendTime(b, at)
		b = append(b, `","level":"INFO","msg":"request","request_id":`...)
		b = appendJSONString(b, id)
		b = append(b, `,"method":`...)
		b = appendJSONString(b, method)
		b = append(b, `,"path":`...)
		b = appendJSONString(b, path)
		b = append(b, `,"status":`...)
		b = strconv.AppendInt(b, int64(status), 10)
		b = append(b, `,"bytes":`...)
		b = strconv.AppendInt(b, int64(bytes), 10)
		b = append(b, `,"ms":`...)
		b = appendMillis(b, us)
		return append(b, "}\n"...)
	}
	b = append(b, "time="...)
	b = l.appendTime(b, at)
	b = append(b, " level=INFO msg=request request_id="...)
	b = appendTextValue(b, id)
	b = append(b, " method="...)
	b = appendTextValue(b, method)
	b = append(b, " path="...)
	b = appendTextValue(b, path)
	b = append(b, " status="...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, " bytes="...)
	b = strconv.AppendInt(b, int64(bytes), 10)
	b = append(b, " ms="...)
	b = appendMillis(b, us)
	return append(b, '\n')
}

// appendMillis appends microseconds us as milliseconds with three decimals.
func appendMillis(b []byte, us int64) []byte {
	b = strconv.AppendInt(b, us/1000, 10)
	frac := us % 1000
	return append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
}

// plain reports whether s is printable ASCII without space, '=', '"' or
// '\\': what both formats write as it is.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '=' || c == '"' || c == '\\' {
			return false
		}
	}
	return s != ""
}

// appendTextValue appends s as logfmt does: bare when plain, else quoted.
func appendTextValue(b []byte, s string) []byte {
	if plain(s) {
		return append(b, s...)
	}
	return strconv.AppendQuote(b, s)
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	if plain(s) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	q, _ := json.Marshal(s) // rare: paths with spaces, quotes or non-ASCII
	return append(b, q...)
}
