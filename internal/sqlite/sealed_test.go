package sqlite_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dbtrust/dbtrust/internal/sqlite"
)

// TestSealedColumnsComplete: every table of the migrated schema that has a
// sealed_* column is one whose values KEK rotation re-seals, so that a new
// kind of sealed value cannot be left under an old key.
func TestSealedColumnsComplete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "dbtrust.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.SQL().QueryContext(ctx, `SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' ORDER BY m.name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var want []string
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(col, "sealed_") && !slices.Contains(want, table) {
			want = append(want, table)
		}
	}
	got, err := s.SealedTables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range want {
		if !slices.Contains(got, table) {
			t.Errorf("table %s has a sealed column that KEK rotation does not know (add it to sqlstore's sealedColumns); SealedTables() = %v", table, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("SealedTables() = %v, want the tables with sealed columns %v", got, want)
	}
}
