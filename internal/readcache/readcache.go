// Package readcache is the bounded, sharded read cache behind the Service's
// hot reads: entries live at most a TTL, each shard holds at most its share
// of the size bound and evicts with CLOCK (second chance), reads take only
// their shard's read lock, and a read that raced with an invalidation never
// stores what it read before it.
//
// It is written here rather than taken from a library because the race
// protection (Get hands out a generation, Put stores only when no
// invalidation came in between) must sit inside the shard lock, which the
// general-purpose caches do not expose.
package readcache

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// Reason says why entries were invalidated, for the metrics.
type Reason int

const (
	Change  Reason = iota // a change made through this process
	Notice                // the store's change notice named the key
	Unknown               // the store could not say what changed (first poll, gap, reconnect)
	nReasons
)

// String names r for metric labels.
func (r Reason) String() string {
	return [...]string{"change", "notice", "unknown"}[r]
}

// Stats are a cache's counters since it was made, and its size now.
type Stats struct {
	Hits, Misses, Evictions, Expired uint64
	Entries                          int
	Invalidations                    [nReasons]uint64 // by Reason: entries dropped
}

// maxShards bounds how many shards a cache has: enough that the two to
// sixteen cores a server runs on rarely meet on one lock.
const maxShards = 64

// Cache maps string keys to values of type V. It is safe for concurrent use.
type Cache[V any] struct {
	ttl    time.Duration
	now    func() time.Time
	seed   maphash.Seed
	shards []shard[V]
}

type shard[V any] struct {
	mu            sync.RWMutex
	gen           uint64 // moves at every invalidation in the shard
	index         map[string]int32
	slots         []slot[V]
	free          []int32 // slots emptied by invalidation
	hand          int     // CLOCK hand over slots
	size          int     // at most this many entries
	door          doorkeeper
	hits, misses  atomic.Uint64
	evicted, expd uint64 // under mu
	inval         [nReasons]uint64
	_             [64]byte // keeps neighbouring shards' counters apart
}

type slot[V any] struct {
	key     string
	v       V
	expires time.Time
	used    bool
	ref     atomic.Bool // read since the hand last passed
}

// New returns a cache of at most size entries (at least 1), each served for
// at most ttl by the clock now.
func New[V any](size int, ttl time.Duration, now func() time.Time) *Cache[V] {
	size = max(size, 1)
	n := min(size, maxShards)
	c := &Cache[V]{ttl: ttl, now: now, seed: maphash.MakeSeed(), shards: make([]shard[V], n)}
	for i := range c.shards {
		c.shards[i].size = size / n
		if i < size%n {
			c.shards[i].size++
		}
		c.shards[i].index = map[string]int32{}
		c.shards[i].door = newDoorkeeper(c.shards[i].size)
	}
	return c
}

func (c *Cache[V]) shard(key string) (*shard[V], uint64) {
	h := maphash.String(c.seed, key)
	return &c.shards[h%uint64(len(c.shards))], h
}

// Get returns the live entry of key, if any, and the generation to hand to
// Put after reading the value from the source.
func (c *Cache[V]) Get(key string) (v V, gen uint64, ok bool) {
	sh, _ := c.shard(key)
	now := c.now()
	sh.mu.RLock()
	gen = sh.gen
	if i, found := sh.index[key]; found {
		s := &sh.slots[i]
		if now.Before(s.expires) {
			if !s.ref.Load() { // a store only when it changes: hot keys stay in the CPU caches
				s.ref.Store(true)
			}
			v, ok = s.v, true
		}
	}
	sh.mu.RUnlock()
	if ok {
		sh.hits.Add(1)
	} else {
		sh.misses.Add(1)
	}
	return v, gen, ok
}

// Put keeps v for key unless an invalidation reached key's shard since Get
// returned gen: the value may have been read before that change. A new key
// goes into a full shard only if it was missed once already lately: reads
// spread over far more keys than the cache holds would otherwise evict an
// entry at every miss for entries that are seldom read again.
func (c *Cache[V]) Put(key string, v V, gen uint64) {
	sh, h := c.shard(key)
	now := c.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.gen != gen {
		return
	}
	i, found := sh.index[key]
	if !found {
		if len(sh.free) == 0 && len(sh.slots) >= sh.size && !sh.door.admit(h) {
			return
		}
		i = sh.alloc(now)
		sh.index[key] = i
	}
	s := &sh.slots[i]
	s.key, s.v, s.expires, s.used = key, v, now.Add(c.ttl), true
	s.ref.Store(false)
}

// alloc returns an empty slot: a freed one, a new one while the shard is
// below its size, else the first one the CLOCK hand finds expired or not
// read since it last passed. Each pass clears the bits it passes, so the
// hand moves at most twice round: O(1) amortized.
func (sh *shard[V]) alloc(now time.Time) int32 {
	if n := len(sh.free); n > 0 {
		i := sh.free[n-1]
		sh.free = sh.free[:n-1]
		return i
	}
	if len(sh.slots) < sh.size {
		sh.slots = append(sh.slots, slot[V]{})
		return int32(len(sh.slots) - 1)
	}
	for {
		i := sh.hand
		sh.hand = (sh.hand + 1) % len(sh.slots)
		s := &sh.slots[i]
		switch {
		case !now.Before(s.expires):
			sh.expd++
		case s.ref.Load():
			s.ref.Store(false)
			continue
		default:
			sh.evicted++
		}
		delete(sh.index, s.key)
		*s = slot[V]{}
		return int32(i)
	}
}

// Invalidate drops key's entry, and keeps any read under way in its shard
// from storing what it read.
func (c *Cache[V]) Invalidate(key string, r Reason) {
	sh, _ := c.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.gen++
	if i, found := sh.index[key]; found {
		delete(sh.index, key)
		sh.slots[i] = slot[V]{}
		sh.free = append(sh.free, i)
		sh.inval[r]++
	}
}

// InvalidateAll drops every entry.
func (c *Cache[V]) InvalidateAll(r Reason) {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		sh.gen++
		sh.inval[r] += uint64(len(sh.index))
		clear(sh.index)
		clear(sh.slots)
		sh.slots, sh.free, sh.hand = sh.slots[:0], sh.free[:0], 0
		sh.mu.Unlock()
	}
}

// Stats returns the cache's counters.
func (c *Cache[V]) Stats() Stats {
	var st Stats
	for i := range c.shards {
		sh := &c.shards[i]
		st.Hits += sh.hits.Load()
		st.Misses += sh.misses.Load()
		sh.mu.RLock()
		st.Evictions += sh.evicted
		st.Expired += sh.expd
		st.Entries += len(sh.index)
		for r, n := range sh.inval {
			st.Invalidations[r] += n
		}
		sh.mu.RUnlock()
	}
	return st
}

// doorkeeper remembers which keys were refused lately, in a Bloom filter
// (two probes, 16 bits a key: about 5% false admissions) that forgets
// everything once it has taken twice as many keys as its shard holds.
type doorkeeper struct {
	bits  []uint64
	mask  uint64
	added int
	reset int
}

func newDoorkeeper(size int) doorkeeper {
	reset := max(2*size, 32)
	n := 64
	for n < 8*reset {
		n *= 2
	}
	return doorkeeper{bits: make([]uint64, n/64), mask: uint64(n - 1), reset: reset}
}

// admit reports whether the key of hash h was refused since the last reset,
// and remembers it otherwise.
func (d *doorkeeper) admit(h uint64) bool {
	b1, b2 := (h>>16)&d.mask, (h>>40)&d.mask
	if d.bits[b1/64]&(1<<(b1%64)) != 0 && d.bits[b2/64]&(1<<(b2%64)) != 0 {
		return true
	}
	d.bits[b1/64] |= 1 << (b1 % 64)
	d.bits[b2/64] |= 1 << (b2 % 64)
	if d.added++; d.added >= d.reset {
		clear(d.bits)
		d.added = 0
	}
	return false
}
