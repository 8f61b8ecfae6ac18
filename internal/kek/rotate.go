package kek

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dbtrust/dbtrust/internal/seal"
)

// DefaultBatch is how many values Rotate re-seals per transaction.
const DefaultBatch = 100

// Progress reports a rotation's work so far.
type Progress struct {
	Table    string `json:"table"`
	Scanned  int    `json:"scanned"`
	Resealed int    `json:"resealed"`
}

// RotateOptions tune Rotate.
type RotateOptions struct {
	Batch int // values per transaction; DefaultBatch when 0
	// Pause is a wait after each batch, to spread a rotation's writes on a
	// busy store.
	Pause time.Duration
	// OnBatch, when set, is called after each committed batch.
	OnBatch func(Progress)
}

// Rotate re-seals every sealed value of the store under the next KEK the
// store records, which ring must hold (with the current one), then makes it
// the current KEK. Each batch commits on its own: a rotation that stops
// halfway (killed, or its context ended) is resumed by running it again,
// which skips what is already under the new key. Values that replicas write
// meanwhile are caught by a last pass that must find none left.
func Rotate(ctx context.Context, st Store, ring *seal.Keyring, aads AADs, opt RotateOptions) ([]Progress, error) {
	recs, err := st.KEKs(ctx)
	if err != nil {
		return nil, err
	}
	target, ok := Found{Records: recs}.Current(Next)
	if !ok {
		return nil, errors.New("no KEK rotation is in progress: give the new key with --new-kek-file (or --new-kek-command, DBTRUST_NEW_KEK)")
	}
	newKey := ring.Key(target.KeyID)
	if newKey == nil || ring.SealingID() != target.KeyID {
		return nil, fmt.Errorf("the rotation moves to key-encryption key %s, which this process does not seal under", target.KeyID)
	}
	if opt.Batch <= 0 {
		opt.Batch = DefaultBatch
	}
	if err := checkBindings(ctx, st, aads); err != nil {
		return nil, err
	}
	var total []Progress
	for pass := 0; ; pass++ {
		progress, found, err := sweep(ctx, st, ring, newKey, aads, opt)
		total = merge(total, progress)
		if err != nil {
			return total, err
		}
		if found == 0 {
			break // a whole pass found nothing under another key
		}
		if pass >= 10 {
			return total, errors.New("values sealed under the old key keep appearing: a replica without the new key is still writing; give it the new key (SIGHUP) and run the rotation again")
		}
	}
	if err := st.PromoteKEK(ctx, target.KeyID); err != nil {
		return total, err
	}
	if err := st.Compact(ctx); err != nil {
		return total, fmt.Errorf("the rotation is done, but old copies of re-sealed values may remain in the store's files: %w", err)
	}
	return total, nil
}

// checkBindings makes sure, before anything is re-sealed, that every table
// holding sealed values has a binding to open them with.
func checkBindings(ctx context.Context, st Store, aads AADs) error {
	tables, err := st.SealedTables(ctx)
	if err != nil {
		return err
	}
	for _, t := range tables {
		if _, ok := aads[t]; ok {
			continue
		}
		vs, err := st.SealedValues(ctx, t, "", 1)
		if err != nil {
			return err
		}
		if len(vs) > 0 {
			return fmt.Errorf("this dbtrust cannot re-seal the values of %s (no binding known for them); nothing was changed", t)
		}
	}
	return nil
}

// sweep re-seals, table by table and batch by batch, every value not sealed
// under newKey, and returns how many it found.
func sweep(ctx context.Context, st Store, ring *seal.Keyring, newKey *seal.AESGCM, aads AADs, opt RotateOptions) (out []Progress, found int, err error) {
	tables, err := st.SealedTables(ctx)
	if err != nil {
		return nil, 0, err
	}
	for _, t := range tables {
		aad, ok := aads[t]
		if !ok {
			continue // empty: checkBindings saw to it
		}
		p := Progress{Table: t}
		for after := ""; ; {
			vs, err := st.SealedValues(ctx, t, after, opt.Batch)
			if err != nil {
				return out, found, err
			}
			if len(vs) == 0 {
				break
			}
			after = vs[len(vs)-1].Key
			p.Scanned += len(vs)
			rs, err := reseal(vs, ring, newKey, aad)
			if err != nil {
				return out, found, err
			}
			found += len(rs)
			if len(rs) > 0 {
				n, err := st.ReplaceSealed(ctx, t, rs)
				if err != nil {
					return out, found, err
				}
				p.Resealed += n
				if opt.OnBatch != nil {
					opt.OnBatch(p)
				}
				if err := sleep(ctx, opt.Pause); err != nil {
					return out, found, err
				}
			}
		}
		out = append(out, p)
	}
	return out, found, nil
}

func reseal(vs []Sealed, ring *seal.Keyring, newKey *seal.AESGCM, aad func([]string) []byte) ([]Replacement, error) {
	var rs []Replacement
	for _, v := range vs {
		if seal.SealedBy(v.Value) == newKey.ID() {
			continue
		}
		b := aad(v.Ref)
		pt, err := ring.Open(v.Value, b)
		if err != nil {
			return nil, fmt.Errorf("%s %s does not open under any key held (%w); nothing of it was changed", v.Table, v.Key, err)
		}
		nv, err := newKey.Seal(pt, b)
		clear(pt)
		if err != nil {
			return nil, err
		}
		rs = append(rs, Replacement{Key: v.Key, Old: v.Value, New: nv})
	}
	return rs, nil
}

func merge(total, pass []Progress) []Progress {
	if total == nil {
		return pass
	}
	for i := range total {
		for _, p := range pass {
			if p.Table == total[i].Table {
				total[i].Resealed += p.Resealed
			}
		}
	}
	return total
}

// Census counts the store's sealed values by the key ID each names ("" for
// values sealed before key IDs were recorded): a raw scan, opening nothing.
func Census(ctx context.Context, st Store) (map[string]int, error) {
	tables, err := st.SealedTables(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, t := range tables {
		for after := ""; ; {
			vs, err := st.SealedValues(ctx, t, after, 500)
			if err != nil {
				return nil, err
			}
			if len(vs) == 0 {
				break
			}
			after = vs[len(vs)-1].Key
			for _, v := range vs {
				out[seal.SealedBy(v.Value)]++
			}
		}
	}
	return out, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
