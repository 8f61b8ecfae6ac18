package main

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// The release build is made once per test binary, by scripts/release.sh,
// and shared by the packaging and README tests.
var release struct {
	once sync.Once
	bin  string
	err  error
	out  []byte
}

const releaseVersion = "v0.0.0-releasetest"

// releaseBinary returns the binary scripts/release.sh builds.
func releaseBinary(t *testing.T) string {
	t.Helper()
	release.once.Do(func() {
		dir, err := os.MkdirTemp("", "dbtrust-release-")
		if err != nil {
			release.err = err
			return
		}
		os.Chmod(dir, 0o755) // readable by the non-root users the tests run it as
		cmd := exec.Command("scripts/release.sh", releaseVersion)
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "DIST="+dir)
		release.out, release.err = cmd.CombinedOutput()
		release.bin = filepath.Join(dir, "dbtrust-"+releaseVersion+"-"+runtime.GOOS+"-"+runtime.GOARCH)
	})
	if release.err != nil {
		t.Fatalf("scripts/release.sh: %v\n%s", release.err, release.out)
	}
	return release.bin
}

// TestReleaseBuild: the release script makes a static binary that names its
// version.
func TestReleaseBuild(t *testing.T) {
	t.Parallel()
	bin := releaseBinary(t)
	out, err := exec.Command(bin, "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "dbtrust "+releaseVersion) {
		t.Errorf("%s --version = %q, %v; want dbtrust %s", bin, out, err, releaseVersion)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the release binary asks for a dynamic loader: it is not static")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the release binary needs %v, want none", libs)
	}
}

// dockerfile is the Dockerfile's instructions, continuation lines joined.
func dockerfile(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	cur := ""
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cur += line
		if strings.HasSuffix(cur, "\\") {
			cur = strings.TrimSuffix(cur, "\\") + " "
			continue
		}
		out = append(out, cur)
		cur = ""
	}
	return out
}

// TestDockerfile checks what the image is made of (multi-stage, a static
// release build, a non-root user, the /data volume, HTTPS on 0.0.0.0, a
// health check), then runs the release binary as the image would: as the
// image's non-root user (when the test runs as root), with the image's
// environment, and its HEALTHCHECK command against it. docker itself is not
// run: the base images are not reachable here.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	ins := dockerfile(t)
	stages, user, env := 0, "", map[string]string{}
	var health, cmd, build string
	for _, in := range ins {
		word, rest, _ := strings.Cut(in, " ")
		switch strings.ToUpper(word) {
		case "FROM":
			stages, user, env = stages+1, "", map[string]string{}
		case "USER":
			user = rest
		case "ENV":
			for _, kv := range regexp.MustCompile(`(\w+)=(\S+)`).FindAllStringSubmatch(rest, -1) {
				env[kv[1]] = kv[2]
			}
		case "HEALTHCHECK":
			health = rest
		case "CMD":
			cmd = rest
		case "RUN":
			if strings.Contains(rest, "go build") {
				build = rest
			}
		}
	}
	checks := []struct {
		ok   bool
		what string
	}{
		{stages >= 2, "a multi-stage build"},
		{strings.Contains(build, "CGO_ENABLED=0") && strings.Contains(build, "-trimpath") && strings.Contains(build, "-X main.version="), "a static, trimmed build with the version"},
		{user != "" && user != "root" && !strings.HasPrefix(user, "0"), "a non-root USER in the final stage"},
		{slicesContainsPrefix(ins, "VOLUME /data"), "VOLUME /data"},
		{env["DBTRUST_DATA"] == "/data" && strings.HasPrefix(env["DBTRUST_ADDR"], "0.0.0.0:") && env["DBTRUST_HTTPS"] == "true", "HTTPS on 0.0.0.0 with its data in /data"},
		{strings.Contains(health, `"health"`), "a HEALTHCHECK that runs dbtrust health"},
		{cmd == `["serve"]`, `CMD ["serve"]`},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("Dockerfile: want %s", c.what)
		}
	}

	// Run as the image does, on loopback with a free port.
	bin := releaseBinary(t)
	data := filepath.Join(userDir(t), "data")
	uid := strings.Split(user, ":")[0]
	p := startAs(t, uid, bin, []string{"DBTRUST_DATA=" + data, "DBTRUST_ADDR=127.0.0.1:0", "DBTRUST_HTTPS=true", "DBTRUST_LOG_FORMAT=json"}, "serve")
	t.Cleanup(func() { p.stop(t) })
	url, _ := waitServingTLS(t, &p.out, p.exited)
	args := regexp.MustCompile(`"([^"]*)"`).FindAllStringSubmatch(health[strings.Index(health, "["):], -1)
	var hc []string
	for _, a := range args[1:] {
		hc = append(hc, strings.NewReplacer("https://127.0.0.1:8443", url, "/data", data).Replace(a[1]))
	}
	if out, err := asUser(uid, exec.Command(bin, hc...)).CombinedOutput(); err != nil {
		t.Errorf("the HEALTHCHECK command %v: %v\n%s", hc, err, out)
	}
	if line, _, _ := strings.Cut(p.logs.String(), "\n"); line != "" && !strings.HasPrefix(line, "{") {
		t.Errorf("DBTRUST_LOG_FORMAT=json logged %q, want JSON lines", line)
	}
}

// TestSystemdUnit checks the unit's hardening, verifies it with
// systemd-analyze where there is one, and runs the release binary as a
// user of its own with the unit's UMask: it serves, and what it writes is
// its own alone.
func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	unit := map[string][]string{}
	f, err := os.Open("../../deploy/dbtrust.service")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok && !strings.HasPrefix(k, "#") {
			unit[k] = append(unit[k], v)
		}
	}
	f.Close()
	for k, want := range map[string]string{"DynamicUser": "yes", "StateDirectory": "dbtrust", "ProtectSystem": "strict",
		"NoNewPrivileges": "yes", "UMask": "0077", "CapabilityBoundingSet": "", "ProtectHome": "yes"} {
		if len(unit[k]) == 0 || unit[k][0] != want {
			t.Errorf("dbtrust.service: %s=%v, want %q", k, unit[k], want)
		}
	}
	if len(unit["ExecStart"]) != 1 || !strings.HasSuffix(unit["ExecStart"][0], "dbtrust serve") {
		t.Errorf("dbtrust.service: ExecStart=%v, want dbtrust serve", unit["ExecStart"])
	}
	bin := releaseBinary(t)
	if sa, err := exec.LookPath("systemd-analyze"); err == nil {
		b, _ := os.ReadFile("../../deploy/dbtrust.service")
		copyPath := filepath.Join(t.TempDir(), "dbtrust.service")
		os.WriteFile(copyPath, []byte(strings.ReplaceAll(string(b), "/usr/local/bin/dbtrust", bin)), 0o644)
		if out, err := exec.Command(sa, "verify", copyPath).CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	} else if os.Getenv("CI") != "" {
		t.Fatal("systemd-analyze is missing; .ci/run installs it")
	}

	data := filepath.Join(userDir(t), "state")
	p := startAs(t, "61234", bin, []string{"DBTRUST_DATA=" + data, "DBTRUST_ADDR=127.0.0.1:0"}, "serve")
	url, _ := waitServing(t, &p.out, p.exited)
	if out, err := exec.Command(bin, "health", "--server", url, "--ready").CombinedOutput(); err != nil {
		t.Errorf("health --ready: %v\n%s", err, out)
	}
	p.stop(t)
	filepath.Walk(data, func(path string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v: the service's files must be its own alone", path, fi.Mode().Perm())
		}
		return nil
	})
}

// startAs starts bin as the user uid (when this test runs as root; as
// itself otherwise, and never under CI) with env and a umask of 0077.
func startAs(t *testing.T, uid, bin string, env []string, args ...string) *process {
	t.Helper()
	p := &process{cmd: asUser(uid, exec.Command(bin, args...)), exited: make(chan error, 1)}
	if os.Geteuid() != 0 && os.Getenv("CI") != "" {
		t.Fatal("CI runs as root, so that the packaging tests run dbtrust as a user of its own")
	}
	p.cmd.Env = append([]string{"HOME=" + t.TempDir()}, env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() { p.cmd.Process.Kill() })
	return p
}

// userDir is a folder that any user may write in, for the data folder of a
// process that runs as another user.
func userDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "dbtrust-user-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o777)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// asUser makes cmd run as uid with no supplementary groups and no new
// privileges, through setpriv, when this test runs as root.
func asUser(uid string, cmd *exec.Cmd) *exec.Cmd {
	if os.Geteuid() != 0 {
		return cmd
	}
	args := append([]string{"--reuid=" + uid, "--regid=" + uid, "--clear-groups", "--no-new-privs", "--", cmd.Path}, cmd.Args[1:]...)
	c := exec.Command("setpriv", args...)
	c.Env = cmd.Env
	return c
}

// waitServingTLS waits for the serving line of an HTTPS server.
func waitServingTLS(t *testing.T, out *syncBuffer, exited <-chan error) (string, string) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-exited:
			t.Fatalf("serve exited: %v\n%s", err, out.String())
		default:
		}
		if m := servingRE.FindStringSubmatch(out.String()); m != nil && strings.Contains(out.String(), "account:") {
			return m[1], ""
		}
	}
	t.Fatalf("serve did not come up:\n%s", out.String())
	return "", ""
}

func slicesContainsPrefix(l []string, p string) bool {
	for _, s := range l {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
