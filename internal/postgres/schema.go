package postgres

import (
	"context"
	"database/sql"
	"strings"

	"github.com/dbtrust/dbtrust/internal/sqlstore"
)

// schema describes the tables of the current schema for sqlstore.Copy, from
// the system catalogs.
func schema(ctx context.Context, q sqlstore.Querier) ([]sqlstore.Table, error) {
	rows, err := q.QueryContext(ctx, `
SELECT c.table_name, c.column_name, c.data_type,
       c.is_identity = 'YES' OR COALESCE(c.column_default, '') LIKE 'nextval(%'
  FROM information_schema.columns c
  JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
 WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
 ORDER BY c.table_name, c.ordinal_position`)
	if err != nil {
		return nil, err
	}
	var out []sqlstore.Table
	for rows.Next() {
		var table, typ string
		var c sqlstore.Column
		if err := rows.Scan(&table, &c.Name, &typ, &c.Identity); err != nil {
			rows.Close()
			return nil, err
		}
		c.Kind = kind(typ)
		if len(out) == 0 || out[len(out)-1].Name != table {
			out = append(out, sqlstore.Table{Name: table})
		}
		t := &out[len(out)-1]
		t.Columns = append(t.Columns, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		t := &out[i]
		refs, err := q.QueryContext(ctx, `
SELECT DISTINCT r.relname
  FROM pg_constraint k
  JOIN pg_class c ON c.oid = k.conrelid
  JOIN pg_class r ON r.oid = k.confrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE k.contype = 'f' AND n.nspname = current_schema() AND c.relname = $1`, t.Name)
		if err != nil {
			return nil, err
		}
		for refs.Next() {
			var r string
			if err := refs.Scan(&r); err != nil {
				refs.Close()
				return nil, err
			}
			t.Refs = append(t.Refs, r)
		}
		refs.Close()
		if err := refs.Err(); err != nil {
			return nil, err
		}
		var ids []string
		for _, c := range t.Columns {
			if c.Identity {
				ids = append(ids, c.Name)
			}
		}
		if len(ids) > 0 {
			t.InsertClause = "OVERRIDING SYSTEM VALUE"
			t.Identity = moveSequences(t.Name, ids)
		}
	}
	return out, nil
}

// moveSequences sets each identity column's sequence past the column's
// largest value, so that the next generated value does not collide with a
// copied one.
func moveSequences(table string, cols []string) func(context.Context, *sql.Tx) error {
	return func(ctx context.Context, tx *sql.Tx) error {
		for _, col := range cols {
			qt := `"` + strings.ReplaceAll(table, `"`, `""`) + `"`
			qc := `"` + strings.ReplaceAll(col, `"`, `""`) + `"`
			if _, err := tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT MAX(`+qc+`) FROM `+qt+`), 0) + 1, false)`, qt, col); err != nil {
				return err
			}
		}
		return nil
	}
}

func kind(dataType string) sqlstore.Kind {
	switch dataType {
	case "boolean":
		return sqlstore.KindBool
	case "smallint", "integer", "bigint":
		return sqlstore.KindInt
	case "text", "character varying", "character":
		return sqlstore.KindText
	case "bytea":
		return sqlstore.KindBytes
	}
	return sqlstore.KindOther
}
