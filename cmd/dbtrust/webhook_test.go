package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust/client"
	"github.com/dbtrust/dbtrust/internal/pgtest"
)

// receiver is a real HTTP webhook receiver: it checks each delivery's
// signature under the secret, as a receiver should, and keeps what it got.
type receiver struct {
	t      *testing.T
	secret string
	srv    *httptest.Server
	delay  time.Duration
	// fail, when it returns true for an event, answers that attempt 500.
	fail func(typ string, attempt int) bool

	mu       sync.Mutex
	received []delivered
}

type delivered struct {
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	AccountID string         `json:"account_id"`
	CreatedAt time.Time      `json:"created_at"`
	SentAt    time.Time      `json:"sent_at"`
	Attempt   int            `json:"attempt"`
	Data      map[string]any `json:"data"`
	status    int
}

const receiverBody = "RECEIVER-PRIVATE-TEXT must never show up in dbtrust"

func newReceiver(t *testing.T, secret string) *receiver {
	rc := &receiver{t: t, secret: secret, fail: func(string, int) bool { return false }}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	m := hmac.New(sha256.New, []byte(rc.secret))
	m.Write(body)
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	if !hmac.Equal([]byte(r.Header.Get("X-Dbtrust-Signature")), []byte(want)) {
		rc.t.Errorf("delivery with a bad signature %q: %s", r.Header.Get("X-Dbtrust-Signature"), body)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var d delivered
	if err := json.Unmarshal(body, &d); err != nil || d.ID == "" || d.ID != r.Header.Get("X-Dbtrust-Event-Id") || d.CreatedAt.IsZero() || d.SentAt.IsZero() {
		rc.t.Errorf("delivery body %s (%v) lacks its event ID or timestamps", body, err)
	}
	time.Sleep(rc.delay)
	d.status = http.StatusOK
	if rc.fail(d.Type, d.Attempt) {
		d.status = http.StatusInternalServerError
	}
	rc.mu.Lock()
	rc.received = append(rc.received, d)
	rc.mu.Unlock()
	w.WriteHeader(d.status)
	io.WriteString(w, receiverBody)
}

// got returns the deliveries answered with status.
func (rc *receiver) got(status int) []delivered {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []delivered
	for _, d := range rc.received {
		if d.status == status {
			out = append(out, d)
		}
	}
	return out
}

// waitFor waits until cond holds on the accepted deliveries.
func (rc *receiver) waitFor(what string, cond func([]delivered) bool) {
	rc.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond(rc.got(http.StatusOK)) {
		if time.Now().After(deadline) {
			rc.t.Fatalf("webhook receiver: %s did not happen; received %+v", what, rc.got(http.StatusOK))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func countByID(ds []delivered) map[string]int {
	n := map[string]int{}
	for _, d := range ds {
		n[d.ID]++
	}
	return n
}

func ofType(ds []delivered, typ string) []delivered {
	var out []delivered
	for _, d := range ds {
		if d.Type == typ {
			out = append(out, d)
		}
	}
	return out
}

// TestWebhookDeliveries: a receiver gets each event of a rotation, an
// adoption and a revocation exactly once, signed; an attempt it fails is
// retried on schedule (moved along with the emulated clock) and then
// delivered; the delivery log says so without echoing the receiver's body.
func TestWebhookDeliveries(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-for-the-receiver-only"
	rc := newReceiver(t, secret)
	rc.fail = func(typ string, attempt int) bool { return typ == "certificate.revoked" && attempt == 1 }
	s := startServe(t, http.DefaultClient, nil, "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "d"),
		"--clock", "emulated", "--webhook-interval", "20ms", "--adoption-flush", "20ms")
	var wh client.Webhook
	call(t, s, "POST", "/v1/webhooks", s.token, fmt.Sprintf(`{"url":%q,"secret":%q}`, rc.srv.URL+"/hooks/dbtrust", secret), http.StatusCreated, &wh)
	if wh.Secret != secret {
		t.Fatalf("created webhook = %+v", wh)
	}

	var inst client.Instance
	call(t, s, "POST", "/v1/instances", s.token, `{"name":"orders","engine":"pg"}`, http.StatusCreated, &inst)
	p := "/v1/instances/" + inst.ID
	call(t, s, "POST", p+"/rotation/start", s.token, "", http.StatusOK, nil)
	call(t, s, "GET", p+"/ca-bundle", s.token, "", http.StatusOK, nil) // the one known client now holds the next CA
	rc.waitFor("adoption.complete", func(ds []delivered) bool { return len(ofType(ds, "adoption.complete")) > 0 })
	call(t, s, "POST", p+"/rotation/finish", s.token, "", http.StatusOK, nil)
	var cert client.Certificate
	call(t, s, "POST", p+"/certificates", s.token, `{"dns_names":["db.example"]}`, http.StatusCreated, &cert)
	call(t, s, "POST", p+"/certificates/"+cert.Serial+"/revoke", s.token, `{"reason":"superseded"}`, http.StatusOK, nil)

	// The failed attempt is retried 30 seconds later, by the server's clock.
	deadline := time.Now().Add(20 * time.Second)
	for len(rc.got(http.StatusInternalServerError)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the receiver never got the revocation")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(ofType(rc.got(http.StatusOK), "certificate.revoked")); n != 0 {
		t.Fatalf("the revocation was retried before its backoff: %d", n)
	}
	call(t, s, "POST", "/v1/clock", s.token, `{"advance":"31s"}`, http.StatusOK, nil)
	rc.waitFor("the retried revocation", func(ds []delivered) bool { return len(ofType(ds, "certificate.revoked")) == 1 })
	time.Sleep(300 * time.Millisecond) // room for any duplicate to arrive

	ok := rc.got(http.StatusOK)
	for id, n := range countByID(ok) {
		if n != 1 {
			t.Errorf("event %s accepted %d times, want once", id, n)
		}
	}
	stages := ofType(ok, "rotation.stage_changed")
	if len(stages) != 2 || stages[0].Data["stage"] != "started" || stages[1].Data["stage"] != "finished" || stages[0].Data["instance_id"] != inst.ID {
		t.Errorf("rotation events = %+v, want started then finished", stages)
	}
	failed, retried := rc.got(http.StatusInternalServerError), ofType(ok, "certificate.revoked")
	if len(failed) != 1 || failed[0].ID != retried[0].ID || retried[0].Attempt != 2 || retried[0].Data["serial"] != cert.Serial {
		t.Errorf("revocation: failed %+v then accepted %+v, want the same event, attempt 2", failed, retried)
	}
	if len(ofType(ok, "adoption.complete")) != 1 {
		t.Errorf("adoption.complete accepted %d times, want once", len(ofType(ok, "adoption.complete")))
	}

	raw := call(t, s, "GET", "/v1/webhooks/"+wh.ID+"/deliveries", s.token, "", http.StatusOK, nil)
	if strings.Contains(string(raw), "RECEIVER-PRIVATE-TEXT") {
		t.Fatalf("the delivery log echoes the receiver's body: %s", raw)
	}
	var log client.DeliveryList
	json.Unmarshal(raw, &log)
	for _, d := range log.Deliveries {
		if d.State != "delivered" || d.LastStatus != 200 || (d.EventType == "certificate.revoked") != (d.Attempts == 2) {
			t.Errorf("delivery log line %+v, want delivered (the revocation at its second attempt)", d)
		}
	}
	if len(log.Deliveries) != 4 {
		t.Errorf("delivery log has %d lines, want 4: %+v", len(log.Deliveries), log.Deliveries)
	}

	// The same through the CLI, and the clock it moved.
	remote := []string{"--server", s.url, "--token", s.token}
	var cliLog client.DeliveryList
	cliJSON(t, &cliLog, append([]string{"webhook", "deliveries", wh.ID}, remote...)...)
	if len(cliLog.Deliveries) != 4 {
		t.Errorf("dbtrust webhook deliveries = %d lines, want 4", len(cliLog.Deliveries))
	}
	if out := cli(t, append([]string{"webhook", "list"}, remote...)...); !strings.Contains(out, wh.ID) || strings.Contains(out, secret) {
		t.Errorf("dbtrust webhook list:\n%s\nwant the webhook, without its secret", out)
	}
	if out := cli(t, append([]string{"clock", "advance", "1h"}, remote...)...); !strings.Contains(out, "1h0m31s") {
		t.Errorf("dbtrust clock advance 1h:\n%s\nwant the clock 1h0m31s ahead", out)
	}
	cli(t, append([]string{"webhook", "delete", wh.ID}, remote...)...)
	call(t, s, "GET", "/v1/webhooks/"+wh.ID+"/deliveries", s.token, "", http.StatusNotFound, nil)
}

// TestWebhookReplicasSendOnce: two replicas on one PostgreSQL database
// deliver the same outbox; every event reaches the receiver exactly once.
func TestWebhookReplicasSendOnce(t *testing.T) {
	t.Parallel()
	pg := pgtest.FreshDB(t)
	kek := filepath.Join(t.TempDir(), "kek")
	const secret = "shared-secret-of-both-replicas"
	rc := newReceiver(t, secret)
	rc.delay = 20 * time.Millisecond // so that the replicas' claims overlap
	args := func() []string {
		return []string{"serve", "--addr", "127.0.0.1:0", "--store", pg, "--kek-file", kek, "--data", t.TempDir(), "--webhook-interval", "5ms"}
	}
	a := startServe(t, http.DefaultClient, nil, args()...)
	b := startServe(t, http.DefaultClient, nil, args()...)
	b.token = a.token
	call(t, a, "POST", "/v1/webhooks", a.token, fmt.Sprintf(`{"url":%q,"secret":%q,"events":["certificate.revoked","rotation.stage_changed"]}`, rc.srv.URL, secret), http.StatusCreated, nil)
	var inst client.Instance
	call(t, a, "POST", "/v1/instances", a.token, `{"name":"orders","engine":"pg"}`, http.StatusCreated, &inst)
	const n = 30
	for i := range n {
		s := []*served{a, b}[i%2]
		var cert client.Certificate
		call(t, s, "POST", "/v1/instances/"+inst.ID+"/certificates", s.token, `{"dns_names":["db.example"]}`, http.StatusCreated, &cert)
		call(t, s, "POST", "/v1/instances/"+inst.ID+"/certificates/"+cert.Serial+"/revoke", s.token, "", http.StatusOK, nil)
	}
	call(t, b, "POST", "/v1/instances/"+inst.ID+"/rotation/start", b.token, "", http.StatusOK, nil)
	rc.waitFor("every event", func(ds []delivered) bool { return len(countByID(ds)) == n+1 })
	time.Sleep(500 * time.Millisecond) // room for any duplicate to arrive
	all := rc.got(http.StatusOK)
	for id, k := range countByID(all) {
		if k != 1 {
			t.Errorf("event %s delivered %d times by the two replicas, want once", id, k)
		}
	}
	if len(all) != n+1 {
		t.Errorf("receiver got %d deliveries, want %d", len(all), n+1)
	}
}
