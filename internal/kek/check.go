package kek

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/seal"
)

// ErrMismatch is the error of Check when the keys a process holds are not
// the ones the store's values are sealed under.
var ErrMismatch = errors.New("the key-encryption key does not match the store")

// Keys are the KEKs a process was given: its key (--kek-file and its
// alternatives) and, around a rotation, the new key.
type Keys struct {
	Primary *seal.AESGCM
	New     *seal.AESGCM // nil unless given
	// PrimaryFrom and NewFrom say where each came from, for messages.
	PrimaryFrom, NewFrom string
}

// Found is what a store holds, read before anything is written.
type Found struct {
	Records []Record
	// Sample is one sealed value, when the store holds any.
	Sample *Sealed
}

// Holds reports whether the store has anything a KEK must open.
func (f Found) Holds() bool { return len(f.Records) > 0 || f.Sample != nil }

// Current returns the record in state st, if any.
func (f Found) Current(st State) (Record, bool) {
	for _, r := range f.Records {
		if r.State == st {
			return r, true
		}
	}
	return Record{}, false
}

// Inspect reads what the store holds; it writes nothing.
func Inspect(ctx context.Context, st Store) (Found, error) {
	var f Found
	var err error
	if f.Records, err = st.KEKs(ctx); err != nil {
		return f, err
	}
	tables, err := st.SealedTables(ctx)
	if err != nil {
		return f, err
	}
	for _, t := range tables {
		vs, err := st.SealedValues(ctx, t, "", 1)
		if err != nil {
			return f, err
		}
		if len(vs) > 0 {
			f.Sample = &vs[0]
			break
		}
	}
	return f, nil
}

// Plan is what Check decided: the keyring to use and the records to add.
type Plan struct {
	Ring *seal.Keyring
	Add  []Record
}

// Check compares keys with what the store holds and returns the plan, or an
// error wrapping ErrMismatch that names the key IDs on both sides and what to
// do. It writes nothing.
func Check(f Found, k Keys, aads AADs, now time.Time) (Plan, error) {
	held := map[string]*seal.AESGCM{k.Primary.ID(): k.Primary}
	if k.New != nil {
		held[k.New.ID()] = k.New
	}
	cur, hasCur := f.Current(Current)
	next, hasNext := f.Current(Next)
	var p Plan
	switch {
	case !hasCur && f.Sample != nil:
		// A store sealed before KEK records existed: adopt the key that
		// opens its values.
		opener, err := legacyOpener(f, k, aads)
		if err != nil {
			return p, err
		}
		cur = Record{KeyID: opener.ID()}
		if err := p.add(opener, Current, now); err != nil {
			return p, err
		}
	case !hasCur:
		cur = Record{KeyID: k.Primary.ID()}
		if err := p.add(k.Primary, Current, now); err != nil {
			return p, err
		}
	case !verifies(held[cur.KeyID], cur):
		return p, mismatch(cur.KeyID, k)
	}
	if hasNext && !verifies(held[next.KeyID], next) {
		return p, fmt.Errorf("%w: a rotation to key-encryption key %s is in progress, and this process holds %s: give the new key too (--new-kek-file, --new-kek-command or DBTRUST_NEW_KEK)",
			ErrMismatch, next.KeyID, heldIDs(k))
	}
	sealer := held[cur.KeyID]
	switch {
	case hasNext:
		sealer = held[next.KeyID]
	case k.New != nil && k.New.ID() != cur.KeyID:
		// The first process given the new key records the rotation's start;
		// from here on every value it seals is under the new key.
		if err := p.add(k.New, Next, now); err != nil {
			return p, err
		}
		sealer = k.New
	}
	var others []*seal.AESGCM
	for _, s := range held {
		others = append(others, s)
	}
	p.Ring = seal.NewKeyring(sealer, others...)
	return p, nil
}

func (p *Plan) add(s *seal.AESGCM, st State, now time.Time) error {
	r, err := NewRecord(s, st, now)
	if err == nil {
		p.Add = append(p.Add, r)
	}
	return err
}

// legacyOpener returns the held key that opens the store's sample value.
func legacyOpener(f Found, k Keys, aads AADs) (*seal.AESGCM, error) {
	aad, ok := aads[f.Sample.Table]
	if !ok {
		return nil, fmt.Errorf("kek: no binding known for sealed values of %s", f.Sample.Table)
	}
	for _, s := range []*seal.AESGCM{k.Primary, k.New} {
		if s == nil {
			continue
		}
		if _, err := s.Open(f.Sample.Value, aad(f.Sample.Ref)); err == nil {
			return s, nil
		}
	}
	storeID := seal.SealedBy(f.Sample.Value)
	if storeID == "" {
		storeID = "unrecorded (sealed before key IDs were recorded)"
	}
	return nil, mismatch(storeID, k)
}

func mismatch(storeID string, k Keys) error {
	return fmt.Errorf("%w: the store's values are sealed under key-encryption key %s, but %s holds key %s. "+
		"Nothing was written. Give the KEK this store was made with (--kek-file, --kek-command or DBTRUST_KEK); "+
		"a data folder moved without its kek file, or a mistyped path, are the usual causes",
		ErrMismatch, storeID, k.PrimaryFrom, k.Primary.ID())
}

func heldIDs(k Keys) string {
	ids := []string{k.Primary.ID() + " (" + k.PrimaryFrom + ")"}
	if k.New != nil {
		ids = append(ids, k.New.ID()+" ("+k.NewFrom+")")
	}
	return strings.Join(ids, " and ")
}

// Apply records the plan's new KEKs. When another process recorded a KEK
// first (a race at first start, or a rotation begun elsewhere), it inspects
// the store again and checks the keys against what won.
func Apply(ctx context.Context, st Store, p Plan, k Keys, aads AADs, now time.Time) (*seal.Keyring, error) {
	for attempt := 0; ; attempt++ {
		var err error
		for _, r := range p.Add {
			if err = st.AddKEK(ctx, r); err != nil {
				break
			}
		}
		if err == nil {
			return p.Ring, nil
		}
		if dbtrust.ErrorCode(err) != dbtrust.Conflict || attempt > 2 {
			return nil, fmt.Errorf("recording the key-encryption key: %w", err)
		}
		f, ierr := Inspect(ctx, st)
		if ierr != nil {
			return nil, ierr
		}
		if p, err = Check(f, k, aads, now); err != nil {
			return nil, err
		}
	}
}
