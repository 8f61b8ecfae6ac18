package dbtrust_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/servicetest"
)

// Links are signed and verified inside the core: a second Service over the
// same store (a replica) verifies what the first signed, and a changed
// message, signature or key ID is refused with the reason a dialect needs.
func TestLinkSigning(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := servicetest.New(t, dbtrust.Options{})
	replica := dbtrust.NewService(e.Store, e.Sealer, dbtrust.Options{})
	msg := []byte("GET\n\n\n1893456000\n/bucket/object")
	id, sig, err := e.Service.SignLink(ctx, msg)
	if err != nil || id == "" || len(sig) != 20 {
		t.Fatalf("SignLink = %q, %x, %v; want a key ID and an HMAC-SHA1", id, sig, err)
	}
	id2, sig2, err := replica.SignLink(ctx, msg)
	if err != nil || id2 != id || string(sig2) != string(sig) {
		t.Fatalf("replica SignLink = %q, %x, %v; want the same key and signature", id2, sig2, err)
	}
	bad := append([]byte{}, sig...)
	bad[0] ^= 1
	for _, tt := range []struct {
		name     string
		id       string
		msg, sig []byte
		reason   error
	}{
		{"as signed", id, msg, sig, nil},
		{"other message", id, append(msg, '!'), sig, dbtrust.ErrLinkSignature},
		{"other signature", id, msg, bad, dbtrust.ErrLinkSignature},
		{"other key", "DBTSAAAAAAAAAAAAAAAA", msg, sig, dbtrust.ErrLinkKey},
		{"no key", "", msg, sig, dbtrust.ErrLinkKey},
	} {
		err := replica.VerifyLink(ctx, tt.id, tt.msg, tt.sig)
		if tt.reason == nil && err != nil || tt.reason != nil && (dbtrust.ErrorCode(err) != dbtrust.Unauthorized || !errors.Is(err, tt.reason)) {
			t.Errorf("VerifyLink(%s) = %v, want %v", tt.name, err, tt.reason)
		}
	}
}
