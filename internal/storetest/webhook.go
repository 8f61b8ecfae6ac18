package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/google/uuid"
)

func newWebhook(accountID string, events ...string) dbtrust.Webhook {
	return dbtrust.Webhook{ID: uuid.NewString(), AccountID: accountID, URL: "https://hooks.example/" + accountID,
		SealedSecret: []byte{1, 2, 3}, Events: events, ExpiryDays: []int{30, 7, 1}, CreatedAt: Later()}
}

func newEvent(accountID, typ string) dbtrust.Event {
	return dbtrust.Event{ID: uuid.NewString(), AccountID: accountID, Type: typ, Data: map[string]any{"k": "v"}, CreatedAt: Time}
}

// testWebhooks checks the outbox: fan-out to subscribed webhooks only,
// targeted events, dedup keys, claims, attempts and the delivery log.
func testWebhooks(t *testing.T, s dbtrust.Store) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "hooks-a")
	b, _ := NewAccount(t, s, "hooks-b")
	all := newWebhook(a.ID, dbtrust.EventTypes...)
	revoked := newWebhook(a.ID, dbtrust.EventCertRevoked)
	other := newWebhook(b.ID, dbtrust.EventTypes...)
	for _, w := range []dbtrust.Webhook{all, revoked, other} {
		must(t, s.CreateWebhook(ctx, w))
	}
	got, err := s.GetWebhook(ctx, a.ID, revoked.ID)
	must(t, err)
	if got.URL != revoked.URL || len(got.Events) != 1 || len(got.ExpiryDays) != 3 || string(got.SealedSecret) != "\x01\x02\x03" {
		t.Fatalf("GetWebhook = %+v, want %+v", got, revoked)
	}
	_, err = s.GetWebhook(ctx, b.ID, revoked.ID)
	wantCode(t, "GetWebhook(other account)", err, dbtrust.NotFound)

	stage := newEvent(a.ID, dbtrust.EventRotationStage) // to `all` only
	rev := newEvent(a.ID, dbtrust.EventCertRevoked)     // to both of a's
	target := newEvent(a.ID, dbtrust.EventCAExpiring)   // to `revoked` only, whatever it subscribes
	target.Webhook, target.DedupKey = revoked.ID, "expiring:x"
	must(t, s.PublishEvents(ctx, []dbtrust.Event{stage, rev, target}))
	again := newEvent(a.ID, dbtrust.EventCAExpiring)
	again.Webhook, again.DedupKey = revoked.ID, "expiring:x"
	must(t, s.PublishEvents(ctx, []dbtrust.Event{again})) // already published: nothing
	counts := map[string]int{}
	for _, w := range []dbtrust.Webhook{all, revoked} {
		ds, err := s.ListDeliveries(ctx, a.ID, w.ID, 100)
		must(t, err)
		counts[w.ID] = len(ds)
	}
	if counts[all.ID] != 2 || counts[revoked.ID] != 2 {
		t.Fatalf("deliveries per webhook = %v, want 2 and 2", counts)
	}
	ds, err := s.ListDeliveries(ctx, b.ID, all.ID, 100)
	must(t, err)
	if len(ds) != 0 {
		t.Fatalf("ListDeliveries(other account) = %d, want none", len(ds))
	}

	// Claims: concurrent claimers share the four deliveries out, once each.
	now := Time.Add(time.Second)
	var mu sync.Mutex
	claimed := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cs, err := s.ClaimDeliveries(ctx, now, time.Minute, 2)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, c := range cs {
				claimed[c.ID]++
				if c.Attempts != 1 || c.URL == "" || c.Event.ID != c.EventID || c.Event.Data["k"] != "v" {
					t.Errorf("claim = %+v", c)
				}
			}
		}()
	}
	wg.Wait()
	if len(claimed) != 4 {
		t.Fatalf("claimed %d deliveries, want 4", len(claimed))
	}
	for id, n := range claimed {
		if n != 1 {
			t.Fatalf("delivery %s claimed %d times", id, n)
		}
	}
	cs, err := s.ClaimDeliveries(ctx, now, time.Minute, 10)
	must(t, err)
	if len(cs) != 0 {
		t.Fatalf("claims while leased = %d, want 0", len(cs))
	}
	// A failed attempt waits for its next time; a lease that ran out is claimable.
	var first string
	for id := range claimed {
		first = id
		break
	}
	must(t, s.RecordAttempt(ctx, dbtrust.Attempt{DeliveryID: first, Number: 1, At: now, Status: 500, Error: "HTTP 500"},
		dbtrust.DeliveryPending, now.Add(time.Hour)))
	cs, err = s.ClaimDeliveries(ctx, now.Add(2*time.Minute), time.Minute, 10)
	must(t, err)
	if len(cs) != 3 {
		t.Fatalf("claims after the leases ran out = %d, want the 3 not waiting", len(cs))
	}
	for _, c := range cs {
		must(t, s.RecordAttempt(ctx, dbtrust.Attempt{DeliveryID: c.ID, Number: c.Attempts, At: now, Status: 200}, dbtrust.DeliveryDelivered, time.Time{}))
	}
	cs, err = s.ClaimDeliveries(ctx, now.Add(time.Hour), time.Minute, 10)
	must(t, err)
	if len(cs) != 1 || cs[0].ID != first || cs[0].Attempts != 2 {
		t.Fatalf("claims an hour later = %+v, want the failed one at its second attempt", cs)
	}

	must(t, s.DeleteWebhook(ctx, a.ID, all.ID))
	wantCode(t, "DeleteWebhook(again)", s.DeleteWebhook(ctx, a.ID, all.ID), dbtrust.NotFound)
	wantCode(t, "DeleteWebhook(other account)", s.DeleteWebhook(ctx, b.ID, revoked.ID), dbtrust.NotFound)
	list, err := s.ListWebhooks(ctx, "")
	must(t, err)
	if len(list) != 2 {
		t.Fatalf("ListWebhooks(all) = %d, want 2", len(list))
	}
}
