package e2e_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust/internal/pgtest"
)

// redisServer is a redis-server of the test's own, TLS only, on a free port.
type redisServer struct {
	t    *testing.T
	bin  string
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// startRedis checks that redis-server (6 or later, built with TLS) is
// installed; the test is skipped when it is not, and fails under CI=true.
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		pgtest.Skip(t, "redis-server not installed")
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("redis-server --version: %v", err)
	}
	m := regexp.MustCompile(`v=(\d+)\.`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("redis-server --version: cannot read %q", out)
	}
	if major, _ := strconv.Atoi(string(m[1])); major < 6 {
		pgtest.Skip(t, "redis-server "+string(m[1])+" has no TLS (6 or later needed)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	r := &redisServer{t: t, bin: bin, dir: t.TempDir(), port: port}
	t.Cleanup(r.stop)
	return r
}

// start runs the server with the given certificate, key and CA bundle.
func (r *redisServer) start(certPEM, keyPEM, caPEM []byte) {
	r.t.Helper()
	files := map[string][]byte{"server.crt": certPEM, "server.key": keyPEM, "ca.pem": caPEM}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(r.dir, name), data, 0o600); err != nil {
			r.t.Fatal(err)
		}
	}
	r.startWith(r.dir)
}

// startWith runs the server with server.crt, server.key and ca.pem of dir.
func (r *redisServer) startWith(dir string) {
	r.t.Helper()
	var log bytes.Buffer
	r.cmd = exec.Command(r.bin, "--port", "0", "--tls-port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--tls-cert-file", filepath.Join(dir, "server.crt"), "--tls-key-file", filepath.Join(dir, "server.key"),
		"--tls-ca-cert-file", filepath.Join(dir, "ca.pem"), "--tls-auth-clients", "no",
		"--save", "", "--appendonly", "no", "--dir", r.dir, "--daemonize", "no")
	r.cmd.Stdout, r.cmd.Stderr = &log, &log
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(r.cmd, r.done)
	waitFor(r.t, "redis-server listening", func() error {
		select {
		case <-r.done:
			r.t.Fatalf("redis-server exited: %s", log.String())
		default:
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", r.port), time.Second)
		if err == nil {
			c.Close()
		}
		return err
	})
}

func (r *redisServer) stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		r.cmd.Process.Kill()
		<-r.done
	}
	r.cmd = nil
}

// redisPing connects over TLS, verifying the server against the bundle file
// for the address 127.0.0.1, sends PING and expects PONG. It returns the
// certificate the server presented.
func redisPing(port int, bundleFile string) (*x509.Certificate, error) {
	pem, err := os.ReadFile(bundleFile)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", bundleFile)
	}
	d := &net.Dialer{Timeout: 10 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return nil, err
	}
	if line != "+PONG\r\n" {
		return nil, fmt.Errorf("PING answered %q", line)
	}
	return c.ConnectionState().PeerCertificates[0], nil
}

// redisCLI runs the recipe's client, redis-cli --tls --cacert FILE, when it
// is installed; "" when it is not.
func redisCLI(t *testing.T, port int, bundleFile string) (string, error) {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		return "", nil
	}
	out, err := exec.Command(cli, "-h", "127.0.0.1", "-p", strconv.Itoa(port), "--tls", "--cacert", bundleFile, "PING").CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// TestRedisTLSAcrossRotation runs a real Redis (TLS only) with a server
// certificate dbtrust issued, and clients that fetched the CA through the
// Huawei DCS download link; then a full rotation, after which the client
// holding the bundle fetched after "rotate start" connects again unchanged.
func TestRedisTLSAcrossRotation(t *testing.T) {
	t.Parallel()
	rs := startRedis(t)
	d := startTrust(t)
	inst := d.createInstance("sessions", "redis")
	other := d.createInstance("queues", "redis")
	clients := t.TempDir()

	first := d.issue(inst.ID)
	rs.start([]byte(first.CertificatePEM), []byte(first.PrivateKeyPEM), d.dcsBundle(inst.ID))

	before := save(t, clients, "before.pem", d.dcsBundle(inst.ID))
	foreign := save(t, clients, "other.pem", d.dcsBundle(other.ID))
	if _, err := redisPing(rs.port, before); err != nil {
		t.Fatalf("TLS with the instance's CA: %v", err)
	}
	if _, err := redisPing(rs.port, foreign); !isUnknownAuthority(err) {
		t.Fatalf("TLS with another instance's CA: %v, want an unknown-authority refusal", err)
	}
	if out, err := redisCLI(t, rs.port, before); err != nil || (out != "" && out != "PONG") {
		t.Fatalf("redis-cli --tls --cacert: %q, %v", out, err)
	}

	started := d.rotate(inst.ID, "start")
	afterStartBundle := d.dcsBundle(inst.ID)
	if n := count(t, afterStartBundle); n != 2 {
		t.Fatalf("bundle after rotate start has %d certificates, want 2", n)
	}
	afterStart := save(t, clients, "after-start.pem", afterStartBundle)
	if _, err := redisPing(rs.port, afterStart); err != nil {
		t.Fatalf("TLS with the bundle fetched after start, old server certificate: %v", err)
	}

	finished := d.rotate(inst.ID, "finish")
	if caFingerprint(t, finished, "current") != caFingerprint(t, started, "next") {
		t.Fatal("finish did not promote the next CA")
	}
	second := d.issue(inst.ID)
	rs.stop()
	rs.start([]byte(second.CertificatePEM), []byte(second.PrivateKeyPEM), d.dcsBundle(inst.ID))

	var leaf *x509.Certificate
	waitFor(t, "TLS after the rotation with the bundle fetched after start", func() (err error) {
		leaf, err = redisPing(rs.port, afterStart)
		return err
	})
	if got := issuerFingerprint(t, leaf, afterStartBundle); got != caFingerprint(t, finished, "current") {
		t.Fatalf("the server's certificate was signed by %s, want the new current CA", got)
	}
	if out, err := redisCLI(t, rs.port, afterStart); err != nil || (out != "" && out != "PONG") {
		t.Fatalf("redis-cli --tls --cacert after the rotation: %q, %v", out, err)
	}
	if _, err := redisPing(rs.port, before); !isUnknownAuthority(err) {
		t.Fatalf("TLS with the pre-rotation bundle: %v, want an unknown-authority refusal", err)
	}
	if _, err := redisPing(rs.port, foreign); !isUnknownAuthority(err) {
		t.Fatalf("TLS with another instance's CA after rotation: %v, want an unknown-authority refusal", err)
	}
	if out, err := redisCLI(t, rs.port, foreign); err == nil && out == "PONG" {
		t.Fatal("redis-cli with another instance's CA got PONG")
	}
}
