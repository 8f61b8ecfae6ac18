package sqlite

import (
	"context"
	"strings"

	"github.com/dbtrust/dbtrust/internal/sqlstore"
)

// schema describes the tables of a migrated SQLite database for
// sqlstore.Copy, from sqlite_master and the table_info and foreign_key_list
// pragmas.
func schema(ctx context.Context, q sqlstore.Querier) ([]sqlstore.Table, error) {
	names, err := strings1(ctx, q, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var out []sqlstore.Table
	for _, name := range names {
		t := sqlstore.Table{Name: name}
		rows, err := q.QueryContext(ctx, `SELECT name, type FROM pragma_table_info($1) ORDER BY cid`, name)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var c sqlstore.Column
			var typ string
			if err := rows.Scan(&c.Name, &typ); err != nil {
				rows.Close()
				return nil, err
			}
			c.Kind = kind(typ)
			t.Columns = append(t.Columns, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if t.Refs, err = strings1(ctx, q, `SELECT DISTINCT "table" FROM pragma_foreign_key_list($1)`, name); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// kind follows SQLite's type affinity rules for a declared column type.
func kind(decl string) sqlstore.Kind {
	d := strings.ToUpper(decl)
	switch {
	case strings.Contains(d, "INT"):
		return sqlstore.KindInt
	case strings.Contains(d, "CHAR"), strings.Contains(d, "CLOB"), strings.Contains(d, "TEXT"):
		return sqlstore.KindText
	case strings.Contains(d, "BLOB"), d == "":
		return sqlstore.KindBytes
	}
	return sqlstore.KindOther
}

func strings1(ctx context.Context, q sqlstore.Querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
