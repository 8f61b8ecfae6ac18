// Package ratelimit counts requests per key in fixed windows, so that a
// response can say honestly how many requests remain and when the count
// resets. With a Shared store, every process counts one budget per key and
// window together: the limit holds for a deployment, not for each replica.
package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// Shared is where processes count a window together (the database every
// replica uses).
type Shared interface {
	// ReserveRate takes up to want of the budget limit of key in the window
	// that starts at window, and returns how much it got (0 when the budget
	// is spent) and how much of the budget is taken in all, by every
	// process. It may drop the counts of windows that start before
	// expireBefore.
	ReserveRate(ctx context.Context, key string, window, expireBefore time.Time, want, limit int) (got, used int, err error)
}

// Limiter allows Limit requests per key in each Window. It is safe for
// concurrent use.
//
// Alone, it counts in memory: each process has its own budget. With a
// Shared store (WithShared), it takes the budget in shares: a process
// reserves an eighth of what is left of the window's budget, serves from it
// in memory, and reserves again when it is spent, the shares shrinking to one
// request as the budget runs out. The shares of every process never add up
// to more than Limit, so the limit is exact from above; a share a process
// holds but does not use is lost to the others until the window ends. A
// store that cannot be reached does not fail requests: the process then
// counts alone, against the whole Limit.
type Limiter struct {
	Limit  int
	Window time.Duration
	now    func() time.Time
	shared Shared
	name   string // prefixes keys in the shared store
	seed   maphash.Seed
	shards [64]shard
}

type shard struct {
	mu      sync.Mutex
	windows map[string]*window
	swept   time.Time
}

// window is one key's count in one window.
type window struct {
	mu     sync.Mutex // held across a reservation, so one request reserves for the rest
	start  time.Time
	leased int // budget this process holds for the window
	used   int // of it, used
	global int // budget taken by every process, as of the last reservation
}

// Decision is the outcome of one Allow.
type Decision struct {
	Allowed   bool
	Limit     int
	Remaining int
	Reset     time.Time // when the current window ends
}

// New returns a Limiter of limit requests per window, counted in memory.
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

// WithShared makes l count its budgets in sh, under name (which keeps the
// keys of different budgets apart there), together with every other process
// that does; it returns l.
func (l *Limiter) WithShared(sh Shared, name string) *Limiter {
	l.shared, l.name = sh, name
	return l
}

// Allow counts one request for key and says whether it is within the limit.
// ctx bounds a reservation in the shared store.
func (l *Limiter) Allow(ctx context.Context, key string) Decision {
	now := l.now()
	start := now.Truncate(l.Window)
	w := l.window(key, start, now)
	w.mu.Lock()
	defer w.mu.Unlock()
	d := Decision{Limit: l.Limit, Reset: start.Add(l.Window)}
	if l.shared == nil {
		if w.used >= l.Limit {
			return d
		}
		w.used++
		d.Allowed, d.Remaining = true, l.Limit-w.used
		return d
	}
	if w.used >= w.leased && w.global < l.Limit {
		l.reserve(ctx, key, w)
	}
	if w.used >= w.leased {
		return d
	}
	w.used++
	// What every process has taken, less what this one holds unused.
	d.Allowed, d.Remaining = true, max(0, l.Limit-w.global+w.leased-w.used)
	return d
}

// reserve takes a share of the window's budget from the shared store.
func (l *Limiter) reserve(ctx context.Context, key string, w *window) {
	want := max(1, (l.Limit-w.global)/8)
	got, global, err := l.shared.ReserveRate(ctx, l.name+"/"+key, w.start, w.start.Add(-l.Window), want, l.Limit)
	if err != nil {
		// Count alone until the store answers again.
		if w.used < l.Limit {
			w.leased = w.used + 1
		}
		w.global = max(w.global, w.used)
		return
	}
	w.leased += got
	w.global = global
}

// window returns key's window that starts at start, making it if needed, and
// drops the shard's windows that have ended.
func (l *Limiter) window(key string, start, now time.Time) *window {
	sh := &l.shards[maphash.String(l.seed, key)%uint64(len(l.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if now.Sub(sh.swept) > l.Window {
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
	return w
}
