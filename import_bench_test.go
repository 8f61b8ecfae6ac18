package dbtrust_test

import (
	"context"
	"crypto/x509/pkix"
	"fmt"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/pki"
	"github.com/dbtrust/dbtrust/internal/servicetest"
)

// BenchmarkImport measures bulk instance creation through the Service
// (validation, the CA key made, self-signed and sealed, the rows and audit
// events written to an SQLite store, 1000 per transaction), per instance,
// beside the raw crypto of the same CA on one goroutine: ECDSA P-256 key
// generation and self-signing, nothing else. Compare CPU, not time: the
// import spreads the keys over the cores.
//
//	go test -run '^$' -bench BenchmarkImport -benchtime 3000x -cpu 1 .
func BenchmarkImport(b *testing.B) {
	b.Run("import", func(b *testing.B) {
		ctx := context.Background()
		env := servicetest.New(b, dbtrust.Options{})
		p := dbtrust.Operator(env.Account.ID)
		b.ResetTimer()
		for done := 0; done < b.N; {
			n := min(dbtrust.MaxImport, b.N-done)
			specs := make([]dbtrust.InstanceSpec, n)
			for i := range specs {
				specs[i] = dbtrust.InstanceSpec{Name: fmt.Sprintf("db-%d", done+i), Engine: "pg", Tags: []string{"fleet"}}
			}
			if _, err := env.Service.ImportInstances(ctx, p, specs); err != nil {
				b.Fatal(err)
			}
			done += n
		}
	})
	b.Run("raw-keygen-selfsign", func(b *testing.B) {
		for b.Loop() {
			key, err := pki.GenerateKey(pki.ECDSAP256)
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			if _, err := pki.NewCA(pki.CARequest{Subject: pkix.Name{CommonName: "bench CA"}, Key: key, NotAfter: now.AddDate(10, 0, 0), Now: now}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
