package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/sqlite"
	"github.com/dbtrust/dbtrust/internal/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) dbtrust.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "dbtrust.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
