package httpx_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/httpx"
)

type createReq struct {
	Name     string   `json:"name"`
	NumNodes int      `json:"num_nodes"`
	Tags     []string `json:"tags"`
	TLS      *bool    `json:"tls"`
	Nested   struct {
		Size string `json:"size"`
	} `json:"nested"`
}

func decode(body string, opt httpx.DecodeOptions) (createReq, error) {
	r := httptest.NewRequest(http.MethodPost, "/v2/databases", strings.NewReader(body))
	var v createReq
	err := httpx.DecodeJSON(httptest.NewRecorder(), r, &v, opt)
	return v, err
}

func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	lax := httpx.DecodeOptions{Limit: 1 << 10}
	strict := httpx.DecodeOptions{Limit: 1 << 10, Strict: true}
	empty := httpx.DecodeOptions{Limit: 1 << 10, AllowEmpty: true}
	tests := []struct {
		name          string
		body          string
		opt           httpx.DecodeOptions
		wantCode      dbtrust.Code
		wantMalformed bool
		wantField     string
	}{
		{"valid", `{"name":"db1","num_nodes":2,"tags":["a"]}`, strict, "", false, ""},
		{"valid with spaces around", " \n{\"name\":\"db1\"}\n\t ", strict, "", false, ""},
		{"exactly the limit", `{"name":"` + strings.Repeat("x", 1024-11) + `"}`, lax, "", false, ""},
		{"one byte over the limit", `{"name":"` + strings.Repeat("x", 1024-10) + `"}`, lax, dbtrust.TooLarge, false, ""},
		{"far over the limit", `{"name":"` + strings.Repeat("x", 1<<20) + `"}`, lax, dbtrust.TooLarge, false, ""},
		{"not JSON", `name=db1`, lax, dbtrust.Invalid, true, ""},
		{"truncated object", `{"name":"db1"`, lax, dbtrust.Invalid, true, ""},
		{"truncated string", `{"name":"db`, lax, dbtrust.Invalid, true, ""},
		{"single quotes", `{'name':'db1'}`, lax, dbtrust.Invalid, true, ""},
		{"trailing comma", `{"name":"db1",}`, lax, dbtrust.Invalid, true, ""},
		{"string for a number", `{"num_nodes":"3"}`, lax, dbtrust.Invalid, false, "num_nodes"},
		{"number for a string", `{"name":42}`, lax, dbtrust.Invalid, false, "name"},
		{"object for an array", `{"tags":{}}`, lax, dbtrust.Invalid, false, "tags"},
		{"number in an array of strings", `{"tags":["a",1]}`, lax, dbtrust.Invalid, false, "tags"},
		{"string for a boolean", `{"tls":"yes"}`, lax, dbtrust.Invalid, false, "tls"},
		{"wrong type nested", `{"nested":{"size":1}}`, lax, dbtrust.Invalid, false, "nested.size"},
		{"fraction for an integer", `{"num_nodes":1.5}`, lax, dbtrust.Invalid, false, "num_nodes"},
		{"array at the top", `[]`, lax, dbtrust.Invalid, false, ""},
		{"string at the top", `"db1"`, lax, dbtrust.Invalid, false, ""},
		{"unknown field, strict", `{"name":"db1","colour":"red"}`, strict, dbtrust.Invalid, false, "colour"},
		{"unknown field, lax", `{"name":"db1","colour":"red"}`, lax, "", false, ""},
		{"two objects", `{"name":"a"}{"name":"b"}`, lax, dbtrust.Invalid, false, ""},
		{"object then a word", `{"name":"a"} extra`, lax, dbtrust.Invalid, false, ""},
		{"object then a closing brace", `{"name":"a"}}`, lax, dbtrust.Invalid, false, ""},
		{"object then a closing bracket", `{"name":"a"}]`, lax, dbtrust.Invalid, false, ""},
		{"object then a number", `{"name":"a"} 1`, lax, dbtrust.Invalid, false, ""},
		{"empty body", ``, lax, dbtrust.Invalid, false, ""},
		{"blank body", " \n\t", lax, dbtrust.Invalid, false, ""},
		{"empty body allowed", ``, empty, "", false, ""},
		{"blank body allowed", "  \n", empty, "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := decode(tt.body, tt.opt)
			if got := dbtrust.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("DecodeJSON(%.60q) code = %q (%v), want %q", tt.body, got, err, tt.wantCode)
			}
			if err == nil {
				return
			}
			var de *dbtrust.Error
			if !errors.As(err, &de) {
				t.Fatalf("DecodeJSON(%.60q) = %T, want *dbtrust.Error", tt.body, err)
			}
			if got := errors.Is(err, httpx.ErrMalformed); got != tt.wantMalformed {
				t.Errorf("errors.Is(DecodeJSON(%.60q), ErrMalformed) = %v, want %v", tt.body, got, tt.wantMalformed)
			}
			if got := dbtrust.ErrorField(err); got != tt.wantField {
				t.Errorf("ErrorField(DecodeJSON(%.60q)) = %q, want %q", tt.body, got, tt.wantField)
			}
			if dbtrust.ErrorMessage(err) == "internal error" || de.Message == "" {
				t.Errorf("ErrorMessage(DecodeJSON(%.60q)) = %q, want a client-safe explanation", tt.body, dbtrust.ErrorMessage(err))
			}
		})
	}
}

func TestDecodeJSONValues(t *testing.T) {
	t.Parallel()
	v, err := decode(`{"name":"db1","num_nodes":3,"tags":["x","y"],"tls":false,"nested":{"size":"s"}}`, httpx.DecodeOptions{Limit: 1024, Strict: true})
	if err != nil {
		t.Fatalf("DecodeJSON(valid) = %v, want nil", err)
	}
	if v.Name != "db1" || v.NumNodes != 3 || len(v.Tags) != 2 || v.TLS == nil || *v.TLS || v.Nested.Size != "s" {
		t.Errorf("DecodeJSON(valid) = %+v, want every field decoded", v)
	}
	v, err = decode(``, httpx.DecodeOptions{Limit: 1024, AllowEmpty: true})
	if err != nil || v.Name != "" || v.TLS != nil {
		t.Errorf("DecodeJSON(empty, AllowEmpty) = %+v, %v, want the zero value, nil", v, err)
	}
}

func TestBearer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header string
		want   string
		wantOK bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BEARER  abc ", "abc", true},
		{"Bearer ", "", false},
		{"Bearer", "", false},
		{"Basic abc", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if tt.header != "" {
			r.Header.Set("Authorization", tt.header)
		}
		got, ok := httpx.Bearer(r)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Bearer(%q) = %q, %v, want %q, %v", tt.header, got, ok, tt.want, tt.wantOK)
		}
	}
}
