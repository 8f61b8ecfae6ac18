package astra

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/dbtrust/dbtrust"
)

func TestEveryCodeHasAProblem(t *testing.T) {
	for _, c := range dbtrust.Codes {
		n, ok := codeProblems[c]
		if !ok {
			t.Errorf("Code %q has no row in codeProblems", c)
			continue
		}
		if _, ok := problems[n]; !ok {
			t.Errorf("Code %q maps to problem %d, which is not in the problem table", c, n)
		}
	}
	for _, rp := range reasonProblems {
		if _, ok := problems[rp.n]; !ok {
			t.Errorf("reason %v maps to problem %d, which is not in the problem table", rp.reason, rp.n)
		}
	}
}

func TestProblemStatusMatchesTable(t *testing.T) {
	for n, def := range problems {
		rec := httptest.NewRecorder()
		writeProblem(rec, httptest.NewRequest(http.MethodGet, "/", nil), newProblem(n))
		if rec.Code != def.status {
			t.Errorf("problem %d: status %d, want %d", n, rec.Code, def.status)
		}
		if ct := rec.Header().Get("Content-Type"); ct != mediaProblem {
			t.Errorf("problem %d: Content-Type %q, want %q", n, ct, mediaProblem)
		}
	}
	rec := httptest.NewRecorder()
	writeProblem(rec, httptest.NewRequest(http.MethodGet, "/", nil), newProblem(99999))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("unknown problem number: status %d, want 500 (problem 34)", rec.Code)
	}
}

func TestNotFoundOnDeleteIsProblem1(t *testing.T) {
	err := dbtrust.Errorf(dbtrust.NotFound, "no such credential")
	for method, want := range map[string]int{http.MethodGet: 2, http.MethodPut: 2, http.MethodDelete: 1} {
		if got := toProblem(httptest.NewRequest(method, "/", nil), err).n; got != want {
			t.Errorf("NotFound on %s = problem %d, want %d", method, got, want)
		}
	}
}

func TestSchemaChecker(t *testing.T) {
	s := &schema{typ: "object", closed: true, required: []string{"a"}, props: map[string]*schema{
		"a": enumStr("x", "y"),
		"b": {typ: "array", items: base64Str},
		"c": {typ: "object", additional: timeStr},
	}}
	tests := []struct {
		doc  any
		okay bool
	}{
		{map[string]any{"a": "x"}, true},
		{map[string]any{"a": "x", "b": []any{"QUJD", ""}, "c": map[string]any{"k": "2024-01-02T03:04:05.123Z"}}, true},
		{map[string]any{}, false},
		{map[string]any{"a": "z"}, false},
		{map[string]any{"a": "x", "extra": 1}, false},
		{map[string]any{"a": "x", "b": []any{"not base64!"}}, false},
		{map[string]any{"a": "x", "c": map[string]any{"k": "2024-01-02 03:04:05"}}, false},
		{map[string]any{"a": true}, false},
		{[]any{}, false},
	}
	for i, tt := range tests {
		if err := s.check(tt.doc, ""); (err == nil) != tt.okay {
			t.Errorf("case %d: check(%v) = %v, want ok=%v", i, tt.doc, err, tt.okay)
		}
	}
}

func TestParseFilter(t *testing.T) {
	tests := []struct {
		in    string
		conds int
		ok    bool
	}{
		{"name eq 'a'", 1, true},
		{"name eq 'it''s', keyType in 'kube'", 2, true},
		{"metadata.labels[*].name eq 'x'", 1, true},
		{"name  gte  ''", 1, true},
		{"name like 'a'", 0, false},
		{"secret eq 'a'", 0, false},
		{"name eq a", 0, false},
		{"name eq 'a", 0, false},
		{"name eq 'a' x", 0, false},
		{"", 0, false},
		{"metadata.labels.name eq 'x'", 0, false},
	}
	for _, tt := range tests {
		got, err := parseFilter(tt.in, credentialFields)
		if (err == nil) != tt.ok || len(got) != tt.conds {
			t.Errorf("parseFilter(%q) = %d conditions, %v; want %d, ok=%v", tt.in, len(got), err, tt.conds, tt.ok)
		}
	}
	got, _ := parseFilter("name eq 'it''s'", credentialFields)
	if got[0].value != "it's" {
		t.Errorf("doubled quote: value %q, want %q", got[0].value, "it's")
	}
}

// FuzzParseListQuery: whatever the query string, parsing answers a problem
// 5 or 6 or a query, and never panics. Seeds run with go test; explore with
// go test -fuzz FuzzParseListQuery ./internal/dialect/astra.
func FuzzParseListQuery(f *testing.F) {
	for _, s := range []string{
		"filter=name%20eq%20'a'", "filter=a.b[*].c%20in%20''''", "orderBy=name%20desc&limit=7&count=true",
		"include=id,name&skip=1", "continue=AAAA", "filter=name eq 'a',", "filter=%27", "limit=01",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		for _, fields := range []collectionFields{certificateFields, credentialFields} {
			lq, err := parseListQuery(q, fields)
			if err != nil {
				if p, ok := err.(*problem); !ok || (p.n != 5 && p.n != 6) {
					t.Fatalf("parseListQuery(%q) = %v, want problem 5 or 6", raw, err)
				}
				continue
			}
			if lq.limit < 0 || lq.skip < 0 {
				t.Fatalf("parseListQuery(%q): negative limit or skip", raw)
			}
		}
	})
}
