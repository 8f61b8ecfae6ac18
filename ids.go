package dbtrust

import (
	"regexp"

	"github.com/google/uuid"
)

// IDs. Every record dbtrust makes (account, instance, CA, uploaded
// certificate, credential) is named by a UUID in its canonical form: 36
// characters, lower-case hex, hyphens at 8-4-4-4-12. ParseID is the one place
// that says what an ID looks like: every dialect and every capability asks it,
// so that a new accepted form is added here once. Instances may also carry
// an ID in Huawei Cloud's form (ParseInstanceID), which DDS and DCS users
// bring from their own inventories.

// ValidID reports whether ParseID accepts id. Callers that go on to look the
// record up should use ParseID's canonical form instead.
func ValidID(id string) bool {
	_, ok := ParseID(id)
	return ok
}

// ParseID returns the canonical form of id and whether id is a record ID at
// all. Only the canonical form is accepted today, so the result is id itself;
// a future accepted form (an ID written another way) maps to its canonical
// form here.
func ParseID(id string) (string, bool) {
	if len(id) != 36 {
		return "", false
	}
	if _, err := uuid.Parse(id); err != nil {
		return "", false
	}
	// At this length uuid.Parse takes only the canonical form, in either
	// case: the lower-case one is the ID (checked without formatting it
	// back, which this hot path would pay for in an allocation).
	for i := 0; i < len(id); i++ {
		if 'A' <= id[i] && id[i] <= 'F' {
			return "", false
		}
	}
	return id, true
}

// huaweiInstanceIDRE is Huawei Cloud's instance ID: 32 lower-case hex digits
// and a 4-character suffix naming the service, "in" and two digits (DDS
// instances end in "in02", RDS ones in "in01").
var huaweiInstanceIDRE = regexp.MustCompile(`^[0-9a-f]{32}in[0-9]{2}$`)

// ParseInstanceID is ParseID for instances: it also accepts an ID in Huawei
// Cloud's form, which is its own canonical form.
func ParseInstanceID(id string) (string, bool) {
	if huaweiInstanceIDRE.MatchString(id) {
		return id, true
	}
	return ParseID(id)
}

// ValidInstanceID reports whether id has the form of an instance ID.
func ValidInstanceID(id string) bool {
	_, ok := ParseInstanceID(id)
	return ok
}
