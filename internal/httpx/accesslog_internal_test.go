package httpx

import (
	"testing"
	"time"
)

// TestAccessLogTime: the time of a line, formatted once a second and
// completed with the milliseconds, is what slog writes, across seconds and
// zones.
func TestAccessLogTime(t *testing.T) {
	t.Parallel()
	l := &AccessLog{}
	base := time.Date(2026, 11, 30, 23, 59, 59, 7_000_000, time.UTC)
	east := time.FixedZone("east", 5*3600+30*60)
	for _, at := range []time.Time{base, base.Add(990 * time.Millisecond), base.Add(time.Second), base.Add(time.Second).In(east), base.Add(1500 * time.Millisecond).In(east)} {
		if got, want := string(l.appendTime(nil, at)), at.Format("2006-01-02T15:04:05.000Z07:00"); got != want {
			t.Errorf("time %v written as %s, want %s", at, got, want)
		}
	}
}
