package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/google/uuid"
)

// ---- webhooks ----

const webhookCols = `id, account_id, url, sealed_secret, events, expiry_days, created_at`

func scanWebhook(sc interface{ Scan(...any) error }) (dbtrust.Webhook, error) {
	var w dbtrust.Webhook
	var events, days string
	var created int64
	if err := sc.Scan(&w.ID, &w.AccountID, &w.URL, &w.SealedSecret, &events, &days, &created); err != nil {
		return w, err
	}
	w.CreatedAt = fromUS(created)
	if err := json.Unmarshal([]byte(events), &w.Events); err != nil {
		return w, fmt.Errorf("webhook %s: events: %w", w.ID, err)
	}
	if err := json.Unmarshal([]byte(days), &w.ExpiryDays); err != nil {
		return w, fmt.Errorf("webhook %s: expiry_days: %w", w.ID, err)
	}
	return w, nil
}

func (s *DB) CreateWebhook(ctx context.Context, w dbtrust.Webhook) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO webhooks (`+webhookCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			w.ID, w.AccountID, w.URL, w.SealedSecret, jsonText(w.Events), jsonText(w.ExpiryDays), us(w.CreatedAt))
		return err
	})
}

func (s *DB) GetWebhook(ctx context.Context, accountID, id string) (dbtrust.Webhook, error) {
	w, err := scanWebhook(s.db.QueryRowContext(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE account_id = $1 AND id = $2`, accountID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return w, dbtrust.Errorf(dbtrust.NotFound, "no such webhook")
	}
	return w, s.mapErr(err)
}

func (s *DB) ListWebhooks(ctx context.Context, accountID string) ([]dbtrust.Webhook, error) {
	if accountID == "" {
		return queryAll(ctx, s, scanWebhook, `SELECT `+webhookCols+` FROM webhooks ORDER BY created_at, id`)
	}
	return queryAll(ctx, s, scanWebhook, `SELECT `+webhookCols+` FROM webhooks WHERE account_id = $1 ORDER BY created_at, id`, accountID)
}

func (s *DB) DeleteWebhook(ctx context.Context, accountID, id string) error {
	return s.execOne(ctx, "no such webhook", `DELETE FROM webhooks WHERE account_id = $1 AND id = $2`, accountID, id)
}

// ---- the outbox ----

func (s *DB) PublishEvents(ctx context.Context, events []dbtrust.Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return publishEvents(ctx, tx, events) })
}

// publishEvents writes events and their deliveries in tx. An event whose
// dedup key is taken is skipped (ON CONFLICT DO NOTHING: no error, so the
// rest of the transaction goes on, on PostgreSQL too).
func publishEvents(ctx context.Context, tx *sql.Tx, events []dbtrust.Event) error {
	hooks := map[string][]dbtrust.Webhook{} // by account, read once
	for _, ev := range events {
		var dedup sql.NullString
		if ev.DedupKey != "" {
			dedup = sql.NullString{String: ev.DedupKey, Valid: true}
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO outbox (id, account_id, type, data, created_at, dedup_key) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT DO NOTHING`, ev.ID, ev.AccountID, ev.Type, jsonText(ev.Data), us(ev.CreatedAt), dedup)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			continue // published before
		}
		list, ok := hooks[ev.AccountID]
		if !ok {
			if list, err = txWebhooks(ctx, tx, ev.AccountID); err != nil {
				return err
			}
			hooks[ev.AccountID] = list
		}
		for _, w := range list {
			if ev.Webhook != "" && w.ID != ev.Webhook || ev.Webhook == "" && !w.Subscribes(ev.Type) {
				continue
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, webhook_id, event_id, account_id, state, attempts,
				next_attempt_at, lease_until, last_status, last_error, created_at) VALUES ($1, $2, $3, $4, 'pending', 0, $5, 0, 0, '', $5)`,
				uuid.NewString(), w.ID, ev.ID, ev.AccountID, us(ev.CreatedAt))
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func txWebhooks(ctx context.Context, tx *sql.Tx, accountID string) ([]dbtrust.Webhook, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE account_id = $1`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []dbtrust.Webhook
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// ---- deliveries ----

func (s *DB) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]dbtrust.Claim, error) {
	var ids []string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		ids = ids[:0]
		rows, err := tx.QueryContext(ctx, `SELECT id FROM webhook_deliveries
			WHERE state = 'pending' AND next_attempt_at <= $1 AND lease_until <= $1
			ORDER BY next_attempt_at, id LIMIT $2`+s.be.SkipLocked, us(now), limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			// Conditional again: a row leased since it was read is left alone.
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET lease_until = $1, attempts = attempts + 1
				WHERE id = $2 AND lease_until <= $3`, us(now.Add(lease)), id, us(now)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	var out []dbtrust.Claim
	for _, id := range ids {
		c, err := scanClaim(s.db.QueryRowContext(ctx, `SELECT `+claimCols+` FROM webhook_deliveries d
			JOIN outbox e ON e.id = d.event_id JOIN webhooks w ON w.id = d.webhook_id
			WHERE d.id = $1 AND d.lease_until = $2`, id, us(now.Add(lease))))
		if errors.Is(err, sql.ErrNoRows) {
			continue // another replica's, or gone
		}
		if err != nil {
			return out, s.mapErr(err)
		}
		out = append(out, c)
	}
	return out, nil
}

const deliveryCols = `d.id, d.webhook_id, d.event_id, e.type, d.account_id, d.state, d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.delivered_at, d.created_at`

const claimCols = deliveryCols + `, e.id, e.account_id, e.type, e.data, e.created_at, w.url, w.sealed_secret, w.account_id`

func scanDelivery(sc interface{ Scan(...any) error }, extra ...any) (dbtrust.Delivery, error) {
	var d dbtrust.Delivery
	var next, created int64
	var delivered sql.NullInt64
	err := sc.Scan(append([]any{&d.ID, &d.WebhookID, &d.EventID, &d.EventType, &d.AccountID, &d.State, &d.Attempts, &next,
		&d.LastStatus, &d.LastError, &delivered, &created}, extra...)...)
	d.NextAttemptAt, d.DeliveredAt, d.CreatedAt = fromUS(next), fromNullUS(delivered), fromUS(created)
	return d, err
}

func scanClaim(sc interface{ Scan(...any) error }) (dbtrust.Claim, error) {
	var c dbtrust.Claim
	var data string
	var created int64
	d, err := scanDelivery(sc, &c.Event.ID, &c.Event.AccountID, &c.Event.Type, &data, &created, &c.URL, &c.SealedSecret, &c.WebhookAcct)
	if err != nil {
		return c, err
	}
	c.Delivery, c.Event.CreatedAt = d, fromUS(created)
	if err := json.Unmarshal([]byte(data), &c.Event.Data); err != nil {
		return c, fmt.Errorf("event %s: data: %w", c.Event.ID, err)
	}
	return c, nil
}

func (s *DB) RecordAttempt(ctx context.Context, a dbtrust.Attempt, state string, next time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO webhook_attempts (delivery_id, attempt, at, status, error, duration_us)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, a.DeliveryID, a.Number, us(a.At), a.Status, a.Error, a.Duration.Microseconds())
		if err != nil {
			return err
		}
		var delivered sql.NullInt64
		if state == dbtrust.DeliveryDelivered {
			delivered = sql.NullInt64{Int64: us(a.At), Valid: true}
		}
		_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = $1, next_attempt_at = $2, lease_until = 0,
			last_status = $3, last_error = $4, delivered_at = $5 WHERE id = $6`,
			state, us(next), a.Status, a.Error, delivered, a.DeliveryID)
		return err
	})
}

func (s *DB) ListDeliveries(ctx context.Context, accountID, webhookID string, limit int) ([]dbtrust.Delivery, error) {
	return queryAll(ctx, s, func(sc interface{ Scan(...any) error }) (dbtrust.Delivery, error) { return scanDelivery(sc) },
		`SELECT `+deliveryCols+` FROM webhook_deliveries d JOIN outbox e ON e.id = d.event_id
		WHERE d.account_id = $1 AND d.webhook_id = $2 ORDER BY d.created_at DESC, d.id DESC LIMIT $3`, accountID, webhookID, limit)
}
