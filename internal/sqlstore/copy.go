package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/dbtrust/dbtrust"
)

// Querier is what schema introspection needs: a *sql.DB or a *sql.Tx.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Kind is how Copy carries a column's values between engines.
type Kind int

const (
	KindOther Kind = iota // passed through as the driver returns it
	KindInt               // integers (and SQLite's 0/1 booleans)
	KindBool              // PostgreSQL BOOLEAN
	KindText
	KindBytes
)

// Column is one column of a Table.
type Column struct {
	Name string
	Kind Kind
	// Identity is true for a column whose values the database generates
	// (PostgreSQL identity or serial); Copy keeps the source's values and
	// then moves the generator past them.
	Identity bool
}

// Table describes one table of a migrated schema.
type Table struct {
	Name    string
	Columns []Column
	Refs    []string // the tables its foreign keys reference
	// Identity, when set, moves the table's value generators past the copied
	// rows (PostgreSQL: setval on each identity column's sequence).
	Identity func(ctx context.Context, tx *sql.Tx) error
	// InsertClause goes between the column list and VALUES (PostgreSQL:
	// OVERRIDING SYSTEM VALUE, so identity columns take the copied values).
	InsertClause string
}

// gooseTable is goose's bookkeeping table; every store migrates its own.
const gooseTable = "goose_db_version"

// rateTable holds the rate-limit windows under way: counts of the moment,
// under the limits of the servers that made them, never copied.
const rateTable = "rate_windows"

// changeLog is SQLite's log of changes for the watchers of one file: it
// names rows of that file, never copied.
const changeLog = "change_log"

// copied reports whether Copy moves the rows of table.
func copied(table string) bool {
	return table != gooseTable && table != rateTable && table != changeLog
}

// CopyOptions tune Copy.
type CopyOptions struct {
	// Force empties a non-empty target first (in the same transaction);
	// without it a non-empty target is a Conflict.
	Force bool
}

// TableCount is how many rows Copy moved for one table.
type TableCount struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
}

// Copy copies every row of every table of src into dst: the tables are read
// from src's migrated schema (so tables added by later migrations come along
// without changes here), written in foreign-key order, in one transaction on
// dst, and counted on both sides before it commits. Values are copied as
// stored: sealed secrets go byte for byte, so dst needs the same key-encryption
// key as src. Both stores must be migrated to the same version, and nothing
// should write to src meanwhile (Copy reads it in one transaction).
func Copy(ctx context.Context, src, dst *DB, opt CopyOptions) ([]TableCount, error) {
	if err := sameVersion(ctx, src, dst); err != nil {
		return nil, err
	}
	stx, err := src.db.BeginTx(ctx, src.be.SnapshotTx)
	if err != nil {
		return nil, src.mapErr(err)
	}
	defer stx.Rollback()
	dtx, err := dst.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, dst.mapErr(err)
	}
	defer dtx.Rollback()

	srcBy, tables, err := copyPlan(ctx, src, dst, stx, dtx)
	if err != nil {
		return nil, err
	}
	if err := emptyTarget(ctx, dst, dtx, tables, opt.Force); err != nil {
		return nil, err
	}
	var counts []TableCount
	for _, t := range tables {
		st, ok := srcBy[t.Name]
		if !ok { // newer than the source: stays empty
			counts = append(counts, TableCount{Table: t.Name})
			continue
		}
		n, err := copyTable(ctx, stx, dtx, st, t)
		if err != nil {
			return nil, fmt.Errorf("copy table %s: %w", t.Name, dst.mapErr(err))
		}
		counts = append(counts, TableCount{Table: t.Name, Rows: n})
	}
	if err := verifyCopy(ctx, src, dst, stx, dtx, srcBy, counts); err != nil {
		return nil, err
	}
	if err := dtx.Commit(); err != nil {
		return nil, dst.mapErr(err)
	}
	// And after: the committed target agrees.
	for _, c := range counts {
		got, err := count(ctx, dst.db, c.Table)
		if err != nil {
			return nil, dst.mapErr(err)
		}
		if got != c.Rows {
			return counts, fmt.Errorf("copy: table %s: %d rows after commit, want %d", c.Table, got, c.Rows)
		}
	}
	return counts, nil
}

// sameVersion refuses a copy between stores that can not describe their
// schema, or whose schemas are at different migration versions.
func sameVersion(ctx context.Context, src, dst *DB) error {
	if src.be.Schema == nil || dst.be.Schema == nil {
		return fmt.Errorf("copy: %s or %s cannot describe its schema", src.be.Name, dst.be.Name)
	}
	sv, _, err := src.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("copy: source schema version: %w", err)
	}
	dv, _, err := dst.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("copy: target schema version: %w", err)
	}
	if sv != dv {
		return dbtrust.Errorf(dbtrust.Conflict, "source schema is at version %d, target at %d: migrate both first", sv, dv)
	}
	return nil
}

// copyPlan reads both schemas and returns the source's tables by name and
// the target's tables in foreign-key order; every source table must exist
// in the target.
func copyPlan(ctx context.Context, src, dst *DB, stx, dtx *sql.Tx) (map[string]Table, []Table, error) {
	srcTables, err := src.be.Schema(ctx, stx)
	if err != nil {
		return nil, nil, fmt.Errorf("copy: source schema: %w", err)
	}
	dstTables, err := dst.be.Schema(ctx, dtx)
	if err != nil {
		return nil, nil, fmt.Errorf("copy: target schema: %w", err)
	}
	srcBy := map[string]Table{}
	for _, t := range srcTables {
		if copied(t.Name) {
			srcBy[t.Name] = t
		}
	}
	var tables []Table
	for _, t := range dstTables {
		if copied(t.Name) {
			tables = append(tables, t)
		}
	}
	for name := range srcBy {
		if !slices.ContainsFunc(tables, func(t Table) bool { return t.Name == name }) {
			return nil, nil, fmt.Errorf("copy: the target has no table %q", name)
		}
	}
	tables, err = dependencyOrder(tables)
	return srcBy, tables, err
}

// emptyTarget refuses a target that holds rows, unless force, in which case
// it deletes them, children first.
func emptyTarget(ctx context.Context, dst *DB, dtx *sql.Tx, tables []Table, force bool) error {
	nonEmpty, err := firstNonEmpty(ctx, dtx, tables)
	if err != nil {
		return dst.mapErr(err)
	}
	if nonEmpty == "" {
		return nil
	}
	if !force {
		return dbtrust.Errorf(dbtrust.Conflict, "the target is not empty (table %s has rows); use --force to replace its contents", nonEmpty)
	}
	for _, t := range slices.Backward(tables) {
		if _, err := dtx.ExecContext(ctx, `DELETE FROM `+quote(t.Name)); err != nil {
			return dst.mapErr(err)
		}
	}
	return nil
}

// verifyCopy checks, before the commit, that every table of the target holds
// exactly the source's rows.
func verifyCopy(ctx context.Context, src, dst *DB, stx, dtx *sql.Tx, srcBy map[string]Table, counts []TableCount) error {
	for _, c := range counts {
		want := int64(0)
		if _, ok := srcBy[c.Table]; ok {
			var err error
			if want, err = count(ctx, stx, c.Table); err != nil {
				return src.mapErr(err)
			}
		}
		got, err := count(ctx, dtx, c.Table)
		if err != nil {
			return dst.mapErr(err)
		}
		if got != want || c.Rows != want {
			return fmt.Errorf("copy: table %s: source has %d rows, copied %d, target has %d", c.Table, want, c.Rows, got)
		}
	}
	return nil
}

func copyTable(ctx context.Context, stx, dtx *sql.Tx, src, dst Table) (int64, error) {
	have := map[string]bool{}
	for _, c := range src.Columns {
		have[c.Name] = true
	}
	var cols []Column
	var names, params []string
	for _, c := range dst.Columns {
		if have[c.Name] {
			cols = append(cols, c)
			names = append(names, quote(c.Name))
			params = append(params, "$"+strconv.Itoa(len(params)+1))
		}
	}
	if len(cols) == 0 {
		return 0, nil
	}
	list := strings.Join(names, ", ")
	ins, err := dtx.PrepareContext(ctx, `INSERT INTO `+quote(dst.Name)+` (`+list+`) `+dst.InsertClause+` VALUES (`+strings.Join(params, ", ")+`)`)
	if err != nil {
		return 0, err
	}
	defer ins.Close()
	rows, err := stx.QueryContext(ctx, `SELECT `+list+` FROM `+quote(src.Name))
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		for i, c := range cols {
			if vals[i], err = convert(vals[i], c.Kind); err != nil {
				return n, fmt.Errorf("column %s: %w", c.Name, err)
			}
		}
		if _, err := ins.ExecContext(ctx, vals...); err != nil {
			return n, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	if dst.Identity != nil {
		if err := dst.Identity(ctx, dtx); err != nil {
			return n, err
		}
	}
	return n, nil
}

// convert turns a value as one driver returned it into what the target
// column takes.
func convert(v any, k Kind) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch k {
	case KindBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		}
	case KindInt:
		switch x := v.(type) {
		case bool:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		case int64:
			return x, nil
		case int32:
			return int64(x), nil
		case int16:
			return int64(x), nil
		}
	case KindText:
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		}
	case KindBytes:
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string:
			return []byte(x), nil
		}
	default:
		return v, nil
	}
	return nil, fmt.Errorf("cannot carry a %T into this column", v)
}

// dependencyOrder sorts tables so that every table comes after the tables it
// references (a self-reference is ignored; a cycle is an error).
func dependencyOrder(tables []Table) ([]Table, error) {
	slices.SortFunc(tables, func(a, b Table) int { return strings.Compare(a.Name, b.Name) })
	by := map[string]Table{}
	for _, t := range tables {
		by[t.Name] = t
	}
	var out []Table
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(t Table) error
	visit = func(t Table) error {
		switch state[t.Name] {
		case 1:
			return fmt.Errorf("copy: foreign keys form a cycle through table %s", t.Name)
		case 2:
			return nil
		}
		state[t.Name] = 1
		for _, r := range t.Refs {
			if dep, ok := by[r]; ok && r != t.Name {
				if err := visit(dep); err != nil {
					return err
				}
			}
		}
		state[t.Name] = 2
		out = append(out, t)
		return nil
	}
	for _, t := range tables {
		if err := visit(t); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func firstNonEmpty(ctx context.Context, q Querier, tables []Table) (string, error) {
	for _, t := range tables {
		rows, err := q.QueryContext(ctx, `SELECT 1 FROM `+quote(t.Name)+` LIMIT 1`)
		if err != nil {
			return "", err
		}
		any := rows.Next()
		err = rows.Err()
		rows.Close()
		if err != nil {
			return "", err
		}
		if any {
			return t.Name, nil
		}
	}
	return "", nil
}

func count(ctx context.Context, q Querier, table string) (int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT COUNT(*) FROM `+quote(table))
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int64
	if rows.Next() {
		err = rows.Scan(&n)
	}
	if err == nil {
		err = rows.Err()
	}
	return n, err
}

// quote quotes an SQL identifier; both engines take double quotes.
func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }
