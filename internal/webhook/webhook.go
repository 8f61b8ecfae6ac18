// Package webhook sends dbtrust's webhook deliveries over HTTP: one POST per
// attempt, a timeout, no redirects followed, and the receiver's answer read
// only for its status (its body is drained and dropped, never kept or shown).
package webhook

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/dbtrust/dbtrust"
)

// Sender is a dbtrust.Sender over an *http.Client.
type Sender struct {
	Client *http.Client
}

var _ dbtrust.Sender = Sender{}

// New returns a Sender whose client never follows redirects (a receiver that
// redirects is answering 3xx, which is a failed attempt) and gives up after
// dbtrust.DeliveryTimeout.
func New() Sender {
	return Sender{Client: &http.Client{
		Timeout:       dbtrust.DeliveryTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Send POSTs req and returns the receiver's status. Its errors are plain
// words for the delivery log: they carry no address, body or library text.
func (s Sender) Send(ctx context.Context, req dbtrust.WebhookRequest) (int, error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		return 0, errors.New("the webhook URL could not be used")
	}
	for k, v := range req.Header {
		r.Header.Set(k, v)
	}
	r.Header.Set("User-Agent", "dbtrust-webhook/1")
	resp, err := s.Client.Do(r)
	if err != nil {
		return 0, describe(err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// describe turns a client error into what the delivery log says.
func describe(err error) error {
	var ne net.Error
	var oe *net.OpError
	var de *net.DNSError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return errors.New("no answer within " + dbtrust.DeliveryTimeout.String())
	case errors.As(err, &de):
		return errors.New("the receiver's host name did not resolve")
	case errors.As(err, &oe) && oe.Op == "dial":
		return errors.New("could not connect to the receiver")
	case errors.Is(err, context.Canceled):
		return errors.New("the delivery was cancelled (dbtrust shutting down)")
	}
	return errors.New("the request to the receiver failed (connection or TLS error)")
}

// Loop delivers due webhooks every interval until ctx ends, as many batches
// as are due each time.
func Loop(ctx context.Context, svc *dbtrust.Service, send dbtrust.Sender, interval time.Duration, onErr func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for {
			n, err := svc.DeliverWebhooks(ctx, send, 16)
			if err != nil && ctx.Err() == nil {
				onErr(err)
			}
			if err != nil || n == 0 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
