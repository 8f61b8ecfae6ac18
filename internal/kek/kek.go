// Package kek keeps the store and the key-encryption keys (KEKs) that seal
// its secrets in step: the store records a verifier of every KEK it holds
// values under, every process checks its keys against it before it writes
// anything, and a rotation re-seals every sealed value under a new KEK in
// batches, while replicas keep serving.
//
// A store records one "current" KEK and, while a rotation runs, one "next"
// KEK. A process that holds the next key seals under it and opens values of
// both; when no value is left under the current key, the next one becomes
// current and the old one is forgotten.
package kek

import (
	"context"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/seal"
)

// State is a recorded KEK's part.
type State string

const (
	Current State = "current" // the KEK the store's values are sealed under
	Next    State = "next"    // the KEK a running rotation moves them to
)

// Record is one KEK the store holds values under.
type Record struct {
	KeyID     string
	State     State
	Verifier  []byte // verifierText sealed under the KEK, bound to the key ID
	CreatedAt time.Time
}

// Sealed is one sealed value as stored.
type Sealed struct {
	Table string   // the table (kind) holding it
	Key   string   // its row's primary key
	Ref   []string // the row's fields its binding (AAD) names, in the table's order
	Value []byte
}

// Replacement swaps one row's sealed value, only if it still holds Old.
type Replacement struct {
	Key      string
	Old, New []byte
}

// Store is what KEK management needs. The contract of dbtrust.Store holds
// (safe for concurrent use, context honoured, Codes as documented there).
type Store interface {
	// KEKs returns the recorded KEKs; none (no error) on a store whose schema
	// predates them.
	KEKs(ctx context.Context) ([]Record, error)
	// AddKEK records a KEK; Conflict when its key ID or its state is taken.
	AddKEK(ctx context.Context, r Record) error
	// PromoteKEK makes keyID the current KEK and forgets every other, in one
	// transaction; NotFound when keyID is not recorded.
	PromoteKEK(ctx context.Context, keyID string) error
	// SealedTables names the tables that hold sealed values, in a fixed
	// order; only tables that exist in the store's schema.
	SealedTables(ctx context.Context) ([]string, error)
	// SealedValues returns at most limit of the table's sealed values whose
	// key comes after after ("" for the first), in key order.
	SealedValues(ctx context.Context, table, after string, limit int) ([]Sealed, error)
	// ReplaceSealed applies the replacements in one transaction, skipping a
	// row whose value is no longer Old (changed meanwhile), and returns how
	// many it applied.
	ReplaceSealed(ctx context.Context, table string, rs []Replacement) (int, error)
	// Compact removes what the engine keeps of replaced values in its files
	// (SQLite: old page copies in the WAL and free pages), where it can.
	Compact(ctx context.Context) error
}

// AADs gives, for every table that holds sealed values, the binding (AAD)
// of a row from its Ref fields. Each capability that seals values owns its
// entry.
type AADs map[string]func(ref []string) []byte

// Sealer is what the rest of dbtrust seals with: the process's keyring.
var _ dbtrust.Sealer = (*seal.Keyring)(nil)

const verifierText = "dbtrust key-encryption key verifier"

func verifierAAD(keyID string) []byte { return []byte("kek-verifier:" + keyID) }

// NewRecord makes the record of key s in state st.
func NewRecord(s *seal.AESGCM, st State, now time.Time) (Record, error) {
	v, err := s.Seal([]byte(verifierText), verifierAAD(s.ID()))
	if err != nil {
		return Record{}, err
	}
	return Record{KeyID: s.ID(), State: st, Verifier: v, CreatedAt: now.UTC()}, nil
}

// verifies reports whether s is the KEK r records.
func verifies(s *seal.AESGCM, r Record) bool {
	if s == nil || s.ID() != r.KeyID {
		return false
	}
	pt, err := s.Open(r.Verifier, verifierAAD(r.KeyID))
	return err == nil && string(pt) == verifierText
}
