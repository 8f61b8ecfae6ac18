package dbtrust

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Delivery states.
const (
	DeliveryPending   = "pending"   // waiting for its next attempt
	DeliveryDelivered = "delivered" // a 2xx answered one attempt
	DeliveryFailed    = "failed"    // every attempt failed; no more are made
)

// Delivery is one event on its way to one webhook, and the delivery log's
// line for it.
type Delivery struct {
	ID            string
	WebhookID     string
	EventID       string
	EventType     string
	AccountID     string
	State         string
	Attempts      int
	NextAttemptAt time.Time
	LastStatus    int    // HTTP status of the last attempt; 0 when it got none
	LastError     string // what went wrong with the last attempt, in dbtrust's words
	DeliveredAt   *time.Time
	CreatedAt     time.Time
}

// Claim is a delivery a replica has leased, with what it needs to send it.
type Claim struct {
	Delivery
	Event        Event
	URL          string
	SealedSecret []byte
	WebhookAcct  string // the webhook's account, for the secret's binding
}

// Attempt is the outcome of one attempt at a delivery.
type Attempt struct {
	DeliveryID string
	Number     int // 1 for the first
	At         time.Time
	Status     int    // HTTP status; 0 when none came back
	Error      string // "" on success
	Duration   time.Duration
}

// WebhookRequest is one signed delivery, ready to POST.
type WebhookRequest struct {
	URL    string
	Body   []byte
	Header map[string]string
}

// Sender POSTs a webhook request and reports the status the receiver
// answered, or an error in plain words (it never returns the receiver's
// body). It honours ctx's deadline.
type Sender interface {
	Send(ctx context.Context, req WebhookRequest) (status int, err error)
}

// Retry schedule: after the nth failed attempt the next one waits
// retryBackoff[n-1]; after the last, the delivery has failed (about 16 hours
// after the event).
var retryBackoff = []time.Duration{30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour}

// deliveryLease is how long a claimed delivery is kept from other replicas:
// longer than a send may take (see DeliveryTimeout).
const deliveryLease = time.Minute

// DeliveryTimeout bounds one attempt.
const DeliveryTimeout = 10 * time.Second

// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the body under
// the webhook's secret.
const SignatureHeader = "X-Dbtrust-Signature"

// Sign returns the X-Dbtrust-Signature value of body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// webhookBody is the JSON a receiver gets.
type webhookBody struct {
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	AccountID string         `json:"account_id"`
	CreatedAt string         `json:"created_at"` // when the event happened
	SentAt    string         `json:"sent_at"`    // when this attempt was made: refuse old ones
	Attempt   int            `json:"attempt"`
	Data      map[string]any `json:"data"`
}

// DeliverWebhooks claims the deliveries that are due (at most limit), sends
// each with send, and records the outcome: delivered on a 2xx, otherwise
// retried on the backoff schedule. Replicas may run it at once: a claim
// leases a delivery to one of them. It returns how many it attempted.
func (s *Service) DeliverWebhooks(ctx context.Context, send Sender, limit int) (int, error) {
	claims, err := s.store.ClaimDeliveries(ctx, s.now(), deliveryLease, limit)
	if err != nil {
		return 0, err
	}
	for _, c := range claims {
		a := s.attempt(ctx, send, c)
		state, next := DeliveryDelivered, time.Time{}
		if a.Error != "" {
			state, next = DeliveryPending, s.now().Add(retryAfter(a.Number))
			if a.Number > len(retryBackoff) {
				state = DeliveryFailed
			}
			s.log.Info("webhook delivery failed", "webhook", c.WebhookID, "event", c.EventID, "attempt", a.Number, "status", a.Status, "error", a.Error)
		}
		if err := s.store.RecordAttempt(context.WithoutCancel(ctx), a, state, next); err != nil {
			return len(claims), err
		}
	}
	return len(claims), nil
}

func retryAfter(attempt int) time.Duration {
	if attempt-1 < len(retryBackoff) {
		return retryBackoff[attempt-1]
	}
	return 0
}

// attempt signs and sends one claimed delivery.
func (s *Service) attempt(ctx context.Context, send Sender, c Claim) Attempt {
	start := s.now()
	a := Attempt{DeliveryID: c.ID, Number: c.Attempts, At: start}
	secret, err := s.sealer.Open(c.SealedSecret, webhookAAD(Webhook{ID: c.WebhookID, AccountID: c.WebhookAcct}))
	if err != nil {
		s.log.Error("webhook secret does not open", "webhook", c.WebhookID, "err", err)
		a.Error = "the webhook's secret could not be opened (was the key-encryption key changed?)"
		return a
	}
	body, err := json.Marshal(webhookBody{ID: c.Event.ID, Type: c.Event.Type, AccountID: c.Event.AccountID,
		CreatedAt: c.Event.CreatedAt.UTC().Format(time.RFC3339Nano), SentAt: start.Format(time.RFC3339Nano),
		Attempt: c.Attempts, Data: c.Event.Data})
	if err != nil {
		a.Error = "the event could not be encoded"
		return a
	}
	req := WebhookRequest{URL: c.URL, Body: body, Header: map[string]string{
		"Content-Type":        "application/json",
		SignatureHeader:       Sign(secret, body),
		"X-Dbtrust-Event":     c.Event.Type,
		"X-Dbtrust-Event-Id":  c.Event.ID,
		"X-Dbtrust-Delivery":  c.ID,
		"X-Dbtrust-Timestamp": fmt.Sprint(start.Unix()),
	}}
	clear(secret)
	sctx, cancel := context.WithTimeout(ctx, DeliveryTimeout)
	defer cancel()
	real := time.Now()
	a.Status, err = send.Send(sctx, req)
	a.Duration = time.Since(real)
	switch {
	case err != nil:
		a.Error = err.Error()
	case a.Status < 200 || a.Status > 299:
		a.Error = fmt.Sprintf("the receiver answered HTTP %d", a.Status)
	}
	return a
}
