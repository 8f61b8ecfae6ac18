package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"sigs.k8s.io/yaml"
)

// table writes tab-aligned rows; header rows are left out with --no-header.
type table struct {
	w        *tabwriter.Writer
	noHeader bool
}

// header writes the column names.
func (t *table) header(cols ...string) {
	if !t.noHeader {
		t.row(cols...)
	}
}

// row writes one row; empty values print as "-".
func (t *table) row(vals ...string) {
	for i, v := range vals {
		if v == "" {
			vals[i] = "-"
		}
	}
	fmt.Fprintln(t.w, strings.Join(vals, "\t"))
}

// field writes one "name: value" line of a single resource's view.
// An empty name continues the field above.
func (t *table) field(name, value string) {
	if name != "" {
		name += ":"
	}
	fmt.Fprintf(t.w, "%s\t%s\n", name, value)
}

// print writes v as -o says: JSON or YAML (v's JSON form: the wire types of
// the native API, a list as {"items-name":[...]}), or the table.
func (a *app) print(v any, tab func(t *table)) error {
	return printTo(a.stdout, a.cfg.Output, a.cfg.NoHeader, v, tab)
}

func printTo(w io.Writer, format string, noHeader bool, v any, tab func(t *table)) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "yaml":
		b, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	t := &table{w: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0), noHeader: noHeader}
	tab(t)
	return t.w.Flush()
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }
