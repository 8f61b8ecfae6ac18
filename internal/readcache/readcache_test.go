package readcache

import (
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a settable clock for TTL tests.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func put(c *Cache[int], k string, v int) {
	_, gen, _ := c.Get(k)
	c.Put(k, v, gen)
}

func TestSizeBoundHolds(t *testing.T) {
	for _, size := range []int{1, 5, 63, 64, 100, 1000} {
		c := New[int](size, time.Hour, time.Now)
		for i := range 20 * size {
			put(c, strconv.Itoa(i), i)
			put(c, strconv.Itoa(i), i) // the second miss admits it into a full shard
			if n := c.Stats().Entries; n > size {
				t.Fatalf("size %d: %d entries after %d puts", size, n, i+1)
			}
		}
		st := c.Stats()
		if st.Entries == 0 || st.Evictions == 0 {
			t.Errorf("size %d: entries %d, evictions %d; want some of both", size, st.Entries, st.Evictions)
		}
	}
}

func TestTTL(t *testing.T) {
	var clk clock
	c := New[int](10, time.Second, clk.now)
	put(c, "a", 1)
	if v, _, ok := c.Get("a"); !ok || v != 1 {
		t.Fatalf("Get = %d, %v; want 1, true", v, ok)
	}
	clk.advance(999 * time.Millisecond)
	if _, _, ok := c.Get("a"); !ok {
		t.Fatal("entry gone before its TTL")
	}
	clk.advance(time.Millisecond)
	if _, _, ok := c.Get("a"); ok {
		t.Fatal("entry served at its TTL")
	}
}

// An expired entry is the first to go when the shard is full, before an
// unread live one.
func TestExpiredEvictedFirst(t *testing.T) {
	var clk clock
	c := New[int](2, time.Second, clk.now) // two shards of one
	c.shards = c.shards[:1]                // one shard of one, to know where keys land
	c.shards[0].size = 2
	put(c, "old", 1)
	clk.advance(2 * time.Second)
	put(c, "live", 2)
	put(c, "new", 3) // missed once: not admitted into the full shard
	put(c, "new", 3)
	if _, _, ok := c.Get("live"); !ok {
		t.Error("a live entry was evicted while an expired one stayed")
	}
	if st := c.Stats(); st.Expired != 1 || st.Evictions != 0 {
		t.Errorf("expired %d, evicted %d; want 1, 0", st.Expired, st.Evictions)
	}
}

// CLOCK gives an entry read since the hand last passed a second chance.
func TestSecondChance(t *testing.T) {
	c := New[int](1, time.Hour, time.Now)
	c.shards[0].size = 3
	put(c, "a", 1)
	put(c, "b", 2)
	put(c, "c", 3)
	c.Get("a")
	put(c, "d", 4)
	put(c, "d", 4) // the second miss admits d, evicting b: a was read
	if _, _, ok := c.Get("a"); !ok {
		t.Error("the entry read lately was evicted")
	}
	if _, _, ok := c.Get("b"); ok {
		t.Error("the unread entry stayed")
	}
}

// A key missed once does not displace an entry of a full shard; missed
// again soon, it does.
func TestAdmission(t *testing.T) {
	c := New[int](1, time.Hour, time.Now)
	put(c, "a", 1)
	put(c, "b", 2)
	if _, _, ok := c.Get("a"); !ok {
		t.Fatal("a key missed once displaced the entry of a full shard")
	}
	put(c, "b", 2)
	if _, _, ok := c.Get("b"); !ok {
		t.Fatal("a key missed twice was not admitted")
	}
}

func TestInvalidateByKey(t *testing.T) {
	c := New[int](100, time.Hour, time.Now)
	put(c, "a", 1)
	put(c, "b", 2)
	c.Invalidate("a", Notice)
	if _, _, ok := c.Get("a"); ok {
		t.Error("invalidated entry still served")
	}
	if _, _, ok := c.Get("b"); !ok {
		t.Error("another key's entry was dropped")
	}
	c.InvalidateAll(Unknown)
	if _, _, ok := c.Get("b"); ok {
		t.Error("entry served after InvalidateAll")
	}
	st := c.Stats()
	if st.Invalidations[Notice] != 1 || st.Invalidations[Unknown] != 1 || st.Entries != 0 {
		t.Errorf("stats %+v", st)
	}
}

// A read that raced with an invalidation of its key does not store what it
// read: the value may predate the change.
func TestPutAfterInvalidationIsDropped(t *testing.T) {
	c := New[int](100, time.Hour, time.Now)
	_, gen, _ := c.Get("a") // miss; the caller reads the source now...
	c.Invalidate("a", Change)
	c.Put("a", 1, gen) // ...and stores what it read before the change
	if _, _, ok := c.Get("a"); ok {
		t.Error("a value read before an invalidation was stored")
	}
	_, gen, _ = c.Get("a")
	c.InvalidateAll(Unknown)
	c.Put("a", 1, gen)
	if _, _, ok := c.Get("a"); ok {
		t.Error("a value read before InvalidateAll was stored")
	}
}

// Under concurrent readers, writers and invalidations (go test -race), a
// reader that sees the source's version n after an invalidation never gets
// an older one from the cache afterwards.
func TestConcurrentNeverServesStale(t *testing.T) {
	c := New[int64](64, time.Hour, time.Now)
	var versions [16]atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for k := range versions { // writers: change the source, then invalidate
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				versions[k].Add(1)
				c.Invalidate(strconv.Itoa(k), Change)
			}
		}()
	}
	var stale atomic.Int64
	for range 4 { // readers: read through the cache
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				k := rand.IntN(len(versions))
				// The change before floor was invalidated before this
				// read began: the read may miss floor itself, not it.
				floor := versions[k].Load()
				v, gen, ok := c.Get(strconv.Itoa(k))
				if !ok {
					v = versions[k].Load()
					c.Put(strconv.Itoa(k), v, gen)
				}
				if v < floor-1 {
					stale.Add(1)
				}
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
	// Once writers stop, every cached value is the last one.
	for k := range versions {
		if v, _, ok := c.Get(strconv.Itoa(k)); ok && v != versions[k].Load() {
			t.Errorf("key %d: cached %d after the writers stopped, source %d", k, v, versions[k].Load())
		}
	}
	if n := stale.Load(); n > 0 {
		t.Errorf("%d reads served a value older than the last completed change", n)
	}
}

// BenchmarkGetParallel reads random keys among 1M through a cache of 256k
// entries from every core, filling misses as the Service does.
func BenchmarkGetParallel(b *testing.B) {
	const keys, size = 1_000_000, 256 << 10
	names := make([]string, keys)
	for i := range names {
		names[i] = strconv.Itoa(i)
	}
	c := New[int](size, time.Hour, time.Now)
	for i := range size {
		put(c, names[i], i)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(rand.Uint64(), 1))
		for pb.Next() {
			k := names[r.IntN(keys)]
			if _, gen, ok := c.Get(k); !ok {
				c.Put(k, 1, gen)
			}
		}
	})
	st := c.Stats()
	b.ReportMetric(float64(st.Hits)/float64(st.Hits+st.Misses), "hit-ratio")
	if st.Entries > size {
		b.Fatalf("%d entries, bound %d", st.Entries, size)
	}
}

// BenchmarkGetHot reads one key from every core: the hot-instance case.
func BenchmarkGetHot(b *testing.B) {
	c := New[int](1024, time.Hour, time.Now)
	put(c, "hot", 1)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Get("hot")
		}
	})
}
