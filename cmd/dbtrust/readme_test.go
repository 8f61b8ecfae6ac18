package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
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
