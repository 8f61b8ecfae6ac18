package seal_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/dbtrust/dbtrust/internal/seal"
)

func newSealer(t *testing.T) *seal.AESGCM {
	t.Helper()
	k, err := seal.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := seal.New(k)
	if err != nil {
		t.Fatalf("seal.New(%d-byte key) = %v, want nil", len(k), err)
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	s := newSealer(t)
	for _, pt := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("secret key material "), 200)} {
		aad := []byte("ca-key:1234")
		sealed, err := s.Seal(pt, aad)
		if err != nil {
			t.Fatalf("Seal(%d bytes) = %v, want nil", len(pt), err)
		}
		if len(pt) >= 16 && bytes.Contains(sealed, pt) { // a shorter one may occur in random bytes by chance
			t.Errorf("Seal(%d bytes) holds the plaintext, want only ciphertext", len(pt))
		}
		got, err := s.Open(sealed, aad)
		if err != nil || !bytes.Equal(got, pt) {
			t.Errorf("Open(Seal(%d bytes)) = %d bytes, %v, want the plaintext back", len(pt), len(got), err)
		}
	}
}

func TestOpenFailures(t *testing.T) {
	t.Parallel()
	s := newSealer(t)
	other := newSealer(t)
	pt, aad := []byte("PKCS#8 bytes would go here"), []byte("ca-key:a")
	sealed, err := s.Seal(pt, aad)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		return b
	}
	tests := []struct {
		name   string
		opener *seal.AESGCM
		value  []byte
		aad    []byte
	}{
		{"version byte changed", s, flip(0), aad},
		{"nonce byte changed", s, flip(5), aad},
		{"ciphertext byte changed", s, flip(20), aad},
		{"tag byte changed", s, flip(len(sealed) - 1), aad},
		{"truncated by one", s, sealed[:len(sealed)-1], aad},
		{"truncated to the header", s, sealed[:13], aad},
		{"empty", s, nil, aad},
		{"extended", s, append(bytes.Clone(sealed), 0), aad},
		{"wrong aad", s, sealed, []byte("ca-key:b")},
		{"no aad", s, sealed, nil},
		{"wrong key", other, sealed, aad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.opener.Open(tt.value, tt.aad)
			if !errors.Is(err, seal.ErrOpen) || got != nil {
				t.Errorf("Open(%s) = %q, %v, want nil, ErrOpen", tt.name, got, err)
			}
		})
	}
}

func TestSealIsRandomised(t *testing.T) {
	t.Parallel()
	s := newSealer(t)
	pt, aad := []byte("same plaintext"), []byte("same aad")
	a, err := s.Seal(pt, aad)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Seal(pt, aad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, b) {
		t.Errorf("Seal(%q) twice = the same bytes %x, want different ciphertexts", pt, a)
	}
}

func TestNewRejectsBadKeySize(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		if _, err := seal.New(make([]byte, n)); err == nil {
			t.Errorf("seal.New(%d-byte key) = nil error, want an error", n)
		}
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "kek")
	k1, created, err := seal.LoadOrCreateKeyFile(path)
	if err != nil || !created || len(k1) != seal.KeySize {
		t.Fatalf("LoadOrCreateKeyFile(new) = %d bytes, created %v, %v, want %d bytes, true, nil", len(k1), created, err, seal.KeySize)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("LoadOrCreateKeyFile(new) mode = %o, want 600", st.Mode().Perm())
	}
	k2, created, err := seal.LoadOrCreateKeyFile(path)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Errorf("LoadOrCreateKeyFile(existing) = %x, created %v, %v, want %x, false, nil", k2, created, err, k1)
	}
}

func TestLoadOrCreateKeyFileRefuses(t *testing.T) {
	t.Parallel()
	good, err := seal.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		content []byte
		mode    os.FileMode
	}{
		{"readable by others", seal.EncodeKey(good), 0o644},
		{"readable by group", seal.EncodeKey(good), 0o640},
		{"not base64", []byte("this is not a key\n"), 0o600},
		{"too short", seal.EncodeKey(good[:16]), 0o600},
		{"too long", seal.EncodeKey(append(bytes.Clone(good), good...)), 0o600},
		{"empty", nil, 0o600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "kek")
			if err := os.WriteFile(path, tt.content, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil { // WriteFile's mode is masked by the umask
				t.Fatal(err)
			}
			k, created, err := seal.LoadOrCreateKeyFile(path)
			if err == nil || k != nil || created {
				t.Errorf("LoadOrCreateKeyFile(%s) = %x, %v, %v, want nil, false, an error", tt.name, k, created, err)
			}
			after, rerr := os.ReadFile(path)
			if rerr != nil || !bytes.Equal(after, tt.content) {
				t.Errorf("LoadOrCreateKeyFile(%s) changed the file to %q, want it left alone", tt.name, after)
			}
		})
	}
}

// TestLoadOrCreateKeyFileConcurrent starts several first creations at once:
// exactly one creates the key, and every caller gets that same key.
func TestLoadOrCreateKeyFileConcurrent(t *testing.T) {
	t.Parallel()
	for round := 0; round < 20; round++ {
		path := filepath.Join(t.TempDir(), "kek")
		const n = 8
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			keys    [n][]byte
			created [n]bool
			errs    [n]error
		)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				keys[i], created[i], errs[i] = seal.LoadOrCreateKeyFile(path)
			}()
		}
		close(start)
		wg.Wait()
		creators := 0
		for i := 0; i < n; i++ {
			if errs[i] != nil {
				t.Fatalf("round %d: LoadOrCreateKeyFile(concurrent #%d) = %v, want nil", round, i, errs[i])
			}
			if created[i] {
				creators++
			}
			if !bytes.Equal(keys[i], keys[0]) {
				t.Fatalf("round %d: LoadOrCreateKeyFile(concurrent #%d) = %x, want the same key as #0 (%x)", round, i, keys[i], keys[0])
			}
		}
		if creators != 1 {
			t.Fatalf("round %d: LoadOrCreateKeyFile concurrent creators = %d, want 1", round, creators)
		}
		onDisk, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		k, err := seal.DecodeKey(string(onDisk))
		if err != nil || !bytes.Equal(k, keys[0]) {
			t.Fatalf("round %d: key on disk = %x, %v, want %x", round, k, err, keys[0])
		}
	}
}

func TestEncodeDecodeKey(t *testing.T) {
	t.Parallel()
	k, err := seal.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	got, err := seal.DecodeKey(string(seal.EncodeKey(k)))
	if err != nil || !bytes.Equal(got, k) {
		t.Errorf("DecodeKey(EncodeKey(%x)) = %x, %v, want the key back", k, got, err)
	}
	for _, in := range []string{"", "!!!", "AAAA"} {
		if _, err := seal.DecodeKey(in); err == nil {
			t.Errorf("DecodeKey(%q) = nil error, want an error", in)
		}
	}
}
