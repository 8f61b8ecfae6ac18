package astra

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// listQuery is a parsed list request: Astra's include, limit, continue,
// filter, orderBy, plus the generic skip and count.
type listQuery struct {
	include []string
	limit   int // 0: no limit
	skip    int
	count   bool
	filters []condition
	orderBy string // a top-level field; "" is creation order
	desc    bool
	after   *position // from continue
	rawCont []byte    // the sealed continue token, opened by the handler
}

// condition is one filter term: path op 'value'.
type condition struct {
	path  []string // segments; a segment ending in [*] fans out over an array
	field string   // the path as written, for messages and fingerprints
	op    string
	value string
}

// position is where a page ended: the sort key of its last item. The next
// page starts strictly after it, so items created or deleted between pages
// neither repeat nor shift what follows (keyset paging).
type position struct {
	Query   string `json:"q"` // fingerprint of filter and orderBy
	Value   string `json:"v"`
	Created int64  `json:"c"`
	ID      string `json:"i"`
}

var (
	includeRE   = regexp.MustCompile(`^[0-9a-zA-Z]+(,[0-9a-zA-Z]+)*$`)
	positiveRE  = regexp.MustCompile(`^[1-9][0-9]{0,8}$`)
	orderByRE   = regexp.MustCompile(`^([0-9a-zA-Z]+)( (asc|desc))?$`)
	segmentRE   = regexp.MustCompile(`^[0-9a-zA-Z]+(\[\*\])?$`)
	filterOps   = map[string]bool{"eq": true, "lt": true, "gt": true, "lte": true, "gte": true, "in": true}
	knownParams = map[string]bool{"include": true, "limit": true, "continue": true, "filter": true, "orderBy": true, "count": true, "skip": true}
)

// collectionFields describes the members a collection's items have: top
// (top-level members, for include and orderBy) and paths (everything a filter
// may name; array members end in [*]).
type collectionFields struct {
	top   map[string]bool
	paths map[string]bool
}

var metadataPaths = []string{"metadata.labels[*].name", "metadata.labels[*].value", "metadata.creationTimestamp",
	"metadata.modificationTimestamp", "metadata.createdBy", "metadata.modifiedBy"}

func newCollectionFields(top []string, extra ...string) collectionFields {
	f := collectionFields{top: map[string]bool{}, paths: map[string]bool{}}
	for _, t := range top {
		f.top[t] = true
		f.paths[t] = true
	}
	for _, p := range append(extra, metadataPaths...) {
		f.paths[p] = true
	}
	return f
}

var (
	certificateFields = newCollectionFields([]string{"type", "version", "id", "certUse", "cert", "cn", "expiryTimestamp",
		"isSelfSigned", "trustState", "trustStateDesired", "trustStateTransitions", "trustStateDetails", "metadata"},
		"trustStateTransitions[*].from", "trustStateTransitions[*].to[*]")
	credentialFields = newCollectionFields([]string{"type", "version", "id", "name", "keyType", "valid",
		"validFromTimestamp", "validUntilTimestamp", "metadata"})
)

// parseListQuery checks every parameter; the first bad one is a problem 5
// (bad value) or 6 (unknown parameter).
func parseListQuery(q url.Values, fields collectionFields) (listQuery, error) {
	var lq listQuery
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !knownParams[name] {
			return lq, &problem{n: 6, invalidParams: []nameReason{{name, "this parameter is not supported here"}}}
		}
		if name != "filter" && len(q[name]) > 1 {
			return lq, badParam(name, "may be given only once")
		}
	}
	if v, ok := single(q, "include"); ok {
		if !includeRE.MatchString(v) {
			return lq, badParam("include", "must be a comma-separated list of field names")
		}
		for _, f := range strings.Split(v, ",") {
			if !fields.top[f] {
				return lq, badParam("include", fmt.Sprintf("unknown field %q", f))
			}
		}
		lq.include = strings.Split(v, ",")
	}
	if v, ok := single(q, "limit"); ok {
		if !positiveRE.MatchString(v) {
			return lq, badParam("limit", "must be a positive integer of at most 9 digits")
		}
		lq.limit, _ = strconv.Atoi(v)
	}
	if v, ok := single(q, "skip"); ok {
		if !positiveRE.MatchString(v) {
			return lq, badParam("skip", "must be a positive integer of at most 9 digits")
		}
		lq.skip, _ = strconv.Atoi(v)
	}
	if v, ok := single(q, "count"); ok {
		if v != "true" && v != "false" {
			return lq, badParam("count", `must be "true" or "false"`)
		}
		lq.count = v == "true"
	}
	if v, ok := single(q, "orderBy"); ok {
		m := orderByRE.FindStringSubmatch(strings.TrimSpace(v))
		if m == nil {
			return lq, badParam("orderBy", `must be a field name, optionally followed by " asc" or " desc"`)
		}
		if !fields.top[m[1]] || m[1] == "metadata" || m[1] == "trustStateTransitions" || m[1] == "trustStateDetails" {
			return lq, badParam("orderBy", fmt.Sprintf("cannot order by %q", m[1]))
		}
		lq.orderBy, lq.desc = m[1], m[3] == "desc"
	}
	for _, v := range q["filter"] {
		conds, err := parseFilter(v, fields)
		if err != nil {
			return lq, badParam("filter", err.Error())
		}
		lq.filters = append(lq.filters, conds...)
	}
	if v, ok := single(q, "continue"); ok {
		if v == "" || !base64RE.MatchString(v) {
			return lq, badParam("continue", "must be a continue token from a previous page")
		}
		raw, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return lq, badParam("continue", "must be a continue token from a previous page")
		}
		lq.rawCont = raw
	}
	return lq, nil
}

func single(q url.Values, name string) (string, bool) {
	v, ok := q[name]
	if !ok {
		return "", false
	}
	return v[0], true
}

// parseFilter parses "path op 'value'" terms joined by commas. A quote inside
// a value is written twice.
func parseFilter(s string, fields collectionFields) ([]condition, error) {
	var out []condition
	i := 0
	skipSpace := func() {
		for i < len(s) && s[i] == ' ' {
			i++
		}
	}
	word := func() string {
		start := i
		for i < len(s) && s[i] != ' ' && s[i] != '\'' && s[i] != ',' {
			i++
		}
		return s[start:i]
	}
	for {
		skipSpace()
		field := word()
		if field == "" {
			return nil, fmt.Errorf("expected a field name at offset %d", i)
		}
		segs := strings.Split(field, ".")
		for _, seg := range segs {
			if !segmentRE.MatchString(seg) {
				return nil, fmt.Errorf("malformed field %q", field)
			}
		}
		if !fields.paths[field] {
			return nil, fmt.Errorf("unknown field %q", field)
		}
		skipSpace()
		op := word()
		if !filterOps[op] {
			return nil, fmt.Errorf("unknown operator %q; use eq, lt, gt, lte, gte or in", op)
		}
		skipSpace()
		if i >= len(s) || s[i] != '\'' {
			return nil, fmt.Errorf("the value of %q must be in single quotes", field)
		}
		i++
		var val strings.Builder
		closed := false
		for i < len(s) {
			if s[i] == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					val.WriteByte('\'')
					i += 2
					continue
				}
				i++
				closed = true
				break
			}
			val.WriteByte(s[i])
			i++
		}
		if !closed {
			return nil, fmt.Errorf("the value of %q has no closing quote", field)
		}
		out = append(out, condition{path: segs, field: field, op: op, value: val.String()})
		skipSpace()
		if i == len(s) {
			return out, nil
		}
		if s[i] != ',' {
			return nil, fmt.Errorf("expected a comma or the end at offset %d", i)
		}
		i++
	}
}

// fingerprint identifies the filter and order a continue token belongs to.
func (lq listQuery) fingerprint(collection string) string {
	var b bytes.Buffer
	b.WriteString(collection)
	b.WriteByte(0)
	b.WriteString(lq.orderBy)
	if lq.desc {
		b.WriteString(" desc")
	}
	for _, c := range lq.filters {
		b.WriteByte(0)
		b.WriteString(c.field + " " + c.op + " " + c.value)
	}
	sum := sha256.Sum256(b.Bytes())
	return hex.EncodeToString(sum[:12])
}

// listEntry is one item of a collection before paging.
type listEntry struct {
	id      string
	created int64                  // core creation time, Unix microseconds: the default order
	render  func() ([]byte, error) // the item's JSON, made only when needed
	body    []byte
	doc     map[string]any // body decoded, when a filter, order or include needs it
	sortVal string
}

func (e *listEntry) json() ([]byte, error) {
	if e.body == nil {
		b, err := e.render()
		if err != nil {
			return nil, err
		}
		e.body = b
	}
	return e.body, nil
}

func (e *listEntry) decoded() (map[string]any, error) {
	if e.doc == nil {
		body, err := e.json()
		if err != nil {
			return nil, err
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&e.doc); err != nil {
			return nil, err
		}
	}
	return e.doc, nil
}

// values resolves a path in doc to the scalar values it names, fanning out
// over arrays where a segment ends in [*].
func values(v any, path []string) []any {
	if len(path) == 0 {
		return []any{v}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	seg, fan := strings.CutSuffix(path[0], "[*]")
	next, ok := m[seg]
	if !ok {
		return nil
	}
	if !fan {
		return values(next, path[1:])
	}
	arr, _ := next.([]any)
	var out []any
	for _, e := range arr {
		out = append(out, values(e, path[1:])...)
	}
	return out
}

func scalarText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

func (c condition) match(doc map[string]any) bool {
	for _, v := range values(doc, c.path) {
		s, ok := scalarText(v)
		if !ok {
			continue
		}
		var hit bool
		switch c.op {
		case "eq":
			hit = s == c.value
		case "lt":
			hit = s < c.value
		case "gt":
			hit = s > c.value
		case "lte":
			hit = s <= c.value
		case "gte":
			hit = s >= c.value
		case "in":
			hit = strings.Contains(s, c.value)
		}
		if hit {
			return true
		}
	}
	return false
}

// less orders entries by the sort value, then creation, then id.
func less(a, b position) bool {
	if a.Value != b.Value {
		return a.Value < b.Value
	}
	if a.Created != b.Created {
		return a.Created < b.Created
	}
	return a.ID < b.ID
}

func (e *listEntry) position(q string) position {
	return position{Query: q, Value: e.sortVal, Created: e.created, ID: e.id}
}

// page applies filter, order, continue position, skip and limit. It returns
// the page, the total before paging, and whether more items follow.
func (lq listQuery) page(entries []*listEntry, fp string) (page []*listEntry, total int, more bool, err error) {
	kept := entries[:0:0]
	for _, e := range entries {
		if len(lq.filters) > 0 || lq.orderBy != "" {
			doc, err := e.decoded()
			if err != nil {
				return nil, 0, false, err
			}
			ok := true
			for _, c := range lq.filters {
				if !c.match(doc) {
					ok = false
					break
				}
			}
			if !ok {
				continue
			}
			if lq.orderBy != "" {
				if vs := values(doc, []string{lq.orderBy}); len(vs) == 1 {
					e.sortVal, _ = scalarText(vs[0])
				}
			}
		}
		kept = append(kept, e)
	}
	sort.SliceStable(kept, func(i, j int) bool {
		if lq.desc {
			return less(kept[j].position(fp), kept[i].position(fp))
		}
		return less(kept[i].position(fp), kept[j].position(fp))
	})
	total = len(kept)
	start := 0
	if lq.after != nil {
		start = sort.Search(len(kept), func(i int) bool {
			if lq.desc {
				return less(kept[i].position(fp), *lq.after)
			}
			return less(*lq.after, kept[i].position(fp))
		})
	}
	start = min(start+lq.skip, len(kept))
	end := len(kept)
	if lq.limit > 0 && start+lq.limit < end {
		end, more = start+lq.limit, true
	}
	return kept[start:end], total, more, nil
}
