package dbtrust

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// newEvent returns an event of p's account, now.
func (s *Service) newEvent(accountID, typ string, data map[string]any) Event {
	return Event{ID: uuid.NewString(), AccountID: accountID, Type: typ, Data: data, CreatedAt: s.now()}
}

// changeEvent is the audit event of a change that publishes ev with it, in
// the same transaction.
func (s *Service) changeEvent(p Principal, action, resource string, ev ...Event) AuditEvent {
	e := s.auditEvent(p, action, resource)
	e.Events = ev
	return e
}

// rotationEvent says that the instance's rotation moved to stage.
func (s *Service) rotationEvent(p Principal, instanceID, step string, stage RotationStage, caID string) Event {
	return s.newEvent(p.AccountID, EventRotationStage, map[string]any{
		"instance_id": instanceID, "step": step, "stage": string(stage), "ca_id": caID, "by": p.Subject,
	})
}

// RunTimers does once what serve does on its timer: it applies automatic
// rotation policies and publishes the expiry events that are due.
func (s *Service) RunTimers(ctx context.Context) error {
	if _, err := s.AutoRotate(ctx); err != nil {
		return err
	}
	return s.NotifyExpiries(ctx)
}

// NotifyExpiries publishes, for every webhook subscribed to expiring events,
// one event per CA or certificate and threshold it has crossed while still
// valid (within ExpiryDays of its expiry). Each is published once, whichever
// replica sees it first and however often this runs.
func (s *Service) NotifyExpiries(ctx context.Context) error {
	hooks, err := s.store.ListWebhooks(ctx, "")
	if err != nil {
		return err
	}
	byAccount := map[string][]Webhook{}
	for _, w := range hooks {
		if w.Subscribes(EventCAExpiring) || w.Subscribes(EventCertExpiring) {
			byAccount[w.AccountID] = append(byAccount[w.AccountID], w)
		}
	}
	if len(byAccount) == 0 {
		return nil
	}
	now := s.now()
	// Only what expires within the longest threshold can be due: the store
	// reads those, not the whole fleet.
	longest := 0
	for _, hs := range byAccount {
		for _, w := range hs {
			longest = max(longest, slices.Max(append([]int{0}, w.ExpiryDays...)))
		}
	}
	list, err := s.store.Expiries(ctx, ExpiryFilter{CertsAfter: now, Before: now.Add(time.Duration(longest)*24*time.Hour + time.Second)})
	if err != nil {
		return err
	}
	var events []Event
	for _, e := range list {
		for _, w := range byAccount[e.AccountID] {
			events = append(events, s.expiryEvents(w, e, now)...)
		}
	}
	if len(events) == 0 {
		return nil
	}
	return s.store.PublishEvents(ctx, events)
}

// expiryEvents returns w's events for e: one per threshold crossed.
func (s *Service) expiryEvents(w Webhook, e Expiry, now time.Time) []Event {
	typ, idKey := EventCAExpiring, "ca_id"
	if e.Kind == "certificate" {
		typ, idKey = EventCertExpiring, "serial"
	}
	if !w.Subscribes(typ) || !now.Before(e.NotAfter) {
		return nil
	}
	var out []Event
	for _, d := range w.ExpiryDays {
		if e.NotAfter.Sub(now) > time.Duration(d)*24*time.Hour {
			continue
		}
		ev := s.newEvent(e.AccountID, typ, map[string]any{
			"instance_id": e.InstanceID, idKey: e.ID, "state": e.State, "not_after": e.NotAfter.UTC().Format(time.RFC3339),
			"threshold_days": d, "seconds_left": int64(e.NotAfter.Sub(now).Seconds()),
		})
		ev.Webhook, ev.DedupKey = w.ID, fmt.Sprintf("expiring:%s:%s:%s:%d", w.ID, e.Kind, e.ID, d)
		out = append(out, ev)
	}
	return out
}

// adoptionEvents publishes adoption.complete for each instance in list that
// is in a rotation and whose known clients all hold the next CA now: once
// per next CA.
func (s *Service) adoptionEvents(ctx context.Context, list []Adoption) error {
	seen := map[string]bool{}
	var events []Event
	for _, ad := range list {
		// Only a bundle of two CAs or more can have been served while a next
		// CA was: a flush of fetches of one-CA bundles (a fleet at rest)
		// reads nothing.
		if seen[ad.InstanceID] || len(ad.Fingerprints) < 2 {
			continue
		}
		seen[ad.InstanceID] = true
		cas, err := s.store.ListCAs(ctx, ad.AccountID, ad.InstanceID)
		if err != nil || len(cas) == 0 {
			continue // the instance is gone
		}
		by := map[CAState]CA{}
		for _, ca := range cas {
			by[ca.State] = ca
		}
		if _, ok := by[CANext]; !ok {
			continue
		}
		stored, err := s.store.ListAdoptions(ctx, ad.AccountID, ad.InstanceID)
		if err != nil {
			return err
		}
		st := rotationStatus(ad.InstanceID, by, stored, nil)
		if st.Lacking > 0 || st.Holding == 0 {
			continue
		}
		ev := s.newEvent(ad.AccountID, EventAdoptionComplete, map[string]any{
			"instance_id": ad.InstanceID, "next_ca_id": st.NewCA.ID, "next_ca_fingerprint_sha256": st.NewCA.Fingerprint, "clients": st.Holding,
		})
		ev.DedupKey = "adoption:" + st.NewCA.ID
		events = append(events, ev)
	}
	if len(events) == 0 {
		return nil
	}
	return s.store.PublishEvents(ctx, events)
}
