package trustcert_test

import (
	"testing"
	"time"

	"github.com/dbtrust/dbtrust/trustcert"
)

func TestCertificateTrustState(t *testing.T) {
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		desired string
		now     time.Time
		want    string
	}{
		{trustcert.Trusted, exp.Add(-time.Second), trustcert.Trusted},
		{trustcert.Untrusted, exp.Add(-time.Second), trustcert.Untrusted},
		{trustcert.Trusted, exp, trustcert.Expired},
		{trustcert.Untrusted, exp.Add(time.Hour), trustcert.Expired},
	}
	for _, tt := range tests {
		c := trustcert.Certificate{NotAfter: exp, TrustDesired: tt.desired}
		if got := c.TrustState(tt.now); got != tt.want {
			t.Errorf("TrustState(desired %s, at %s) = %s, want %s", tt.desired, tt.now, got, tt.want)
		}
	}
}
