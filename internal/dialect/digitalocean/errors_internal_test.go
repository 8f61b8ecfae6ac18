package digitalocean

import (
	"testing"

	"github.com/dbtrust/dbtrust"
)

func TestErrorTableCoversEveryCode(t *testing.T) {
	for _, c := range dbtrust.Codes {
		row, ok := errorTable[c]
		if !ok {
			t.Errorf("errorTable has no row for Code %q", c)
			continue
		}
		if row.status < 400 || row.id == "" {
			t.Errorf("errorTable[%q] = %+v, want an error status and an id", c, row)
		}
	}
}
