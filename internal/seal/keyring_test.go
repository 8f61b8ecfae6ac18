package seal_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/dbtrust/dbtrust/internal/seal"
)

// TestKeyringRotation: a keyring holding an old and a new key seals under
// the new one, opens values of both, and names each value's key.
func TestKeyringRotation(t *testing.T) {
	t.Parallel()
	oldKey, newKey := newSealer(t), newSealer(t)
	aad := []byte("ca-key:x")
	underOld, err := oldKey.Seal([]byte("old"), aad)
	if err != nil {
		t.Fatal(err)
	}
	if got := seal.SealedBy(underOld); got != oldKey.ID() {
		t.Fatalf("SealedBy(value sealed under %s) = %q", oldKey.ID(), got)
	}
	ring := seal.NewKeyring(newKey, oldKey)
	underNew, err := ring.Seal([]byte("new"), aad)
	if err != nil {
		t.Fatal(err)
	}
	if got := seal.SealedBy(underNew); got != newKey.ID() || ring.SealingID() != newKey.ID() {
		t.Fatalf("keyring sealed under %q (SealingID %q), want %s", got, ring.SealingID(), newKey.ID())
	}
	for _, v := range [][]byte{underOld, underNew} {
		if _, err := ring.Open(v, aad); err != nil {
			t.Errorf("keyring Open(value under %s) = %v, want nil", seal.SealedBy(v), err)
		}
	}
	// Once the old key is dropped, its values name a key the ring lacks.
	ring.Set(newKey)
	_, err = ring.Open(underOld, aad)
	var unknown *seal.UnknownKeyError
	if !errors.As(err, &unknown) || unknown.KeyID != oldKey.ID() || !errors.Is(err, seal.ErrOpen) {
		t.Errorf("Open(value under a dropped key) = %v, want UnknownKeyError{%s} matching ErrOpen", err, oldKey.ID())
	}
	// A relabelled value (another key's ID in the header) does not open.
	relabelled := bytes.Clone(underNew)
	copy(relabelled[1:9], underOld[1:9])
	if _, err := seal.NewKeyring(oldKey, newKey).Open(relabelled, aad); !errors.Is(err, seal.ErrOpen) {
		t.Errorf("Open(value relabelled to another key) = %v, want ErrOpen", err)
	}
}

func TestKeyIDStable(t *testing.T) {
	t.Parallel()
	k, _ := seal.NewKey()
	s, _ := seal.New(k)
	if id := seal.KeyID(k); id != s.ID() || len(id) != 16 {
		t.Errorf("KeyID = %q, AESGCM.ID = %q, want the same 16 hex digits", id, s.ID())
	}
}

func TestSources(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k, _ := seal.NewKey()
	text := string(seal.EncodeKey(k))
	dir := t.TempDir()
	file := filepath.Join(dir, "kek")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	loose := filepath.Join(dir, "loose")
	if err := os.WriteFile(loose, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		src      seal.Source
		ok       bool
		notExist bool
	}{
		{"file", seal.Source{File: file, Name: "--kek-file"}, true, false},
		{"value", seal.Source{Value: text, Name: "DBTRUST_KEK"}, true, false},
		{"command", seal.Source{Command: "cat " + file, Name: "--kek-command"}, true, false},
		{"missing file", seal.Source{File: filepath.Join(dir, "none"), Name: "--kek-file"}, false, true},
		{"missing folder", seal.Source{File: filepath.Join(dir, "no", "kek"), Name: "--kek-file"}, false, true},
		{"file readable by others", seal.Source{File: loose, Name: "--kek-file"}, false, false},
		{"bad value", seal.Source{Value: "short", Name: "DBTRUST_KEK"}, false, false},
		{"failing command", seal.Source{Command: "exit 3", Name: "--kek-command"}, false, false},
		{"command printing junk", seal.Source{Command: "echo nope", Name: "--kek-command"}, false, false},
	}
	for _, tt := range tests {
		got, err := tt.src.Load(ctx)
		if tt.ok != (err == nil) || tt.ok && !bytes.Equal(got, k) {
			t.Errorf("Load(%s) = %v, want ok=%v and the key", tt.name, err, tt.ok)
		}
		if errors.Is(err, fs.ErrNotExist) != tt.notExist {
			t.Errorf("Load(%s) = %v, want fs.ErrNotExist: %v", tt.name, err, tt.notExist)
		}
	}
	if _, err := seal.CreateKeyFile(filepath.Join(dir, "no", "kek")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("CreateKeyFile(in a missing folder) = %v, want fs.ErrNotExist", err)
	}
}
