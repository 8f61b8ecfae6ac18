package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/sqlite"
)

// TestWatchChanges: the watcher reports Change{} once when it starts (a
// commit made just before has nothing left to notice), then the key of each
// cached row another process changes, nothing for rows no cache can hold,
// Change{} when it fell too far behind the change log, and returns nil when
// its context ends.
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

	changes := make(chan dbtrust.Change, 100)
	done := make(chan error, 1)
	go func() { done <- watched.WatchChanges(ctx, func(ch dbtrust.Change) { changes <- ch }) }()
	expect := func(what string, want dbtrust.Change) {
		t.Helper()
		select {
		case got := <-changes:
			if got != want {
				t.Fatalf("%s: reported %+v, want %+v", what, got, want)
			}
		case err := <-done:
			t.Fatalf("WatchChanges returned %v while waiting for %s", err, what)
		case <-time.After(30 * time.Second):
			t.Fatalf("WatchChanges: nothing reported for %s within 30s", what)
		}
	}
	expect("the start of the watch", dbtrust.Change{})

	// New rows: no cache can hold them, so nothing is reported; the first
	// report is the revocation that follows.
	now := time.Now().UTC()
	acct := dbtrust.Account{ID: "6f1c1d2e-8a4b-4c3d-9e5f-0a1b2c3d4e5f", Name: "w", ProjectID: "0123456789abcdef0123456789abcdef", CreatedAt: now}
	tok := dbtrust.Token{ID: "0123456789abcdef", AccountID: acct.ID, Name: "owner", Role: dbtrust.RoleOwner, SecretHash: make([]byte, 32), CreatedAt: now}
	if err := other.CreateAccount(ctx, acct, tok); err != nil {
		t.Fatalf("other.CreateAccount() = %v, want nil", err)
	}
	tok2 := tok
	tok2.ID, tok2.Name = "fedcba9876543210", "second"
	if err := other.CreateToken(ctx, tok2); err != nil {
		t.Fatalf("other.CreateToken() = %v, want nil", err)
	}
	if err := other.RevokeToken(ctx, acct.ID, tok.ID, now); err != nil {
		t.Fatalf("other.RevokeToken() = %v, want nil", err)
	}
	expect("a revoked token", dbtrust.Change{Kind: dbtrust.ChangeToken, Key: tok.ID})
	if err := other.RevokeToken(ctx, acct.ID, tok2.ID, now); err != nil {
		t.Fatalf("other.RevokeToken() = %v, want nil", err)
	}
	expect("a second revoked token", dbtrust.Change{Kind: dbtrust.ChangeToken, Key: tok2.ID})

	// More changes than the log keeps, in one commit: the watcher cannot
	// know them all and says so.
	if _, err := other.SQL().ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10010)
		INSERT INTO change_log (kind, key) SELECT 'token', 'x' || i FROM n`); err != nil {
		t.Fatal(err)
	}
	expect("a pruned log", dbtrust.Change{})
	if n := count(t, other, `SELECT COUNT(*) FROM change_log`); n != 10000 {
		t.Errorf("the change log holds %d rows, want its bound 10000", n)
	}

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

func count(t *testing.T, s *sqlite.Store, q string) int {
	t.Helper()
	var n int
	if err := s.SQL().QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
