package dbtrust_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/servicetest"
)

// BenchmarkInstanceCABundle measures the cached CA fetch, which now also
// counts the fetch in memory (no store write), from parallel callers: as one
// principal (all updating one record) and as 1,000 principals.
//
//	go test -run '^$' -bench BenchmarkInstanceCABundle -cpu 1,2 .
func BenchmarkInstanceCABundle(b *testing.B) {
	se := servicetest.New(b, dbtrust.Options{})
	ctx := context.Background()
	inst, err := se.Service.CreateInstance(ctx, se.Owner(), dbtrust.InstanceSpec{Name: "orders", Engine: "pg"})
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1, 1000} {
		ps := make([]dbtrust.Principal, n)
		for i := range ps {
			ps[i] = dbtrust.Principal{AccountID: se.Account.ID, Role: dbtrust.RoleViewer, Subject: fmt.Sprintf("token:%016x", i)}
		}
		b.Run(fmt.Sprintf("principals=%d", n), func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, err := se.Service.InstanceCABundle(ctx, ps[i%n], inst.ID); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		})
	}
}
