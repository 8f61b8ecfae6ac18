package httpx_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dbtrust/dbtrust/internal/httpx"
)

// lockedBuffer is an io.Writer tests read while the log writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serveLogged serves a handler that answers 200 (418 on /teapot) behind a
// Front with access log al, over a real socket.
func serveLogged(t *testing.T, al *httpx.AccessLog) *httptest.Server {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/teapot" {
			w.WriteHeader(http.StatusTeapot)
		}
		io.WriteString(w, "hello")
	})
	f := &httpx.Front{Log: slog.New(slog.DiscardHandler), Access: al, Timeout: time.Minute}
	ts := httptest.NewServer(f.Handler(h))
	t.Cleanup(ts.Close)
	return ts
}

func get(t *testing.T, url string) *http.Response {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestAccessLogJSONLines checks that every request gets one JSON line with
// its request ID, method, path (without the query), status and size, once
// the log is closed, and that nothing of the query string reaches the log.
func TestAccessLogJSONLines(t *testing.T) {
	t.Parallel()
	var out lockedBuffer
	al := httpx.NewAccessLog(&out, httpx.AccessLogOptions{JSON: true, FlushInterval: time.Hour})
	ts := serveLogged(t, al)
	ids := map[string]string{}
	for _, p := range []string{"/v2/databases/x/ca?X-Amz-Signature=sekrit", "/teapot", "/with%20space?token=sekrit"} {
		resp := get(t, ts.URL+p)
		ids[resp.Header.Get("X-Request-Id")] = resp.Request.URL.Path
	}
	if out.String() != "" {
		t.Fatalf("lines written before a flush was due (interval 1h, buffer far from full):\n%s", out.String())
	}
	al.Close()
	if strings.Contains(out.String(), "sekrit") || strings.Contains(out.String(), "?") {
		t.Fatalf("the access log carries a query string:\n%s", out.String())
	}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	n := 0
	for sc.Scan() {
		var line struct {
			Time, Level, Msg, RequestID, Method, Path string
			Status, Bytes                             int
			MS                                        float64
		}
		dec := json.NewDecoder(strings.NewReader(strings.ReplaceAll(sc.Text(), `"request_id"`, `"requestid"`)))
		if err := dec.Decode(&line); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		if _, err := time.Parse(time.RFC3339, line.Time); err != nil || line.Level != "INFO" || line.Msg != "request" || line.Method != "GET" {
			t.Errorf("line %q: bad time, level, message or method", sc.Text())
		}
		path, ok := ids[line.RequestID]
		if !ok || path != line.Path || line.Bytes != 5 {
			t.Errorf("line %q: request ID, path or bytes do not match a request sent (%v)", sc.Text(), ids)
		}
		if want := map[bool]int{true: 418, false: 200}[path == "/teapot"]; line.Status != want {
			t.Errorf("line %q: status %d, want %d", sc.Text(), line.Status, want)
		}
		n++
	}
	if n != len(ids) {
		t.Fatalf("%d lines for %d requests:\n%s", n, len(ids), out.String())
	}
}

// TestAccessLogText checks the logfmt form: a plain path bare, one with a
// space quoted, as slog's text handler writes them.
func TestAccessLogText(t *testing.T) {
	t.Parallel()
	var out lockedBuffer
	al := httpx.NewAccessLog(&out, httpx.AccessLogOptions{})
	ts := serveLogged(t, al)
	id := get(t, ts.URL+"/healthz?x=1").Header.Get("X-Request-Id")
	get(t, ts.URL+"/a%20b")
	al.Close()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got:\n%s", out.String())
	}
	if !strings.Contains(lines[0], " level=INFO msg=request request_id="+id+" method=GET path=/healthz status=200 bytes=5 ms=") ||
		!strings.HasPrefix(lines[0], "time=") {
		t.Errorf("line %q is not the logfmt access line", lines[0])
	}
	if !strings.Contains(lines[1], ` path="/a b" `) {
		t.Errorf("line %q does not quote the path with a space", lines[1])
	}
}

// TestAccessLogFlushesOnItsOwn checks that lines are written within the
// flush interval without Close.
func TestAccessLogFlushesOnItsOwn(t *testing.T) {
	t.Parallel()
	var out lockedBuffer
	al := httpx.NewAccessLog(&out, httpx.AccessLogOptions{FlushInterval: 10 * time.Millisecond})
	defer al.Close()
	ts := serveLogged(t, al)
	get(t, ts.URL+"/x")
	for !strings.Contains(out.String(), "path=/x ") {
		time.Sleep(5 * time.Millisecond) // the test's own timeout bounds this
	}
}

// blockedWriter blocks every Write until released, as a stalled log
// pipe does, then counts lines.
type blockedWriter struct {
	release chan struct{}
	mu      sync.Mutex
	lines   int
}

func (w *blockedWriter) Write(p []byte) (int, error) {
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines += bytes.Count(p, []byte("\n"))
	return len(p), nil
}

// TestAccessLogDropsRatherThanBlocks stalls the log's output: requests are
// still answered, the lines that do not fit are counted as dropped, and
// every line is either written or counted.
func TestAccessLogDropsRatherThanBlocks(t *testing.T) {
	t.Parallel()
	w := &blockedWriter{release: make(chan struct{})}
	al := httpx.NewAccessLog(w, httpx.AccessLogOptions{Buffer: 2048, FlushInterval: time.Millisecond})
	ts := serveLogged(t, al)
	const n = 100
	for range n {
		get(t, ts.URL+"/v2/databases/some-instance/ca")
	}
	if al.Dropped() == 0 {
		t.Fatalf("%d lines of about 150 bytes into a 2 KiB buffer with a stalled writer, and none dropped", n)
	}
	close(w.release)
	al.Close()
	if got := uint64(w.lines) + al.Dropped(); got != n {
		t.Fatalf("%d lines written + %d dropped = %d, want %d", w.lines, al.Dropped(), got, n)
	}
}

// TestRequestIDsUnique sends requests over many connections at once: every
// answer has its own X-Request-Id, a version 4 UUID.
func TestRequestIDsUnique(t *testing.T) {
	t.Parallel()
	ts := serveLogged(t, nil)
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 250 {
				id := get(t, ts.URL+"/").Header.Get("X-Request-Id")
				u, err := uuid.Parse(id)
				if err != nil || u.Version() != 4 || u.Variant() != uuid.RFC4122 {
					t.Errorf("X-Request-Id %q is not a version 4 UUID", id)
				}
				mu.Lock()
				if seen[id] {
					t.Errorf("X-Request-Id %q given twice", id)
				}
				seen[id] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestRequestDeadline checks the request context's deadline: a store call
// waiting on it (Done) is released with DeadlineExceeded, and so is a
// context derived from it; Err says so even when nothing waited.
func TestRequestDeadline(t *testing.T) {
	t.Parallel()
	errs := make(chan error, 3)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if _, ok := ctx.Deadline(); !ok {
			errs <- errors.New("no deadline")
		}
		if r.URL.Path == "/idle" {
			for ctx.Err() == nil {
				time.Sleep(time.Millisecond)
			}
			errs <- ctx.Err()
			return
		}
		child, cancel := context.WithCancel(ctx)
		defer cancel()
		<-child.Done()
		errs <- ctx.Err()
		errs <- child.Err()
	})
	f := &httpx.Front{Log: slog.New(slog.DiscardHandler), NoAccess: true, Timeout: 20 * time.Millisecond}
	ts := httptest.NewServer(f.Handler(h))
	defer ts.Close()
	get(t, ts.URL+"/wait")
	get(t, ts.URL+"/idle")
	for range 3 {
		if err := <-errs; !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want the deadline exceeded", err)
		}
	}
}

// TestFrontPanic: a handler that panics is answered by OnPanic (500), the
// panic is logged at error level with the request ID, and the access log
// has the 500; a handler that aborts (http.ErrAbortHandler) drops the
// connection without an answer.
func TestFrontPanic(t *testing.T) {
	t.Parallel()
	var errs, access lockedBuffer
	al := httpx.NewAccessLog(&access, httpx.AccessLogOptions{})
	f := &httpx.Front{
		Log:    slog.New(slog.NewTextHandler(&errs, nil)),
		Access: al,
		OnPanic: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"error":{"code":"internal"},"request_id":"`+httpx.RequestID(r)+`"}`)
		}),
	}
	ts := httptest.NewServer(f.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/abort" {
			panic(http.ErrAbortHandler)
		}
		panic("boom")
	})))
	ts.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)
	defer ts.Close()
	resp := get(t, ts.URL+"/boom")
	id := resp.Header.Get("X-Request-Id")
	if resp.StatusCode != http.StatusInternalServerError || id == "" {
		t.Fatalf("a panic answered %d with X-Request-Id %q, want 500 with an ID", resp.StatusCode, id)
	}
	if _, err := http.Get(ts.URL + "/abort"); err == nil {
		t.Error("an aborted handler's request got an answer")
	}
	al.Close()
	if !strings.Contains(errs.String(), `level=ERROR msg="panic serving request" request_id=`+id) || !strings.Contains(errs.String(), "panic=boom") {
		t.Errorf("the panic is not in the error log:\n%s", errs.String())
	}
	if !strings.Contains(access.String(), "request_id="+id+" method=GET path=/boom status=500 ") {
		t.Errorf("the access log lacks the 500:\n%s", access.String())
	}
}
