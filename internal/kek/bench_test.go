package kek_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/kek"
	"github.com/dbtrust/dbtrust/internal/seal"
	"github.com/dbtrust/dbtrust/internal/servicetest"
	"github.com/dbtrust/dbtrust/internal/storetest"
)

// BenchmarkRotate re-seals a SQLite store of 2,000 CA keys (PKCS#8-sized
// values) from one KEK to the next, in batches of 100, and reports values
// re-sealed per second (the compaction at the end included).
func BenchmarkRotate(b *testing.B) {
	const n = 2000
	ctx := context.Background()
	env := servicetest.New(b, dbtrust.Options{})
	key := env.Sealer
	if err := env.Store.AddKEK(ctx, mustRecord(b, key, kek.Current)); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		inst, ca := storetest.NewInstance(env.Account.ID, fmt.Sprintf("db-%04d", i))
		der := make([]byte, 138) // an ECDSA P-256 PKCS#8 key's size
		rand.Read(der)
		var err error
		if ca.SealedKey, err = key.Seal(der, dbtrust.CAKeyAAD(ca.ID)); err != nil {
			b.Fatal(err)
		}
		if err := env.Store.CreateInstance(ctx, inst, ca); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		next := servicetest.Sealer(b)
		if err := env.Store.AddKEK(ctx, mustRecord(b, next, kek.Next)); err != nil {
			b.Fatal(err)
		}
		if _, err := kek.Rotate(ctx, env.Store, seal.NewKeyring(next, key), kek.Bindings(), kek.RotateOptions{}); err != nil {
			b.Fatal(err)
		}
		key = next
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "values/s")
}

func mustRecord(b *testing.B, s *seal.AESGCM, st kek.State) kek.Record {
	r, err := kek.NewRecord(s, st, now)
	if err != nil {
		b.Fatal(err)
	}
	return r
}
