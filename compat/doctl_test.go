package compat

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust/compat/dbtrusttest"
)

// doctlVersion is the doctl release the tools/doctl module pins (its go.mod
// names it); the build stamps it, so that doctl reports it as its version and
// in its User-Agent.
const doctlVersion = "1.166.0"

var (
	doctlOnce sync.Once
	doctlPath string
	doctlErr  error
)

// doctlBinary builds doctl from the module that tools/doctl pins (through the
// Go module proxy; the build cache makes every build after the first quick)
// once per test process.
func doctlBinary(t *testing.T) string {
	t.Helper()
	doctlOnce.Do(func() {
		dir, err := os.MkdirTemp("", "doctl-bin-")
		if err != nil {
			doctlErr = err
			return
		}
		doctlPath = filepath.Join(dir, "doctl")
		v := strings.Split(doctlVersion, ".")
		ldflags := fmt.Sprintf("-X github.com/digitalocean/doctl.Major=%s -X github.com/digitalocean/doctl.Minor=%s -X github.com/digitalocean/doctl.Patch=%s -X github.com/digitalocean/doctl.Label=release", v[0], v[1], v[2])
		start := time.Now()
		out, err := exec.Command("go", "build", "-C", filepath.Join("tools", "doctl"), "-o", doctlPath, "-ldflags", ldflags,
			"github.com/digitalocean/doctl/cmd/doctl").CombinedOutput()
		if err != nil {
			doctlErr = fmt.Errorf("go build doctl: %v\n%s", err, out)
			return
		}
		t.Logf("built doctl %s in %v", doctlVersion, time.Since(start).Round(time.Millisecond))
	})
	if doctlErr != nil {
		t.Fatal(doctlErr)
	}
	return doctlPath
}

// doctlRun runs doctl as its users do: a home and config of its own, the API
// URL and token by flag, and for HTTPS the server's CA through SSL_CERT_FILE.
type doctlRun struct {
	bin, home, url, token, caFile string
}

func newDoctl(t *testing.T, s *dbtrusttest.Server) *doctlRun {
	return &doctlRun{bin: doctlBinary(t), home: t.TempDir(), url: s.URL, token: s.Token, caFile: s.TLSCA}
}

// run returns doctl's stdout, stderr and exit error.
func (d *doctlRun) run(args ...string) (string, string, error) {
	argv := append([]string{"--api-url", d.url, "--access-token", d.token, "--config", filepath.Join(d.home, "config.yaml"),
		"--interactive=false", "--http-retry-max", "0"}, args...)
	cmd := exec.Command(d.bin, argv...)
	cmd.Env = []string{"HOME=" + d.home, "PATH=" + os.Getenv("PATH")}
	if d.caFile != "" {
		cmd.Env = append(cmd.Env, "SSL_CERT_FILE="+d.caFile)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// ok runs doctl, fails the test unless it exits 0, and decodes its -o json
// output into v (when v is not nil).
func (d *doctlRun) ok(t *testing.T, v any, args ...string) string {
	t.Helper()
	if v != nil {
		args = append(args, "-o", "json")
	}
	out, errOut, err := d.run(args...)
	if err != nil {
		t.Fatalf("doctl %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("doctl %s -o json: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return out
}

// TestDoctl drives the real doctl, unchanged, through the commands its users
// run around a cluster's CA, over HTTP and over HTTPS.
func TestDoctl(t *testing.T) {
	for _, mode := range []struct {
		name string
		args []string
	}{{"http", nil}, {"https", []string{"--https"}}} {
		t.Run(mode.name, func(t *testing.T) {
			s := dbtrusttest.Start(t, mode.args...)
			if mode.name == "https" && (!strings.HasPrefix(s.URL, "https://") || s.TLSCA == "") {
				t.Fatalf("serve --https: URL %q, CA file %q", s.URL, s.TLSCA)
			}
			d := newDoctl(t, s)
			testDoctlAccount(t, d, s)
			testDoctlCluster(t, d)
		})
	}
}

func testDoctlAccount(t *testing.T, d *doctlRun, s *dbtrusttest.Server) {
	var acct struct {
		UUID   string `json:"uuid"`
		Status string `json:"status"`
	}
	d.ok(t, &acct, "account", "get")
	if acct.UUID != s.AccountID || acct.Status != "active" {
		t.Fatalf("doctl account get = %+v, want the token's account %s, active", acct, s.AccountID)
	}
	d.ok(t, nil, "account", "get") // text output too

	// doctl auth init checks the token at --token-validation-server first.
	cfg := filepath.Join(d.home, "auth.yaml")
	init := func(token string) (string, error) {
		cmd := exec.Command(d.bin, "auth", "init", "--access-token", token, "--token-validation-server", d.url,
			"--api-url", d.url, "--config", cfg, "--interactive=false", "--http-retry-max", "0")
		cmd.Env = []string{"HOME=" + d.home, "PATH=" + os.Getenv("PATH"), "SSL_CERT_FILE=" + d.caFile}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := init(s.Token); err != nil {
		t.Fatalf("doctl auth init: %v\n%s", err, out)
	}
	if saved, err := os.ReadFile(cfg); err != nil || !bytes.Contains(saved, []byte(s.Token)) {
		t.Fatalf("doctl auth init saved no token (%v)", err)
	}
	if out, err := init("dbt_0000000000000000_" + strings.Repeat("A", 43)); err == nil || !strings.Contains(out, ": 401 ") {
		t.Fatalf("doctl auth init with a bad token: %v\n%s; want a refusal naming the 401", err, out)
	}

	// A DigitalOcean path dbtrust does not serve: doctl prints DigitalOcean's
	// 404 message (a Huawei-shaped body would leave it empty).
	_, errOut, err := d.run("projects", "list")
	if err == nil || !strings.Contains(errOut, ": 404 (request ") || !strings.Contains(errOut, "could not be found") {
		t.Fatalf("doctl projects list: %v\n%s; want DigitalOcean's 404 with its message and request ID", err, errOut)
	}
}

func testDoctlCluster(t *testing.T, d *doctlRun) {
	var created []struct {
		ID         string `json:"id"`
		Connection struct {
			Host string `json:"host"`
			Port int    `json:"port"`
		} `json:"connection"`
	}
	d.ok(t, &created, "databases", "create", "backend", "--engine", "pg", "--version", "16", "--region", "nyc1")
	if len(created) != 1 || created[0].ID == "" {
		t.Fatalf("doctl databases create = %+v, want one cluster", created)
	}
	id := created[0].ID

	var list []struct{ ID, Name string }
	d.ok(t, &list, "databases", "list")
	if len(list) != 1 || list[0].ID != id {
		t.Fatalf("doctl databases list = %+v, want the cluster %s", list, id)
	}
	d.ok(t, nil, "databases", "list") // text output dereferences the connection
	d.ok(t, nil, "databases", "get", id)

	var ca struct {
		Certificate string `json:"certificate"`
	}
	d.ok(t, &ca, "databases", "get-ca", id)
	pemBytes, err := base64.StdEncoding.DecodeString(ca.Certificate)
	if err != nil {
		t.Fatalf("doctl databases get-ca: certificate is not base64: %v", err)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		t.Fatalf("doctl databases get-ca: no PEM block in %q", pemBytes)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil || !cert.IsCA || !strings.Contains(strings.Join(cert.Subject.OrganizationalUnit, " "), id) {
		t.Fatalf("doctl databases get-ca: %v, IsCA %v, subject %v; want the CA of instance %s", err, cert != nil && cert.IsCA, cert.Subject, id)
	}
	if out := d.ok(t, nil, "databases", "get-ca", id); !strings.Contains(out, "-----BEGIN CERTIFICATE-----") {
		t.Fatalf("doctl databases get-ca (text) = %q, want the PEM", out)
	}

	var conn struct {
		Host string `json:"host"`
		Port int    `json:"port"`
		SSL  bool   `json:"ssl"`
	}
	d.ok(t, &conn, "databases", "connection", id)
	if conn.Host != created[0].Connection.Host || conn.Port != created[0].Connection.Port || !conn.SSL {
		t.Fatalf("doctl databases connection = %+v, want %+v with TLS", conn, created[0].Connection)
	}

	testDoctlSettings(t, d, id)

	d.ok(t, nil, "databases", "delete", id, "--force")
	_, errOut, err := d.run("databases", "get", id)
	if err == nil || !strings.Contains(errOut, ": 404 (request ") {
		t.Fatalf("doctl databases get after delete: %v\n%s; want DigitalOcean's 404", err, errOut)
	}
}

// testDoctlSettings: maintenance window, users, databases, pools and
// firewall rules of a cluster, read and written with doctl.
func testDoctlSettings(t *testing.T, d *doctlRun, id string) {
	var mw struct{ Day, Hour string }
	d.ok(t, &mw, "databases", "maintenance-window", "get", id)
	if mw.Day == "" || mw.Hour == "" {
		t.Fatalf("doctl databases maintenance-window get = %+v, want a day and an hour", mw)
	}
	d.ok(t, nil, "databases", "maintenance-window", "get", id) // the text output crashed on a cluster without one
	d.ok(t, nil, "databases", "maintenance-window", "update", id, "--day", "tuesday", "--hour", "14:00")
	d.ok(t, &mw, "databases", "maintenance-window", "get", id)
	if mw.Day != "tuesday" || mw.Hour != "14:00:00" {
		t.Fatalf("maintenance window after update = %+v, want tuesday 14:00:00", mw)
	}

	var users []struct{ Name, Role string }
	d.ok(t, &users, "databases", "user", "list", id)
	if len(users) != 1 || users[0].Name != "doadmin" || users[0].Role != "primary" {
		t.Fatalf("doctl databases user list = %+v, want the connection's user", users)
	}
	var dbs []struct{ Name string }
	d.ok(t, &dbs, "databases", "db", "list", id)
	if len(dbs) != 1 || dbs[0].Name != "defaultdb" {
		t.Fatalf("doctl databases db list = %+v, want defaultdb", dbs)
	}
	d.ok(t, nil, "databases", "pool", "list", id)

	var rules []struct {
		UUID, Type, Value string
		ClusterUUID       string `json:"cluster_uuid"`
	}
	d.ok(t, &rules, "databases", "firewalls", "list", id)
	if len(rules) != 0 {
		t.Fatalf("doctl databases firewalls list = %+v, want none yet", rules)
	}
	d.ok(t, nil, "databases", "firewalls", "append", id, "--rule", "ip_addr:192.0.2.1")
	d.ok(t, nil, "databases", "firewalls", "append", id, "--rule", "tag:web")
	d.ok(t, &rules, "databases", "firewalls", "list", id)
	byType := map[string]string{}
	for _, r := range rules {
		if r.ClusterUUID != id || r.UUID == "" {
			t.Fatalf("doctl databases firewalls list: rule %+v, want a UUID and cluster %s", r, id)
		}
		byType[r.Type] = r.UUID
	}
	if len(rules) != 2 || byType["ip_addr"] == "" || byType["tag"] == "" {
		t.Fatalf("doctl databases firewalls list = %+v, want the two rules appended", rules)
	}
	d.ok(t, nil, "databases", "firewalls", "remove", id, "--uuid", byType["ip_addr"])
	d.ok(t, &rules, "databases", "firewalls", "list", id)
	if len(rules) != 1 || rules[0].Type != "tag" {
		t.Fatalf("doctl databases firewalls list after remove = %+v, want the tag rule only", rules)
	}
}
