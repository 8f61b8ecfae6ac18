package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/dbtrust/dbtrust/internal/sqlite"
	"github.com/dbtrust/dbtrust/internal/storetest"
)

// Every suite the one SQL store implements: the core's and each
// capability's.
func TestConformance(t *testing.T)                { storetest.Run(t, open) }
func TestTrustCertConformance(t *testing.T)       { storetest.RunTrustCert(t, open) }
func TestCredentialConformance(t *testing.T)      { storetest.RunCredential(t, open) }
func TestAccessKeyConformance(t *testing.T)       { storetest.RunAccessKey(t, open) }
func TestKeysConformance(t *testing.T)            { storetest.RunKeys(t, open) }
func TestClusterSettingsConformance(t *testing.T) { storetest.RunClusterSettings(t, open) }

func open(t *testing.T) *sqlite.Store {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "dbtrust.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestFilesPrivate: in a folder of mode 0755 the database and its -wal and
// -shm files are 0600; so is a database that an older version left 0644.
func TestFilesPrivate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	path := filepath.Join(dir, "dbtrust.db")
	for round := range 2 {
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ListAccounts(ctx); err != nil { // the -wal and -shm files exist once it has been read
			t.Fatal(err)
		}
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if m := fi.Mode().Perm(); m != 0o600 {
				t.Fatalf("round %d: %s has mode %o, want 0600", round, filepath.Base(p), m)
			}
		}
		s.Close()
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
