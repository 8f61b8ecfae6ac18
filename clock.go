package dbtrust

import (
	"context"
	"sync"
	"time"
)

// EmulatedClock is a clock that starts at the real time, runs with it, and
// can be moved forward (never back), so that a CI job can rehearse months of
// expiries and rotations in minutes. It is the one time source of a Service
// built with Options.EmulatedClock: new certificates' and CAs' validity,
// expiry checks, trust states, link expiry, automatic rotation, expiry
// notifications and metrics all read it. It lives in one process: replicas
// each have their own, so it is meant for a single server under test.
// It is safe for concurrent use.
type EmulatedClock struct {
	real Clock

	mu     sync.Mutex
	offset time.Duration
}

// NewEmulatedClock returns a clock that reads real (time.Now when nil) until
// it is moved.
func NewEmulatedClock(real Clock) *EmulatedClock {
	if real == nil {
		real = time.Now
	}
	return &EmulatedClock{real: real}
}

// Now returns the emulated time.
func (c *EmulatedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.real().Add(c.offset).UTC()
}

// Offset returns how far the clock is ahead of the real time.
func (c *EmulatedClock) Offset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}

// ClockMove moves an emulated clock: by Advance, or to Now. Exactly one is set.
type ClockMove struct {
	Advance time.Duration
	Now     time.Time
}

// move applies m and returns the new time. Moving backwards is refused
// (Conflict): certificates, rotations and notifications already made at a
// later time would contradict it.
func (c *EmulatedClock) move(m ClockMove) (time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	real := c.real()
	now := real.Add(c.offset)
	switch {
	case m.Advance != 0 && !m.Now.IsZero(), m.Advance == 0 && m.Now.IsZero():
		return time.Time{}, Errorf(Invalid, "give either advance (a duration such as 720h) or now (an RFC 3339 time), not both")
	case m.Advance < 0:
		return time.Time{}, FieldError("advance", "the clock only moves forward: advance must be positive")
	case m.Advance > 0:
		c.offset += m.Advance
	case m.Now.Before(now):
		return time.Time{}, Errorf(Conflict, "the clock only moves forward: %s is before the emulated time %s", m.Now.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	default:
		c.offset = m.Now.Sub(real)
	}
	return real.Add(c.offset).UTC(), nil
}

// ClockState is what GET /v1/clock reports.
type ClockState struct {
	Now    time.Time
	Offset time.Duration // how far ahead of the real time
}

// ClockEmulated reports whether the service runs on an emulated clock.
func (s *Service) ClockEmulated() bool { return s.opt.EmulatedClock != nil }

// errNoClock answers the clock calls of a service on the real clock exactly as
// a route that does not exist.
var errNoClock = Errorf(NotFound, "no such route: the clock can be read and moved only when dbtrust serves with --clock emulated")

// Clock returns the emulated time (admins only).
func (s *Service) Clock(ctx context.Context, p Principal) (ClockState, error) {
	if !s.ClockEmulated() {
		return ClockState{}, errNoClock
	}
	if err := Require(p, RoleAdmin); err != nil {
		return ClockState{}, err
	}
	c := s.opt.EmulatedClock
	return ClockState{Now: c.Now(), Offset: c.Offset()}, nil
}

// MoveClock moves the emulated clock forward (admins only), then runs this
// process's time-driven work once (automatic rotation, expiry notifications)
// so that a script which moves the clock sees its effects when the call
// returns.
func (s *Service) MoveClock(ctx context.Context, p Principal, m ClockMove) (ClockState, error) {
	if !s.ClockEmulated() {
		return ClockState{}, errNoClock
	}
	if err := Require(p, RoleAdmin); err != nil {
		return ClockState{}, err
	}
	_, err := s.opt.EmulatedClock.move(m)
	if err == nil {
		// The clock lives in memory: its move is recorded on its own.
		err = s.store.AppendAudit(ctx, s.auditEvent(p, "clock.move", "clock"))
	}
	if err != nil {
		return ClockState{}, err
	}
	if err := s.RunTimers(ctx); err != nil {
		return ClockState{}, err
	}
	return s.Clock(ctx, p)
}
