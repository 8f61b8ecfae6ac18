package dbtrust_test

import (
	"testing"

	"github.com/dbtrust/dbtrust"
)

func TestValidID(t *testing.T) {
	for s, want := range map[string]bool{
		"a5212e7e-402b-4cff-bba0-63f3c6505199":          true,
		"58e26f6a-a631-5122-8e0e-7afe306675c0":          true,
		"00000000-0000-0000-0000-000000000000":          true,
		"A5212E7E-402B-4CFF-BBA0-63F3C6505199":          false,
		"a5212e7e402b4cffbba063f3c6505199":              false,
		"a5212e7e-402b-4cff-bba0-63f3c650519":           false,
		"{a5212e7e-402b-4cff-bba0-63f3c6505199}":        false,
		"urn:uuid:a5212e7e-402b-4cff-bba0-63f3c6505199": false,
		"a5212e7e-402b-4cff-bba0-63f3c650519g":          false,
		"../../etc/passwd":                              false,
		"":                                              false,
	} {
		if got := dbtrust.ValidID(s); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestParseInstanceID(t *testing.T) {
	for s, want := range map[string]bool{
		"a5212e7e-402b-4cff-bba0-63f3c6505199":      true, // dbtrust's own
		"0123456789abcdef0123456789abcdefin02":      true, // Huawei DDS
		"0123456789abcdef0123456789abcdefin01":      true, // Huawei RDS
		"0123456789ABCDEF0123456789ABCDEFin02":      false,
		"0123456789abcdef0123456789abcdefIN02":      false,
		"0123456789abcdef0123456789abcdefin2":       false,
		"0123456789abcdef0123456789abcdefin021":     false,
		"0123456789abcdef0123456789abcdeg" + "in02": false,
		"0123456789abcdef0123456789abcdef":          false,
		"0123456789abcdef0123456789abcdefno02":      false,
		"":                                          false,
	} {
		id, ok := dbtrust.ParseInstanceID(s)
		if ok != want || ok && id != s {
			t.Errorf("ParseInstanceID(%q) = %q, %v; want %v", s, id, ok, want)
		}
		if want && len(s) != 36 && dbtrust.ValidID(s) {
			t.Errorf("ValidID(%q) = true: a Huawei-form ID names instances only", s)
		}
	}
}
