// Package dbtrusttest builds the real dbtrust binary and runs it for the
// compatibility tests, which drive it with the vendors' own client libraries.
package dbtrusttest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds cmd/dbtrust from the parent module once per test process and
// returns the path of the executable.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "dbtrust-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "dbtrust")
		root, err := filepath.Abs("..")
		if err != nil {
			buildErr = err
			return
		}
		for !fileExists(filepath.Join(root, "cmd", "dbtrust")) && root != filepath.Dir(root) {
			root = filepath.Dir(root)
		}
		out, err := exec.Command("go", "build", "-C", root, "-o", binPath, "./cmd/dbtrust").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/dbtrust: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// Server is a running dbtrust process.
type Server struct {
	URL       string // e.g. http://127.0.0.1:40123
	Token     string // the first account's owner token
	AccountID string
	ProjectID string
	DataDir   string
	Bin       string
	TLSCA     string // path of the self-issued serving CA, when serving HTTPS that way

	cmd    *exec.Cmd
	stderr *syncBuffer
}

var (
	urlRE     = regexp.MustCompile(`serving on (\S+)`)
	accountRE = regexp.MustCompile(`^account:\s+\S+ \(([0-9a-f-]{36})\), project ([0-9a-f]{32})`)
	tokenRE   = regexp.MustCompile(`^token:\s+(\S+)`)
	tlsCARE   = regexp.MustCompile(`^tls ca:\s+(\S+)`)
)

// Start runs `dbtrust serve --addr 127.0.0.1:0 --data <temp dir>` plus args,
// waits until /healthz answers, and stops it when the test ends.
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	return StartIn(t, t.TempDir(), args...)
}

// StartIn is Start with a given data folder (to restart on the same data).
func StartIn(t testing.TB, dataDir string, args ...string) *Server {
	t.Helper()
	s := &Server{DataDir: dataDir, Bin: Binary(t), stderr: &syncBuffer{}}
	argv := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", dataDir}, args...)
	s.cmd = exec.Command(s.Bin, argv...)
	s.cmd.Env = append(os.Environ(), "DBTRUST_STORE=", "DBTRUST_DATA=")
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(t) })

	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(60 * time.Second)
	for s.URL == "" || s.AccountID == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("dbtrust serve exited before it was ready; stderr:\n%s", s.stderr.String())
			}
			if m := urlRE.FindStringSubmatch(line); m != nil {
				s.URL = m[1]
			}
			if m := accountRE.FindStringSubmatch(line); m != nil {
				s.AccountID, s.ProjectID = m[1], m[2]
			}
			if m := tokenRE.FindStringSubmatch(line); m != nil {
				s.Token = m[1]
			}
			if m := tlsCARE.FindStringSubmatch(line); m != nil {
				s.TLSCA = m[1]
			}
		case <-deadline:
			t.Fatalf("dbtrust serve did not report its URL; stderr:\n%s", s.stderr.String())
		}
	}
	// The token line follows the account line when the data folder is new.
	select {
	case line, ok := <-lines:
		if m := tokenRE.FindStringSubmatch(line); ok && m != nil {
			s.Token = m[1]
		}
	case <-time.After(200 * time.Millisecond):
	}
	go func() { // keep draining stdout
		for range lines {
		}
	}()
	s.waitHealthy(t)
	return s
}

func (s *Server) waitHealthy(t testing.TB) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	if strings.HasPrefix(s.URL, "https") {
		return // the caller's client knows the CA; the URL line is printed after the listener is bound
	}
	for i := 0; i < 100; i++ {
		resp, err := client.Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("dbtrust at %s never became healthy; stderr:\n%s", s.URL, s.stderr.String())
}

// Stop sends SIGINT and waits for a graceful exit.
func (s *Server) Stop(t testing.TB) {
	if s.cmd == nil || s.cmd.Process == nil || s.cmd.ProcessState != nil {
		return
	}
	s.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("dbtrust serve exited with %v; stderr:\n%s", err, s.stderr.String())
		}
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-done
		t.Errorf("dbtrust serve did not stop within 15s of SIGINT")
	}
}

// Log returns what the server has written to stderr so far (its log).
func (s *Server) Log() string { return s.stderr.String() }

// CLI runs a dbtrust management command on the server's data folder and
// returns its standard output; it fails the test on a non-zero exit.
func (s *Server) CLI(t testing.TB, args ...string) []byte {
	t.Helper()
	out, err := s.TryCLI(context.Background(), args...)
	if err != nil {
		t.Fatalf("dbtrust %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// TryCLI is CLI that returns the error (with stderr) instead of failing.
func (s *Server) TryCLI(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, s.Bin, append(args, "--data", s.DataDir)...)
	cmd.Env = append(os.Environ(), "DBTRUST_STORE=", "DBTRUST_DATA=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%v: %s", err, stderr.String())
	}
	return out, nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

var _ io.Writer = (*syncBuffer)(nil)
