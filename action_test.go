package dbtrust_test

import (
	"testing"

	"github.com/dbtrust/dbtrust"
)

// Reading a CA is a viewer's right whatever API names the call; changing an
// instance's TLS is an admin's; an action the core does not know is no one's.
func TestAuthorize(t *testing.T) {
	for _, tt := range []struct {
		action dbtrust.Action
		role   dbtrust.Role
		want   dbtrust.Code
	}{
		{dbtrust.ActionReadCA, dbtrust.RoleViewer, ""},
		{dbtrust.ActionReadInstance, dbtrust.RoleViewer, ""},
		{dbtrust.ActionReadAccount, dbtrust.RoleViewer, ""},
		{dbtrust.ActionSetTLS, dbtrust.RoleMember, dbtrust.Forbidden},
		{dbtrust.ActionSetTLS, dbtrust.RoleAdmin, ""},
		{dbtrust.Action("instance.explode"), dbtrust.RoleOwner, dbtrust.Forbidden},
	} {
		p := dbtrust.Principal{AccountID: "a", Role: tt.role, Subject: "token:x"}
		if got := dbtrust.ErrorCode(dbtrust.Authorize(p, tt.action)); got != tt.want {
			t.Errorf("Authorize(%s, %s) = %q, want %q", tt.role, tt.action, got, tt.want)
		}
	}
	if err := dbtrust.Authorize(dbtrust.Principal{Role: dbtrust.RoleOwner}, dbtrust.ActionReadCA); dbtrust.ErrorCode(err) != dbtrust.Forbidden {
		t.Errorf("Authorize(no account) = %v, want Forbidden", err)
	}
}

func TestParseAuditLimit(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
		code dbtrust.Code
	}{
		{"", dbtrust.DefaultAuditLimit, ""},
		{"1", 1, ""},
		{"1000", 1000, ""},
		{"0", 0, dbtrust.Invalid},
		{"1001", 0, dbtrust.Invalid},
		{"-5", 0, dbtrust.Invalid},
		{"ten", 0, dbtrust.Invalid},
	} {
		got, err := dbtrust.ParseAuditLimit(tt.in)
		if code := dbtrust.ErrorCode(err); code != tt.code || code == "" && got != tt.want {
			t.Errorf("ParseAuditLimit(%q) = %d, %v; want %d, %q", tt.in, got, err, tt.want, tt.code)
		}
	}
}
