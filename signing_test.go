package dbtrust_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/servicetest"
)

func TestServerSigningKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc := servicetest.New(t, dbtrust.Options{}).Service
	id1, k1, err := svc.ServerSigningKey(ctx, "download-link")
	if err != nil || len(k1) != 32 || id1 == "" {
		t.Fatalf("ServerSigningKey = %q, %d bytes, %v", id1, len(k1), err)
	}
	id2, k2, err := svc.ServerSigningKey(ctx, "download-link")
	if err != nil || id2 != id1 || !bytes.Equal(k1, k2) {
		t.Fatalf("second ServerSigningKey = %q, %v; want the same key", id2, err)
	}
	id3, k3, err := svc.ServerSigningKey(ctx, "other")
	if err != nil || id3 == id1 || bytes.Equal(k1, k3) {
		t.Fatalf("ServerSigningKey(other) = %q, %v; want another key", id3, err)
	}
}
