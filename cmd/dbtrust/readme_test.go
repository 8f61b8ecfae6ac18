package main

import (
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
)

// readmeScript returns the bash block of the README section named title.
func readmeScript(t *testing.T, title string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n## "+title+"\n")
	if !ok {
		t.Fatalf("README has no section %q", title)
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	_, script, ok := strings.Cut(sec, "```bash\n")
	if !ok {
		t.Fatalf("README section %q has no bash block", title)
	}
	script, _, _ = strings.Cut(script, "```")
	return script
}

// TestReadmeRehearsal runs the README's "Rehearsing a rotation in CI" script
// as written, with the dbtrust binary on PATH, and checks what it prints: a
// rotated CA, an expired 30-day certificate, and the expiry notifications at
// 30, 7 and 1 days.
func TestReadmeRehearsal(t *testing.T) {
	t.Parallel()
	script := readmeScript(t, "Rehearsing a rotation in CI")
	bin := buildBinary(t)
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = []string{"PATH=" + filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README script failed: %v\n%s", err, out)
	}
	text := string(out)
	for _, re := range []string{
		`(?m)^ahead of real time:\s+8760h0m0s$`,
		`(?m)^retired\s`,
		`(?m)^current\s`,
		`(?m)^[0-9a-f]+\s+expired\s+db1\.orders\.internal\s`,
	} {
		if !regexp.MustCompile(re).MatchString(text) {
			t.Errorf("the README script's output lacks %s:\n%s", re, text)
		}
	}
	if n := len(regexp.MustCompile(`(?m)^certificate\.expiring\s`).FindAllString(text, -1)); n != 3 {
		t.Errorf("the README script shows %d certificate.expiring deliveries, want 3 (30, 7 and 1 days):\n%s", n, text)
	}
}

// readmeBlocks returns the ```sh blocks of the README's sections whose
// titles start with one of titles, in order.
func readmeBlocks(t *testing.T, titles ...string) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	in, code := false, false
	var cur []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "## ") {
			in = false
			for _, title := range titles {
				in = in || strings.HasPrefix(line, "## "+title)
			}
		}
		switch {
		case in && !code && line == "```sh":
			code, cur = true, nil
		case code && line == "```":
			code = false
			blocks = append(blocks, strings.Join(cur, "\n"))
		case code:
			cur = append(cur, line)
		}
	}
	return blocks
}

// TestREADMEWalkthrough runs the README's Quickstart and Certificate
// lifecycle shell blocks, in order, in one bash (-e, -u, pipefail), with the
// release binary as dbtrust on PATH and a fresh HOME, so a fresh data
// folder. The one change made to them: the server's port 8080 becomes a free
// one. It fails when any command in them fails, so the README cannot drift
// from the program.
func TestREADMEWalkthrough(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("openssl"); err != nil && os.Getenv("CI") == "" {
		t.Skip("the README's blocks use openssl")
	}
	blocks := readmeBlocks(t, "Quickstart", "Certificate lifecycle")
	if len(blocks) < 8 {
		t.Fatalf("found %d shell blocks in the README's Quickstart and Certificate lifecycle, want at least 8", len(blocks))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	script := strings.ReplaceAll(strings.Join(blocks, "\n"), "127.0.0.1:8080", "127.0.0.1:"+port)

	binDir := t.TempDir()
	if err := os.Symlink(releaseBinary(t), filepath.Join(binDir, "dbtrust")); err != nil {
		t.Fatal(err)
	}
	work, home := t.TempDir(), t.TempDir()
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = work
	cmd.Env = []string{"HOME=" + home, "PATH=" + binDir + ":" + os.Getenv("PATH"), "LANG=C.UTF-8"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	t.Cleanup(func() {
		if cmd.Process != nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the server, should the script stop before its end
		}
	})
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's commands failed (%v) after %v:\n%s", err, time.Since(start).Round(time.Millisecond), out)
	}
	t.Logf("%d blocks ran in %v", len(blocks), time.Since(start).Round(time.Millisecond))
	if _, err := os.Stat(filepath.Join(home, ".local", "share", "dbtrust", "dbtrust.db")); err != nil {
		t.Errorf("the walkthrough did not use a data folder under the fresh HOME: %v", err)
	}
}
