// Package ratelimit counts requests per key in fixed windows, so that a
// response can say honestly how many requests remain and when the count resets.
package ratelimit

import (
	"hash/maphash"
	"sync"
	"time"
)

// Limiter allows Limit requests per key in each Window. It is safe for
// concurrent use. Counts are per process: replicas each keep their own.
type Limiter struct {
	Limit  int
	Window time.Duration
	now    func() time.Time
	seed   maphash.Seed
	shards [64]shard
}

type shard struct {
	mu      sync.Mutex
	windows map[string]*window
	swept   time.Time
}

type window struct {
	start time.Time
	count int
}

// Decision is the outcome of one Allow.
type Decision struct {
	Allowed   bool
	Limit     int
	Remaining int
	Reset     time.Time // when the current window ends
}

// New returns a Limiter of limit requests per window.
func New(limit int, win time.Duration, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	l := &Limiter{Limit: limit, Window: win, now: now, seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].windows = map[string]*window{}
	}
	return l
}

// Allow counts one request for key and says whether it is within the limit.
func (l *Limiter) Allow(key string) Decision {
	now := l.now()
	start := now.Truncate(l.Window)
	sh := &l.shards[maphash.String(l.seed, key)%uint64(len(l.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if now.Sub(sh.swept) > l.Window { // drop windows that have ended
		for k, w := range sh.windows {
			if w.start.Before(start) {
				delete(sh.windows, k)
			}
		}
		sh.swept = now
	}
	w := sh.windows[key]
	if w == nil || w.start != start {
		w = &window{start: start}
		sh.windows[key] = w
	}
	d := Decision{Limit: l.Limit, Reset: start.Add(l.Window)}
	if w.count >= l.Limit {
		return d
	}
	w.count++
	d.Allowed, d.Remaining = true, l.Limit-w.count
	return d
}
