package pgtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// EnvBin names a variable with the folder of PostgreSQL's server binaries
// (initdb, pg_ctl); without it they are looked up on PATH and then in
// Debian's /usr/lib/postgresql/<version>/bin, newest version first.
const EnvBin = "DBTRUST_TEST_PGBIN"

// Server is a PostgreSQL server of a test's own, in a temporary folder on a
// free loopback port, that the test may stop and start. Trust authentication,
// user postgres.
type Server struct {
	t    testing.TB
	bin  string
	dir  string // the cluster's data folder
	port int
	cred *syscall.Credential // run as this user (when the test runs as root)
	up   bool
	// certFile and keyFile, when set, are served over TLS (ssl=on).
	certFile, keyFile string
}

// Available reports whether PostgreSQL's server binaries can be found.
func Available() bool { return findBin() != "" }

// Port returns the server's TCP port on 127.0.0.1.
func (s *Server) Port() int { return s.port }

// SetTLS writes the server's certificate (chain) and key, readable by the
// server only, and turns TLS on from the next Start (ssl=on). Call Restart
// to have a running server pick them up.
func (s *Server) SetTLS(certPEM, keyPEM []byte) {
	s.t.Helper()
	base := filepath.Dir(s.dir)
	for name, data := range map[string][]byte{"server.crt": certPEM, "server.key": keyPEM} {
		p := filepath.Join(base, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			s.t.Fatal(err)
		}
		s.chown(p)
	}
	s.UseTLSFiles(filepath.Join(base, "server.crt"), filepath.Join(base, "server.key"))
}

// UseTLSFiles turns TLS on from the next Start with the certificate and key
// at these paths, which the server's user must be able to read.
func (s *Server) UseTLSFiles(certFile, keyFile string) { s.certFile, s.keyFile = certFile, keyFile }

// OwnedDir makes a folder beside the cluster's data folder that the server's
// user owns (mode 0700), for files the server reads.
func (s *Server) OwnedDir(name string) string {
	s.t.Helper()
	p := filepath.Join(filepath.Dir(s.dir), name)
	if err := os.Mkdir(p, 0o700); err != nil {
		s.t.Fatal(err)
	}
	s.chown(p)
	return p
}

// ReloadCommand is a shell command that makes the running server reload its
// configuration and TLS files (SIGHUP to the postmaster), as root or as the
// test's user.
func (s *Server) ReloadCommand() string {
	return fmt.Sprintf("kill -HUP $(head -n 1 '%s')", filepath.Join(s.dir, "postmaster.pid"))
}

func (s *Server) chown(p string) {
	if s.cred == nil {
		return
	}
	if err := os.Chown(p, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
		s.t.Fatal(err)
	}
}

// Restart stops the server (if it runs) and starts it again.
func (s *Server) Restart() {
	s.t.Helper()
	if s.up {
		s.pgctl("-m", "fast", "stop")
		s.up = false
	}
	s.Start()
}

// StartServer initialises and starts a server; it is stopped and removed when
// the test ends. The test is skipped when PostgreSQL's binaries are missing,
// or when it runs as root and there is no "postgres" user to run them as
// (initdb refuses root).
func StartServer(t testing.TB) *Server {
	t.Helper()
	bin := findBin()
	if bin == "" {
		Skip(t, "PostgreSQL server binaries (initdb, pg_ctl) not found; set "+EnvBin)
	}
	s := &Server{t: t, bin: bin}
	base, err := os.MkdirTemp("", "dbtrust-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			Skip(t, "running as root and there is no postgres user to run initdb as: "+err.Error())
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(base, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	s.dir = filepath.Join(base, "data")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s.run("initdb", "-D", s.dir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
	t.Cleanup(func() {
		if s.up {
			s.pgctl("-m", "immediate", "stop")
		}
	})
	s.Start()
	return s
}

// URL returns the URL of database db on the server.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// Start starts the server and waits until it accepts connections.
func (s *Server) Start() {
	s.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", s.port, s.dir)
	if s.certFile != "" {
		opts += fmt.Sprintf(" -c ssl=on -c ssl_cert_file=%s -c ssl_key_file=%s", s.certFile, s.keyFile)
	}
	s.pgctl("-o", opts, "-l", filepath.Join(filepath.Dir(s.dir), "server.log"), "start")
	s.up = true
}

// Stop stops the server the hard way (pg_ctl -m immediate: every process
// quits at once, no shutdown checkpoint, as after a crash); the next Start
// recovers from the write-ahead log.
func (s *Server) Stop() {
	s.t.Helper()
	s.pgctl("-m", "immediate", "stop")
	s.up = false
}

func (s *Server) pgctl(args ...string) {
	s.t.Helper()
	s.run("pg_ctl", append([]string{"-D", s.dir, "-w", "-t", "60"}, args...)...)
}

func (s *Server) run(name string, args ...string) {
	s.t.Helper()
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = filepath.Dir(s.dir)
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(filepath.Dir(s.dir), "server.log"))
		s.t.Fatalf("%s %v: %v\n%s\n%s", name, args, err, out, log)
	}
}

func findBin() string {
	if d := os.Getenv(EnvBin); d != "" {
		return d
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p)
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { // newest major version first
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	return ""
}

// Pause stops every process of the server with SIGSTOP (the postmaster and
// its backends, found by parent PID in /proc): it keeps its connections open
// and answers nothing, as a hung host does. Resume undoes it; the test's end
// resumes a paused server before stopping it.
func (s *Server) Pause() { s.t.Helper(); s.signalAll(syscall.SIGSTOP) }

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() { s.t.Helper(); s.signalAll(syscall.SIGCONT) }

func (s *Server) signalAll(sig syscall.Signal) {
	b, err := os.ReadFile(filepath.Join(s.dir, "postmaster.pid"))
	if err != nil {
		s.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil {
		s.t.Fatalf("postmaster.pid: %v", err)
	}
	pids := []int{pid}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// stat is "pid (comm) state ppid ...": the comm may hold spaces.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			pids = append(pids, child)
		}
	}
	for _, p := range pids {
		syscall.Kill(p, sig)
	}
	if sig == syscall.SIGSTOP {
		s.t.Cleanup(func() { s.signalAll(syscall.SIGCONT) })
	}
}
