package dbtrust

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Event types a webhook may subscribe to.
const (
	EventCAExpiring       = "ca.expiring"            // an instance CA crossed one of the webhook's expiry thresholds
	EventCertExpiring     = "certificate.expiring"   // an issued certificate did
	EventRotationStage    = "rotation.stage_changed" // a rotation started, finished, rolled back or retired its previous CA
	EventCertRevoked      = "certificate.revoked"    // an issued certificate was revoked
	EventAdoptionComplete = "adoption.complete"      // every known client of an instance holds the next CA
)

// EventTypes lists every event type, in documentation order.
var EventTypes = []string{EventCAExpiring, EventCertExpiring, EventRotationStage, EventCertRevoked, EventAdoptionComplete}

// DefaultExpiryDays are the expiry thresholds of a webhook that names none.
var DefaultExpiryDays = []int{30, 7, 1}

// Webhook is an account's subscription to events: they are POSTed to URL,
// signed with HMAC-SHA256 under the secret, which is kept sealed.
type Webhook struct {
	ID           string // UUID
	AccountID    string
	URL          string
	SealedSecret []byte
	Events       []string // subscribed event types
	ExpiryDays   []int    // days before expiry at which expiring events fire, largest first
	CreatedAt    time.Time
}

// Subscribes reports whether w wants events of type typ.
func (w Webhook) Subscribes(typ string) bool { return slices.Contains(w.Events, typ) }

// Event is one notification, written to the outbox in the same transaction
// as the change that causes it.
type Event struct {
	ID        string // UUID; receivers use it to refuse replays and duplicates
	AccountID string
	Type      string
	Data      map[string]any // the event's subject (instance, CA, certificate, stage ...)
	CreatedAt time.Time
	// DedupKey, when set, makes the event happen once: publishing it again
	// (from another replica, or a later scan) does nothing.
	DedupKey string
	// Webhook, when set, limits the event to that webhook (expiry events,
	// whose thresholds are per webhook); otherwise every webhook of the
	// account subscribed to Type gets it.
	Webhook string
}

// WebhookSpec is what an admin registers.
type WebhookSpec struct {
	URL        string
	Secret     string   // "" makes one, returned once
	Events     []string // nil: every event type
	ExpiryDays []int    // nil: DefaultExpiryDays
}

// webhookSecretPrefix starts the secrets dbtrust makes.
const webhookSecretPrefix = "whsec_"

func webhookAAD(w Webhook) []byte { return []byte("webhook-secret:" + w.ID + ":" + w.AccountID) }

// CreateWebhook registers a webhook in p's account (admins only) and returns
// it with its secret, which is shown only now.
func (s *Service) CreateWebhook(ctx context.Context, p Principal, spec WebhookSpec) (Webhook, string, error) {
	if err := Require(p, RoleAdmin); err != nil {
		return Webhook{}, "", err
	}
	w, secret, err := validateWebhook(spec)
	if err != nil {
		return Webhook{}, "", err
	}
	w.ID, w.AccountID, w.CreatedAt = uuid.NewString(), p.AccountID, s.now()
	if w.SealedSecret, err = s.sealer.Seal([]byte(secret), webhookAAD(w)); err != nil {
		return Webhook{}, "", Wrap(Internal, err, "secret sealing failed")
	}
	actx, done := s.Audited(ctx, p, "webhook.create", "webhook/"+w.ID)
	err = done(s.store.CreateWebhook(actx, w))
	if err != nil {
		return Webhook{}, "", err
	}
	return w, secret, nil
}

func validateWebhook(spec WebhookSpec) (Webhook, string, error) {
	if err := validWebhookURL(spec.URL); err != nil {
		return Webhook{}, "", err
	}
	secret := spec.Secret
	if secret == "" {
		b := make([]byte, 32)
		rand.Read(b)
		secret = webhookSecretPrefix + base64.RawURLEncoding.EncodeToString(b)
	} else if len(secret) < 16 || len(secret) > 256 || strings.TrimSpace(secret) != secret {
		return Webhook{}, "", FieldError("secret", "secret must be 16 to 256 characters without surrounding spaces (or leave it out and dbtrust makes one)")
	}
	events := spec.Events
	if events == nil {
		events = EventTypes
	}
	var evs []string
	for _, e := range events {
		if !slices.Contains(EventTypes, e) {
			return Webhook{}, "", FieldError("events", "unknown event %q: events are %s", e, strings.Join(EventTypes, ", "))
		}
		if !slices.Contains(evs, e) {
			evs = append(evs, e)
		}
	}
	if len(evs) == 0 {
		return Webhook{}, "", FieldError("events", "a webhook needs at least one event")
	}
	days := spec.ExpiryDays
	if days == nil {
		days = DefaultExpiryDays
	}
	if len(days) == 0 || len(days) > 10 {
		return Webhook{}, "", FieldError("expiry_days", "expiry_days must list 1 to 10 thresholds, such as [30, 7, 1]")
	}
	var ds []int
	for _, d := range days {
		if d < 1 || d > 365 {
			return Webhook{}, "", FieldError("expiry_days", "each expiry threshold must be 1 to 365 days")
		}
		if !slices.Contains(ds, d) {
			ds = append(ds, d)
		}
	}
	slices.Sort(ds)
	slices.Reverse(ds)
	return Webhook{URL: spec.URL, Events: evs, ExpiryDays: ds}, secret, nil
}

// validWebhookURL accepts https URLs, and http ones only to a loopback
// address (a receiver on the same machine, as in CI): an event names
// instances and certificates, and its signature proves only who sent it,
// not who read it on the way.
func validWebhookURL(raw string) error {
	bad := func(why string) error { return FieldError("url", "url %s", why) }
	if len(raw) > 2048 {
		return bad("must be at most 2048 characters")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "":
		return bad("must be an absolute URL such as https://hooks.example.com/dbtrust")
	case u.User != nil:
		return bad("must not carry a user name or password: authenticate the receiver by the signature")
	case u.Fragment != "":
		return bad("must not have a #fragment")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopbackHost(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return bad("must use https (plain http only to a loopback address such as 127.0.0.1)")
	}
	return bad("must be an http(s) URL")
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// ListWebhooks returns the webhooks of p's account (admins only).
func (s *Service) ListWebhooks(ctx context.Context, p Principal) ([]Webhook, error) {
	if err := Require(p, RoleAdmin); err != nil {
		return nil, err
	}
	return s.store.ListWebhooks(ctx, p.AccountID)
}

// DeleteWebhook removes one of p's webhooks with its pending deliveries
// (admins only).
func (s *Service) DeleteWebhook(ctx context.Context, p Principal, id string) error {
	if err := Require(p, RoleAdmin); err != nil {
		return err
	}
	if !ValidID(id) {
		return Errorf(NotFound, "no such webhook")
	}
	actx, done := s.Audited(ctx, p, "webhook.delete", "webhook/"+id)
	return done(s.store.DeleteWebhook(actx, p.AccountID, id))
}

// WebhookDeliveries returns the delivery log of one of p's webhooks, newest
// first, at most limit (admins only).
func (s *Service) WebhookDeliveries(ctx context.Context, p Principal, id string, limit int) ([]Delivery, error) {
	if err := Require(p, RoleAdmin); err != nil {
		return nil, err
	}
	if !ValidID(id) {
		return nil, Errorf(NotFound, "no such webhook")
	}
	if err := checkAuditLimit(limit); err != nil {
		return nil, err
	}
	if _, err := s.store.GetWebhook(ctx, p.AccountID, id); err != nil {
		return nil, err
	}
	return s.store.ListDeliveries(ctx, p.AccountID, id, limit)
}
