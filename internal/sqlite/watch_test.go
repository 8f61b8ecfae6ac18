package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/sqlite"
)

// TestWatchChanges: the watcher reports once when it starts (a commit made
// just before has nothing left to notice), then after another process's
// commit, and returns nil when its context ends.
func TestWatchChanges(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	path := filepath.Join(t.TempDir(), "dbtrust.db")
	watched, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer watched.Close()
	other, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	changes := make(chan struct{}, 100)
	done := make(chan error, 1)
	go func() { done <- watched.WatchChanges(ctx, func() { changes <- struct{}{} }) }()
	wait := func(what string) {
		t.Helper()
		select {
		case <-changes:
		case err := <-done:
			t.Fatalf("WatchChanges returned %v while waiting for %s", err, what)
		case <-time.After(30 * time.Second):
			t.Fatalf("WatchChanges: no onChange for %s within 30s", what)
		}
	}
	wait("the start of the watch")

	now := time.Now().UTC()
	acct := dbtrust.Account{ID: "6f1c1d2e-8a4b-4c3d-9e5f-0a1b2c3d4e5f", Name: "w", ProjectID: "0123456789abcdef0123456789abcdef", CreatedAt: now}
	tok := dbtrust.Token{ID: "0123456789abcdef", AccountID: acct.ID, Name: "owner", Role: dbtrust.RoleOwner, SecretHash: make([]byte, 32), CreatedAt: now}
	if err := other.CreateAccount(ctx, acct, tok); err != nil {
		t.Fatalf("other.CreateAccount() = %v, want nil", err)
	}
	wait("another process's commit")
	for len(changes) > 0 { // drain
		<-changes
	}
	if err := other.RevokeToken(ctx, acct.ID, tok.ID, now); err != nil {
		t.Fatalf("other.RevokeToken() = %v, want nil", err)
	}
	wait("a second commit")

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("WatchChanges after cancel = %v, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("WatchChanges did not return within 30s of cancel")
	}
}
