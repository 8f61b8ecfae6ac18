package dbtrust_test

import (
	"regexp"
	"testing"

	"github.com/dbtrust/dbtrust"
)

func TestUserID(t *testing.T) {
	v5 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a := dbtrust.UserID(dbtrust.Principal{Subject: "token:0123456789abcdef"})
	b := dbtrust.UserID(dbtrust.Principal{Subject: "token:fedcba9876543210"})
	if !v5.MatchString(a) || a == b || a != dbtrust.UserID(dbtrust.Principal{Subject: "token:0123456789abcdef"}) {
		t.Errorf("UserID = %q, %q: want stable, distinct version-5 UUIDs", a, b)
	}
	if got := dbtrust.UserID(dbtrust.Operator("x")); got != dbtrust.NilUserID {
		t.Errorf("UserID(operator) = %q, want the nil UUID", got)
	}
}
