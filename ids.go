package dbtrust

import "github.com/google/uuid"

// IDs. Every record dbtrust makes (account, instance, CA, uploaded
// certificate, credential) is named by a UUID in its canonical form: 36
// characters, lower-case hex, hyphens at 8-4-4-4-12. ParseID is the one place
// that says what an ID looks like: every dialect and every capability asks it,
// so that a new accepted form is added here once.

// ValidID reports whether id has the form of a dbtrust record ID.
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
	u, err := uuid.Parse(id)
	if err != nil || u.String() != id {
		return "", false
	}
	return id, true
}
