package seal

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// Keyring seals under one KEK and opens values sealed under any KEK it
// holds, choosing by the key ID each value names. During a KEK rotation a
// process holds the old and the new key: it seals under the new one and
// opens both. Its keys can be replaced while it is in use (a reload); it is
// safe for concurrent use.
type Keyring struct {
	cur atomic.Pointer[ring]
}

type ring struct {
	sealer *AESGCM
	byID   map[string]*AESGCM
	all    []*AESGCM
}

// UnknownKeyError is the error of Open for a value sealed under a KEK the
// keyring does not hold. It matches ErrOpen with errors.Is.
type UnknownKeyError struct{ KeyID string }

func (e *UnknownKeyError) Error() string {
	return fmt.Sprintf("seal: value sealed under key-encryption key %s, which this process does not hold", e.KeyID)
}

func (e *UnknownKeyError) Is(target error) bool { return target == ErrOpen }

// NewKeyring returns a keyring that seals under sealer and opens with it and
// every key in others.
func NewKeyring(sealer *AESGCM, others ...*AESGCM) *Keyring {
	k := &Keyring{}
	k.Set(sealer, others...)
	return k
}

// Set replaces the keyring's keys at once.
func (k *Keyring) Set(sealer *AESGCM, others ...*AESGCM) {
	r := &ring{sealer: sealer, byID: map[string]*AESGCM{}}
	for _, s := range append([]*AESGCM{sealer}, others...) {
		if s == nil || r.byID[s.ID()] != nil {
			continue
		}
		r.byID[s.ID()] = s
		r.all = append(r.all, s)
	}
	k.cur.Store(r)
}

// SealingID is the ID of the key new values are sealed under.
func (k *Keyring) SealingID() string { return k.cur.Load().sealer.ID() }

// IDs returns the IDs of every key held, the sealing key first.
func (k *Keyring) IDs() []string {
	var ids []string
	for _, s := range k.cur.Load().all {
		ids = append(ids, s.ID())
	}
	return ids
}

// Key returns the held key of that ID, or nil.
func (k *Keyring) Key(id string) *AESGCM { return k.cur.Load().byID[id] }

// Seal seals under the sealing key.
func (k *Keyring) Seal(plaintext, aad []byte) ([]byte, error) {
	return k.cur.Load().sealer.Seal(plaintext, aad)
}

// Open opens a value under the key it names; a legacy value without a key
// ID is tried under every key held. A value naming a key not held is an
// *UnknownKeyError.
func (k *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	r := k.cur.Load()
	if id := SealedBy(sealed); id != "" {
		s := r.byID[id]
		if s == nil {
			return nil, &UnknownKeyError{KeyID: id}
		}
		return s.Open(sealed, aad)
	}
	for _, s := range r.all {
		pt, err := s.Open(sealed, aad)
		if !errors.Is(err, ErrOpen) {
			return pt, err
		}
	}
	return nil, ErrOpen
}

// Adopt gives k the keys of o at once: a reload.
func (k *Keyring) Adopt(o *Keyring) { k.cur.Store(o.cur.Load()) }
