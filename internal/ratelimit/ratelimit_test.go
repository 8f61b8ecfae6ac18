package ratelimit_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust/internal/ratelimit"
)

// clock is a settable time source; tests move it by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestAllowCountsAndResets(t *testing.T) {
	t.Parallel()
	c := &clock{t: start.Add(10 * time.Second)}
	l := ratelimit.New(3, time.Minute, c.now)
	windowEnd := start.Add(time.Minute)
	steps := []struct {
		at            time.Time
		key           string
		wantAllowed   bool
		wantRemaining int
		wantReset     time.Time
	}{
		{start.Add(10 * time.Second), "a", true, 2, windowEnd},
		{start.Add(20 * time.Second), "a", true, 1, windowEnd},
		{start.Add(30 * time.Second), "b", true, 2, windowEnd}, // another key, its own budget
		{start.Add(40 * time.Second), "a", true, 0, windowEnd},
		{start.Add(50 * time.Second), "a", false, 0, windowEnd},
		{start.Add(59*time.Second + 999*time.Millisecond), "a", false, 0, windowEnd},
		{start.Add(59 * time.Second), "b", true, 1, windowEnd},
		{windowEnd, "a", true, 2, windowEnd.Add(time.Minute)}, // a new window starts afresh
		{windowEnd.Add(time.Second), "b", true, 2, windowEnd.Add(time.Minute)},
		{windowEnd.Add(10 * time.Minute), "a", true, 2, windowEnd.Add(11 * time.Minute)}, // after idle windows
	}
	for i, s := range steps {
		c.set(s.at)
		d := l.Allow(context.Background(), s.key)
		if d.Allowed != s.wantAllowed || d.Remaining != s.wantRemaining || !d.Reset.Equal(s.wantReset) || d.Limit != 3 {
			t.Errorf("step %d: Allow(%q) at %v = %+v, want allowed %v, remaining %d, reset %v, limit 3",
				i, s.key, s.at.Format(time.TimeOnly), d, s.wantAllowed, s.wantRemaining, s.wantReset.Format(time.TimeOnly))
		}
	}
}

func TestAllowManyKeysSweep(t *testing.T) {
	t.Parallel()
	c := &clock{t: start}
	l := ratelimit.New(1, time.Second, c.now)
	for i := 0; i < 1000; i++ {
		key := string(rune('a'+i%26)) + string(rune('a'+i/26))
		if d := l.Allow(context.Background(), key); !d.Allowed {
			t.Fatalf("Allow(%q) first time = %+v, want allowed", key, d)
		}
	}
	c.set(start.Add(5 * time.Second)) // every window has ended; the old ones are swept
	for i := 0; i < 1000; i++ {
		key := string(rune('a'+i%26)) + string(rune('a'+i/26))
		if d := l.Allow(context.Background(), key); !d.Allowed || d.Remaining != 0 {
			t.Fatalf("Allow(%q) in a new window = %+v, want allowed with 0 remaining", key, d)
		}
	}
}

// TestAllowConcurrent hammers one key from many goroutines: never more than
// the limit is allowed, and exactly the limit when more ask.
func TestAllowConcurrent(t *testing.T) {
	t.Parallel()
	c := &clock{t: start}
	const limit, goroutines, each = 100, 16, 50
	l := ratelimit.New(limit, time.Hour, c.now)
	var allowed, other atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if l.Allow(context.Background(), "hot").Allowed {
					allowed.Add(1)
				}
				if l.Allow(context.Background(), "cool").Allowed {
					other.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if got := allowed.Load(); got != limit {
		t.Errorf("concurrent Allow(%q) x %d allowed = %d, want %d", "hot", goroutines*each, got, limit)
	}
	if got := other.Load(); got != limit {
		t.Errorf("concurrent Allow(%q) x %d allowed = %d, want %d", "cool", goroutines*each, got, limit)
	}
}
