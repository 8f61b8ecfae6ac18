package dbtrust_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/seal"
	"github.com/dbtrust/dbtrust/internal/sqlite"
	"github.com/google/uuid"
)

// BenchmarkCAFetchFleet fetches instance CA bundles through the Service
// from a SQLite store of DBTRUST_BENCH_FLEET instances (default 10000),
// written straight into the store in batches (placeholder certificates of
// a real certificate's size): the hot instance, and random instances among
// the fleet, which the read cache (--cache-size, default) mostly cannot
// hold when the fleet is large. It reports the process's CPU per fetch,
// which a loaded machine disturbs less than time, its RSS and its live heap
// (which holds the fleet's IDs, about 70 MB for a million).
// DBTRUST_BENCH_FLEET_DB keeps the store at that path between runs.
func BenchmarkCAFetchFleet(b *testing.B) {
	n := 10000
	if v := os.Getenv("DBTRUST_BENCH_FLEET"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	path := os.Getenv("DBTRUST_BENCH_FLEET_DB")
	if path == "" {
		path = filepath.Join(b.TempDir(), "fleet.db")
	}
	svc, p, ids := fleet(b, path, n)
	ctx := context.Background()
	fetch := func(b *testing.B, pick func(r *rand.Rand) string) {
		start := cpuTime()
		b.RunParallel(func(pb *testing.PB) {
			r := rand.New(rand.NewPCG(rand.Uint64(), 2))
			for pb.Next() {
				if _, err := svc.InstanceCABundle(ctx, p, pick(r)); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64((cpuTime()-start).Microseconds())/float64(b.N), "cpu-µs/op")
		b.ReportMetric(float64(rssKB())/1024, "rss-MB")
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "live-heap-MB")
	}
	b.Run("hot", func(b *testing.B) { fetch(b, func(*rand.Rand) string { return ids[0] }) })
	random := func(r *rand.Rand) string { return ids[r.IntN(len(ids))] }
	b.Run(fmt.Sprintf("random-among-%d", n), func(b *testing.B) { fetch(b, random) })
	// Every fetch a miss: the store's point query and the entry's making.
	svc = dbtrust.NewService(svc.Store(), svc.Sealer(), dbtrust.Options{CacheTTL: -1})
	b.Run(fmt.Sprintf("uncached-among-%d", n), func(b *testing.B) { fetch(b, random) })
}

// fleet opens (filling it when new) a store of n instances in one account
// and returns a Service over it, the account's owner and the instance IDs.
func fleet(b *testing.B, path string, n int) (*dbtrust.Service, dbtrust.Principal, []string) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	sealer, err := seal.New(make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	svc := dbtrust.NewService(st, sealer, dbtrust.Options{})
	accts, err := st.ListAccounts(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var a dbtrust.Account
	if len(accts) == 0 {
		if a, _, err = svc.CreateAccount(ctx, "fleet"); err != nil {
			b.Fatal(err)
		}
		fillFleet(b, st, a.ID, n)
	} else {
		a = accts[0]
	}
	var ids []string
	rows, err := st.SQL().QueryContext(ctx, `SELECT id FROM instances ORDER BY id`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	if len(ids) != n {
		b.Fatalf("the store at %s holds %d instances, want %d", path, len(ids), n)
	}
	return svc, dbtrust.Principal{AccountID: a.ID, Subject: "bench", Role: dbtrust.RoleOwner}, ids
}

func fillFleet(b *testing.B, st *sqlite.Store, accountID string, n int) {
	ctx := context.Background()
	pad := make([]byte, 520) // a P-256 CA certificate's DER is about this long
	now := time.Now().UTC()
	for done := 0; done < n; {
		batch := make([]dbtrust.NewInstance, min(5000, n-done))
		for i := range batch {
			id := uuid.NewString()
			for j := range pad {
				pad[j] = byte(rand.Uint32())
			}
			pem := "-----BEGIN CERTIFICATE-----\n" + strings.TrimSpace(base64.StdEncoding.EncodeToString(pad)) + "\n-----END CERTIFICATE-----\n"
			batch[i] = dbtrust.NewInstance{
				Instance: dbtrust.Instance{ID: id, AccountID: accountID, Name: "i" + strconv.Itoa(done+i), Engine: dbtrust.EnginePostgres,
					Version: "16", Region: "nyc1", Size: "s", NumNodes: 1, TLS: true, Status: "online", CreatedAt: now},
				CA: dbtrust.CA{ID: uuid.NewString(), InstanceID: id, AccountID: accountID, State: dbtrust.CACurrent, KeyType: "ecdsa-p256",
					CertPEM: []byte(pem), SealedKey: pad[:150], Serial: id[:16], Fingerprint: uuid.NewString() + uuid.NewString(),
					NotBefore: now, NotAfter: now.AddDate(10, 0, 0), CreatedAt: now},
			}
		}
		if err := st.CreateInstances(ctx, batch, nil); err != nil {
			b.Fatal(err)
		}
		done += len(batch)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func rssKB() int {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}
