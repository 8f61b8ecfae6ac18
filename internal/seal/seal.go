// Package seal encrypts secrets at rest with AES-256-GCM under a 32-byte
// key-encryption key (KEK).
//
// A sealed value is: version byte 0x02, the 8-byte ID of the KEK that sealed
// it, a 12-byte random nonce, then the GCM ciphertext and tag. The caller's
// additional data (the record's kind and ID) and the header are
// authenticated, so a sealed value moved onto another record, or relabelled
// with another key ID, fails to open. Values of version 0x01 (no key ID,
// written before key IDs existed) still open; KEK rotation rewrites them.
// The KEK seals each value directly: values are small (keys, passwords), the
// random 96-bit nonces stay far below GCM's collision bound at any realistic
// count, and one key keeps `dbtrust store copy` a byte-for-byte move.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

const (
	versionNoID = 1 // legacy: no key ID
	version     = 2
	idSize      = 8 // bytes of key ID in a sealed value
	headerSize  = 1 + idSize
)

// KeySize is the size of a KEK in bytes.
const KeySize = 32

// ErrOpen is returned for a value that does not open: tampered, truncated, or
// sealed under another key or for another record.
var ErrOpen = errors.New("seal: value does not open under this key")

// AESGCM seals and opens values under one KEK. It is safe for concurrent use.
type AESGCM struct {
	aead cipher.AEAD
	id   [idSize]byte
}

// KeyID names a KEK without revealing it: the first 8 bytes of a SHA-256 of
// the key (with a fixed prefix), in hex. It is what sealed values, the
// store's verifier and every message about keys name.
func KeyID(kek []byte) string {
	id := keyID(kek)
	return hex.EncodeToString(id[:])
}

func keyID(kek []byte) [idSize]byte {
	h := sha256.Sum256(append([]byte("dbtrust key-encryption key id\x00"), kek...))
	return [idSize]byte(h[:idSize])
}

// SealedBy returns the ID of the KEK that sealed v, or "" for a value sealed
// before key IDs were recorded (or one that is not a sealed value at all).
func SealedBy(v []byte) string {
	if len(v) < headerSize || v[0] != version {
		return ""
	}
	return hex.EncodeToString(v[1:headerSize])
}

// ID returns the key ID of this KEK.
func (s *AESGCM) ID() string { return hex.EncodeToString(s.id[:]) }

// New returns an AESGCM for a 32-byte key.
func New(kek []byte) (*AESGCM, error) {
	if len(kek) != KeySize {
		return nil, fmt.Errorf("seal: key-encryption key must be %d bytes, got %d", KeySize, len(kek))
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &AESGCM{aead: aead, id: keyID(kek)}, nil
}

// Seal encrypts plaintext, binding it to aad, and names this key in the
// value's header.
func (s *AESGCM) Seal(plaintext, aad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	out := make([]byte, headerSize+n, headerSize+n+len(plaintext)+s.aead.Overhead())
	out[0] = version
	copy(out[1:headerSize], s.id[:])
	if _, err := rand.Read(out[headerSize:]); err != nil {
		return nil, err
	}
	return s.aead.Seal(out, out[headerSize:], plaintext, headerAAD(out[:headerSize], aad)), nil
}

// Open decrypts a value made by Seal with the same aad (or a legacy value
// without a key ID).
func (s *AESGCM) Open(sealed, aad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	var pt []byte
	var err error
	switch {
	case len(sealed) >= 1+n+s.aead.Overhead() && sealed[0] == versionNoID:
		pt, err = s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], aad)
	case len(sealed) >= headerSize+n+s.aead.Overhead() && sealed[0] == version && [idSize]byte(sealed[1:headerSize]) == s.id:
		pt, err = s.aead.Open(nil, sealed[headerSize:headerSize+n], sealed[headerSize+n:], headerAAD(sealed[:headerSize], aad))
	default:
		return nil, ErrOpen
	}
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// headerAAD is what a version-2 value authenticates: its header, then the
// caller's aad.
func headerAAD(header, aad []byte) []byte {
	return append(append(make([]byte, 0, len(header)+len(aad)), header...), aad...)
}

// NewKey returns a fresh random KEK.
func NewKey() ([]byte, error) {
	k := make([]byte, KeySize)
	_, err := rand.Read(k)
	return k, err
}

// EncodeKey returns the text form of a KEK: standard base64 and a newline.
func EncodeKey(k []byte) []byte {
	return []byte(base64.StdEncoding.EncodeToString(k) + "\n")
}

// DecodeKey parses the text form of a KEK.
func DecodeKey(text string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil || len(k) != KeySize {
		return nil, fmt.Errorf("seal: key-encryption key must be base64 of %d bytes", KeySize)
	}
	return k, nil
}

// LoadOrCreateKeyFile reads the KEK at path, creating it (mode 0600) when it
// does not exist. created reports whether this call made it. A key file
// readable by group or others is refused.
//
// The new key is written whole to a temporary file beside path and then
// hard-linked to path, which fails when path already exists: two processes
// starting at once never write two keys, and neither ever reads a key file
// that the other has created but not yet filled.
func LoadOrCreateKeyFile(path string) (key []byte, created bool, err error) {
	if err := checkDir(path); err != nil {
		return nil, false, err
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		k, err := CreateKeyFile(path)
		if err == nil {
			return k, true, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, false, err
		}
	}
	k, err := readKeyFile(path)
	return k, false, err
}

// createKeyFile writes k to a fresh 0600 file and links it to path; the error
// wraps fs.ErrExist when path already exists.
func createKeyFile(path string, k []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.Write(EncodeKey(k))
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	err = os.Link(tmp, path)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	// A file system without hard links: fall back to an exclusive create,
	// which still never writes two keys.
	f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(EncodeKey(k))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}
