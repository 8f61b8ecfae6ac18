package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust/internal/kek"
	"github.com/dbtrust/dbtrust/internal/seal"
)

// folderDigest hashes every file of a folder (name and bytes), to show that
// a refused command wrote nothing.
func folderDigest(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		out[path] = sha256.Sum256(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameDigest(a, b map[string][32]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestWrongKEKRefused starts serve and the local commands on a store that
// holds sealed keys, with a KEK that is not the store's or with none: each
// exits with an error that names the key IDs (ErrMismatch where keys
// differ), writes nothing, and creates no key file.
func TestWrongKEKRefused(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	mustRun(t, data, "account", "create", "acme")
	mustRun(t, data, "instance", "create", "--name", "orders", "--engine", "pg")
	storeKey, err := os.ReadFile(filepath.Join(data, "kek"))
	if err != nil {
		t.Fatal(err)
	}
	k, _ := seal.DecodeKey(string(storeKey))
	storeID := seal.KeyID(k)

	other := filepath.Join(t.TempDir(), "other.kek")
	otherKey, err := seal.CreateKeyFile(other)
	if err != nil {
		t.Fatal(err)
	}
	movedData := t.TempDir() // a data folder holding the store but not its kek
	db, _ := os.ReadFile(filepath.Join(data, "dbtrust.db"))
	if err := os.WriteFile(filepath.Join(movedData, "dbtrust.db"), db, 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "typo.kek")

	tests := []struct {
		name     string
		data     string
		args     []string
		env      map[string]string
		mismatch bool
		wantIDs  []string
	}{
		{"serve with another KEK file", data, []string{"serve", "--addr", "127.0.0.1:0", "--kek-file", other}, nil, true, []string{storeID, seal.KeyID(otherKey)}},
		{"instance list with another KEK file", data, []string{"instance", "list", "--kek-file", other}, nil, true, []string{storeID, seal.KeyID(otherKey)}},
		{"cert issue with another KEK in the environment", data, []string{"cert", "issue", "orders", "--key-out", filepath.Join(t.TempDir(), "k.pem")}, map[string]string{"DBTRUST_KEK": string(seal.EncodeKey(otherKey))}, true, []string{storeID}},
		{"account list with a --kek-command printing another key", data, []string{"account", "list", "--kek-command", "cat " + other}, nil, true, []string{storeID, seal.KeyID(otherKey)}},
		{"serve with a mistyped KEK path", data, []string{"serve", "--addr", "127.0.0.1:0", "--kek-file", missing}, nil, false, []string{storeID}},
		{"serve on a data folder without its kek", movedData, []string{"serve", "--addr", "127.0.0.1:0"}, nil, false, []string{storeID}},
		{"account list on a data folder without its kek", movedData, []string{"account", "list"}, nil, false, []string{storeID}},
	}
	for _, tt := range tests {
		before := folderDigest(t, tt.data)
		start := time.Now()
		_, err := runCmd(tt.data, tt.env, tt.args...)
		took := time.Since(start)
		if err == nil {
			t.Fatalf("%s: dbtrust %s = nil error, want a refusal", tt.name, strings.Join(tt.args, " "))
		}
		if errors.Is(err, kek.ErrMismatch) != tt.mismatch {
			t.Errorf("%s: error %v, want ErrMismatch: %v", tt.name, err, tt.mismatch)
		}
		for _, id := range tt.wantIDs {
			if !strings.Contains(err.Error(), id) {
				t.Errorf("%s: error %q does not name key %s", tt.name, err, id)
			}
		}
		if !sameDigest(before, folderDigest(t, tt.data)) {
			t.Errorf("%s: the data folder changed", tt.name)
		}
		if _, err := os.Stat(missing); err == nil {
			t.Fatalf("%s: a key file was created at the mistyped path", tt.name)
		}
		t.Logf("%s: refused in %v: %v", tt.name, took.Round(time.Millisecond), err)
	}
	// The right key still works afterwards, from the file, a command or the
	// environment: nothing was damaged.
	os.Rename(filepath.Join(data, "kek"), filepath.Join(data, "kek.moved")) // no default key file: only the source given
	for _, env := range []map[string]string{{"DBTRUST_KEK_COMMAND": "cat " + filepath.Join(data, "kek.moved")}, {"DBTRUST_KEK": string(storeKey)}, {"DBTRUST_KEK_FILE": filepath.Join(data, "kek.moved")}} {
		out, err := runCmd(data, env, "instance", "list")
		if err != nil || !strings.Contains(out, "orders") {
			t.Errorf("instance list with the store's own KEK (env %v) = %q, %v, want orders", env, out, err)
		}
	}
}

// TestMissingKEKFolder: a KEK path in a folder that does not exist is a
// plain message, not a temporary file's name.
func TestMissingKEKFolder(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "etc", "dbtrust", "kek")
	_, err := runCmd(t.TempDir(), nil, "account", "list", "--kek-file", path)
	if !errors.Is(err, fs.ErrNotExist) || strings.Contains(err.Error(), ".tmp") || !strings.Contains(err.Error(), "mkdir -p") {
		t.Errorf("account list --kek-file in a missing folder = %v, want a plain message saying to create the folder", err)
	}
}

// TestSealedBindingsCoverEveryTable: KEK rotation knows how to open and
// re-seal the values of every table that holds sealed values.
func TestSealedBindingsCoverEveryTable(t *testing.T) {
	t.Parallel()
	db, store, _, err := openStore(context.Background(), "", t.TempDir(), schemaMigrate)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	tables, err := db.SealedTables(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		if _, ok := kek.Bindings()[table]; !ok {
			t.Errorf("kek.Bindings() has no binding for the sealed values of %s", table)
		}
	}
}
