package sqlite_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/dbtrust/dbtrust/internal/sqlite"
)

// TestCloseWaitsForEveryConnection: database/sql closes the connection of a
// transaction whose context ended in a goroutine of its own. Close still
// returns only once that connection is closed too: SQLite's last connection
// checkpoints and removes the -wal and -shm files as it closes, and nothing
// may write into the data folder after Close.
func TestCloseWaitsForEveryConnection(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "dbtrust.db")
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tx, err := s.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
		t.Fatal(err)
	}
	cancel() // the transaction is rolled back and its connection discarded
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v, want nil", err)
	}
	if open := s.SQL().Stats().OpenConnections; open != 0 {
		t.Errorf("Close returned with %d connections still open, want 0", open)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(path + suffix); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("stat(%s) after Close = %v, want it removed by the last connection's close", filepath.Base(path+suffix), err)
		}
	}
}
