package dbtrust

import (
	"context"
	"sync"
	"time"
)

// Refused requests (failed authentications, denied actions) go into the
// audit log too, but a flood of them must not write a row each. Each
// replica counts them per (account, actor, action, outcome, source) and
// interval: the first of an interval is recorded at once, with Count 1; the
// rest of the interval become one more event, with their count, when the
// interval is over (FlushRefusals). Counts held in memory when a process is
// killed are lost: they record requests that changed nothing.

// DefaultRefusalInterval is how long refusals of one key are counted
// together when Options does not say.
const DefaultRefusalInterval = time.Minute

// maxRefusalKeys bounds the keys counted in one interval; beyond it,
// refusals are counted under one overflow key per action and outcome, so
// that rotating addresses cannot grow the map without end.
const maxRefusalKeys = 10000

// Actions of refused requests.
const (
	ActionAuthFailed   = "auth.failed"   // no valid credentials
	ActionAccessDenied = "access.denied" // valid credentials, not allowed
)

type refusalKey struct{ account, actor, action, resource, outcome, source string }

type refusals struct {
	mu     sync.Mutex
	start  time.Time // of the interval counted
	counts map[refusalKey]*AuditEvent
}

// Refused records a refused request: err's Code is its outcome, source the
// client's address (when known), resource what was asked for (a route, not
// an ID, so that keys stay few). For a failed authentication p is the zero
// Principal and the actor is the address. Recording never fails the caller:
// a refusal that cannot be written is logged.
func (s *Service) Refused(ctx context.Context, p Principal, source, resource string, err error) {
	k := refusalKey{account: p.AccountID, actor: p.Subject, action: ActionAccessDenied, resource: resource, outcome: string(ErrorCode(err)), source: source}
	if ErrorCode(err) == Unauthorized || p.Subject == "" {
		k.action, k.actor, k.account = ActionAuthFailed, "ip:"+source, ""
	}
	now := s.now()
	first := s.countRefusal(ctx, k, now)
	if first == nil {
		return
	}
	if err := s.store.AppendAudit(ctx, *first); err != nil {
		s.log.Warn("a refused request could not be recorded in the audit log", "action", k.action, "actor", k.actor, "err", err)
	}
}

// countRefusal counts one refusal of k at now and returns the event to write
// at once when it is the first of k in the interval.
func (s *Service) countRefusal(ctx context.Context, k refusalKey, now time.Time) *AuditEvent {
	r := &s.refusals
	r.mu.Lock()
	if r.counts == nil || now.Sub(r.start) >= s.opt.RefusalInterval {
		pending := r.take(now)
		r.mu.Unlock()
		s.writeRefusals(ctx, pending)
		r.mu.Lock()
	}
	defer r.mu.Unlock()
	if e, ok := r.counts[k]; ok {
		e.Count++
		return nil
	}
	if len(r.counts) >= maxRefusalKeys {
		k.actor, k.account, k.source, k.resource = "*", "", "*", "*"
		if e, ok := r.counts[k]; ok {
			e.Count++
			return nil
		}
	}
	r.counts[k] = &AuditEvent{Time: now, AccountID: k.account, Actor: k.actor, Action: k.action, Resource: k.resource, Outcome: k.outcome, Source: k.source}
	return &AuditEvent{Time: now, AccountID: k.account, Actor: k.actor, Action: k.action, Resource: k.resource, Outcome: k.outcome, Source: k.source, Count: 1}
}

// take ends the interval: it returns the events of the keys refused more
// than once (their count beyond the first) and starts a new interval at now.
func (r *refusals) take(now time.Time) []AuditEvent {
	var out []AuditEvent
	for _, e := range r.counts {
		if e.Count > 0 {
			ev := *e
			ev.Time = now
			out = append(out, ev)
		}
	}
	r.start, r.counts = now, map[refusalKey]*AuditEvent{}
	return out
}

// FlushRefusals writes the counts of the interval under way and starts a
// new one. serve calls it every interval and on shutdown.
func (s *Service) FlushRefusals(ctx context.Context) {
	s.refusals.mu.Lock()
	pending := s.refusals.take(s.now())
	s.refusals.mu.Unlock()
	s.writeRefusals(ctx, pending)
}

func (s *Service) writeRefusals(ctx context.Context, events []AuditEvent) {
	for _, e := range events {
		if err := s.store.AppendAudit(ctx, e); err != nil {
			s.log.Warn("refused requests could not be recorded in the audit log", "action", e.Action, "actor", e.Actor, "count", e.Count, "err", err)
		}
	}
}
