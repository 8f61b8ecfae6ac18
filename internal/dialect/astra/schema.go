package astra

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// schema is the small part of JSON Schema that Astra's resource definitions
// use: types, required and closed objects, enums, patterns, lengths. The
// request schemas below are derived from Astra's published API definitions;
// the tests hold the response schemas.
type schema struct {
	typ        string             // "object", "array", "string", "number"; "" accepts any type
	props      map[string]*schema // object members
	required   []string
	closed     bool    // no members beyond props
	additional *schema // the schema of members beyond props (when not closed)
	items      *schema
	unique     bool // array items must differ
	anyOf      []*schema
	enum       []string
	pattern    *regexp.Regexp
	minLen     int
	maxLen     int // 0: no limit
}

// check reports the first way v (decoded with UseNumber) breaks s; path names
// where, in JSON Pointer style.
func (s *schema) check(v any, path string) error {
	if len(s.anyOf) > 0 {
		var errs []string
		for _, alt := range s.anyOf {
			err := alt.check(v, path)
			if err == nil {
				return nil
			}
			errs = append(errs, err.Error())
		}
		return fmt.Errorf("%s: matches none of the allowed forms (%s)", at(path), strings.Join(errs, "; "))
	}
	switch s.typ {
	case "object":
		return s.checkObject(v, path)
	case "array":
		return s.checkArray(v, path)
	case "string":
		return s.checkString(v, path)
	case "number":
		switch v.(type) {
		case json.Number, float64:
		default:
			return fmt.Errorf("%s: must be a number", at(path))
		}
	}
	return nil
}

// checkObject checks the required members, then each member in name order.
func (s *schema) checkObject(v any, path string) error {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: must be an object", at(path))
	}
	for _, r := range s.required {
		if _, ok := m[r]; !ok {
			return fmt.Errorf("%s: required member %q is missing", at(path), r)
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		sub, ok := s.props[k]
		if !ok {
			if s.closed {
				return fmt.Errorf("%s: member %q is not allowed", at(path), k)
			}
			sub = s.additional
		}
		if sub != nil {
			if err := sub.check(m[k], path+"/"+k); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkArray checks uniqueness, when asked, then each item.
func (s *schema) checkArray(v any, path string) error {
	a, ok := v.([]any)
	if !ok {
		return fmt.Errorf("%s: must be an array", at(path))
	}
	if s.unique {
		seen := make(map[string]bool, len(a))
		for i, e := range a {
			b, _ := json.Marshal(e)
			if seen[string(b)] {
				return fmt.Errorf("%s/%d: repeats an earlier item; items must be unique", at(path), i)
			}
			seen[string(b)] = true
		}
	}
	if s.items != nil {
		for i, e := range a {
			if err := s.items.check(e, fmt.Sprintf("%s/%d", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkString checks the enum, the length in characters and the pattern.
func (s *schema) checkString(v any, path string) error {
	str, ok := v.(string)
	if !ok {
		return fmt.Errorf("%s: must be a string", at(path))
	}
	if len(s.enum) > 0 && !contains(s.enum, str) {
		return fmt.Errorf("%s: must be one of %s", at(path), strings.Join(s.enum, ", "))
	}
	n := utf8.RuneCountInString(str)
	if n < s.minLen || (s.maxLen > 0 && n > s.maxLen) {
		return fmt.Errorf("%s: length must be between %d and %d", at(path), s.minLen, s.maxLen)
	}
	if s.pattern != nil && !s.pattern.MatchString(str) {
		return fmt.Errorf("%s: does not match %s", at(path), s.pattern)
	}
	return nil
}

func at(path string) string {
	if path == "" {
		return "/"
	}
	return path
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// Shapes shared by Astra's resource definitions.
var (
	base64RE     = regexp.MustCompile(`^([A-Za-z0-9+/]{4})*(([A-Za-z0-9+/]{2})==|([A-Za-z0-9+/]{3})=)?$`)
	timeRE       = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.,][0-9]{1,9})?Z$`)
	identifierRE = regexp.MustCompile(`^([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}|00000000-0000-0000-0000-000000000000)$`)

	str        = &schema{typ: "string"}
	base64Str  = &schema{typ: "string", pattern: base64RE}
	timeStr    = &schema{typ: "string", pattern: timeRE}
	identifier = &schema{typ: "string", pattern: identifierRE}
	boolStr    = enumStr("true", "false")
	labelShape = &schema{typ: "object", closed: true, required: []string{"name", "value"},
		props: map[string]*schema{"name": str, "value": str}}
	metadataShape = &schema{typ: "object", closed: true, props: map[string]*schema{
		"labels":                {typ: "array", items: labelShape, unique: true},
		"creationTimestamp":     timeStr,
		"modificationTimestamp": timeStr,
		"createdBy":             identifier,
		"modifiedBy":            identifier,
	}}
)

func enumStr(values ...string) *schema { return &schema{typ: "string", enum: values} }

func withProps(base map[string]*schema, extra map[string]*schema) map[string]*schema {
	out := map[string]*schema{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

var certificateWritable = map[string]*schema{
	"type":              enumStr(typeCertificate),
	"version":           enumStr("1.1", "1.0"),
	"certUse":           enumStr("rootCA", "intermediateCA"),
	"cert":              base64Str,
	"isSelfSigned":      boolStr,
	"trustStateDesired": enumStr("untrusted", "trusted"),
	"metadata":          metadataShape,
}

var credentialWritable = map[string]*schema{
	"type":                enumStr(typeCredential),
	"version":             enumStr("1.1", "1.0"),
	"name":                {typ: "string", minLen: 1, maxLen: 127},
	"keyType":             enumStr("generic", "passwordHash", "apikey", "kubeconfig", "certificate", "privkey", "s3"),
	"keyStore":            {typ: "object", additional: base64Str},
	"valid":               boolStr,
	"validFromTimestamp":  timeStr,
	"validUntilTimestamp": timeStr,
	"metadata":            metadataShape,
}

// Request bodies. A PUT may carry back the read-only members a client read.
var (
	certificatePostSchema = &schema{typ: "object", closed: true, required: []string{"type", "version", "cert"}, props: certificateWritable}
	certificatePutSchema  = &schema{typ: "object", closed: true, required: []string{"type", "version"},
		props: withProps(certificateWritable, map[string]*schema{
			"id":              identifier,
			"cn":              {typ: "string", minLen: 1, maxLen: 511},
			"expiryTimestamp": timeStr,
			"trustState":      enumStr("untrusted", "trusted", "expired"),
			"trustStateTransitions": {typ: "array", items: &schema{typ: "object", closed: true, required: []string{"from", "to"},
				props: map[string]*schema{"from": str, "to": {typ: "array", items: str}}}},
			"trustStateDetails": {typ: "array", items: &schema{typ: "object", closed: true, required: []string{"type", "title", "detail"},
				props: map[string]*schema{"type": str, "title": {typ: "string", minLen: 1, maxLen: 40},
					"detail": {typ: "string", minLen: 1, maxLen: 511}, "additionalDetails": {typ: "object"}}}},
		})}
	credentialPostSchema = &schema{typ: "object", closed: true, required: []string{"type", "version", "name", "keyStore"}, props: credentialWritable}
	// The 24.02 definition also requires keyStore on PUT; clients such as
	// actoolkit leave it out to keep the stored secret, so it is optional here.
	credentialPutSchema = &schema{typ: "object", closed: true, required: []string{"type", "version", "name"},
		props: withProps(credentialWritable, map[string]*schema{"id": identifier})}
)
