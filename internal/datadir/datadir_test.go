package datadir

import (
	"os"
	"path/filepath"
	"testing"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestPrepare(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	existing := filepath.Join(root, "existing")
	if err := os.Mkdir(existing, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(existing, 0o777); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{existing, filepath.Join(root, "new", "nested")} {
		if err := Prepare(dir); err != nil {
			t.Fatalf("Prepare(%s) = %v", dir, err)
		}
		if m := mode(t, dir); m != 0o700 {
			t.Fatalf("Prepare(%s): mode %o, want 0700", dir, m)
		}
	}
}

func TestPrivateFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	old := filepath.Join(dir, "old.db")
	if err := os.WriteFile(old, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{old, filepath.Join(dir, "new.db")} {
		if err := PrivateFile(p); err != nil {
			t.Fatalf("PrivateFile(%s) = %v", p, err)
		}
		if m := mode(t, p); m != 0o600 {
			t.Fatalf("PrivateFile(%s): mode %o, want 0600", p, m)
		}
	}
	if b, _ := os.ReadFile(old); string(b) != "keep" {
		t.Fatalf("PrivateFile changed the contents of an existing file: %q", b)
	}
}
