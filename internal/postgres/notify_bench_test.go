package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/postgres"
	"github.com/dbtrust/dbtrust/internal/storetest"
	"github.com/google/uuid"
)

// BenchmarkChangeNotice measures how long after a write commits through one
// replica the other replica's watch drops its cache: the window in which a
// cached read on the other replica can still be the old one.
//
//	go test -run '^$' -bench BenchmarkChangeNotice -benchtime 2000x ./internal/postgres
func BenchmarkChangeNotice(b *testing.B) {
	url := freshDB(b)
	var r []*postgres.Store
	for range 2 {
		s, err := postgres.Open(context.Background(), url)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		r = append(r, s)
	}
	ch := make(chan time.Time, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r[1].WatchChanges(ctx, func(dbtrust.Change) { ch <- time.Now() }) }()
	b.Cleanup(func() { cancel(); <-done })
	<-ch
	acct := dbtrust.Account{ID: uuid.NewString(), Name: "alpha", ProjectID: dbtrust.NewProjectID(), CreatedAt: time.Now()}
	if err := r[0].CreateAccount(context.Background(), acct, storetest.NewToken(acct.ID, dbtrust.RoleOwner)); err != nil {
		b.Fatal(err)
	}
	toks := make([]dbtrust.Token, b.N) // revocations send notices; creations do not
	for i := range toks {
		toks[i] = storetest.NewToken(acct.ID, dbtrust.RoleViewer)
		if err := r[0].CreateToken(context.Background(), toks[i]); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := range b.N {
		if err := r[0].RevokeToken(context.Background(), acct.ID, toks[i].ID, time.Now()); err != nil {
			b.Fatal(err)
		}
		acked := time.Now()
		lat[i] = max(0, (<-ch).Sub(acked)) // 0: the notice beat the writer's acknowledgement
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
