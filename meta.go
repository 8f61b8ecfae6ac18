package dbtrust

import (
	"bytes"
	"errors"
	"time"

	"github.com/google/uuid"
)

// This file holds what the capabilities beside the core (uploaded trust
// certificates, stored credentials) share: client-given labels, the
// bookkeeping each record carries, the user IDs that name who wrote a record,
// and sealed list cursors.

// Label is a client-given name/value pair kept verbatim.
type Label struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Meta is the bookkeeping a labelled, revisioned record carries.
type Meta struct {
	Labels     []Label
	CreatedAt  time.Time
	ModifiedAt time.Time
	CreatedBy  string // a user UUID; the nil UUID for records dbtrust made itself
	ModifiedBy string // "" until the first update
	Revision   int64  // bumped by every update; conditional updates compare it
}

// MaxLabels is how many labels one record may carry.
const MaxLabels = 1000

// CheckLabels refuses a label list longer than MaxLabels; nil passes.
func CheckLabels(l *[]Label) error {
	if l != nil && len(*l) > MaxLabels {
		return FieldError("metadata.labels", "at most %d labels", MaxLabels)
	}
	return nil
}

// CheckRecordVersion accepts the record versions a labelled record may be
// written with: "1.0" or "1.1".
func CheckRecordVersion(v string) error {
	if v != "1.0" && v != "1.1" {
		return FieldError("version", `version must be "1.0" or "1.1"`)
	}
	return nil
}

// WholeSecond truncates t to the whole second, in UTC: record timestamps are
// kept without fractions, as clients parse them.
func WholeSecond(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// userNamespace derives stable user UUIDs (version 5) from principal subjects.
var userNamespace = uuid.MustParse("6f1c1f39-4a1e-4f0e-9a57-5b8d7d0d2a11")

// NilUserID is the user ID of records dbtrust creates itself.
const NilUserID = "00000000-0000-0000-0000-000000000000"

// UserID returns the UUID that stands for p in createdBy / modifiedBy fields:
// a version-5 UUID of its subject, or the nil UUID for the local operator.
func UserID(p Principal) string {
	if p.Subject == "" || p.Subject == "operator" {
		return NilUserID
	}
	return uuid.NewSHA1(userNamespace, []byte(p.Subject)).String()
}

// ---- list cursors ----

// SealCursor seals a list position for p's account, so that a client can hand
// it back but neither read nor forge it. purpose binds it to one collection.
func (s *Service) SealCursor(p Principal, purpose string, data []byte) ([]byte, error) {
	b, err := s.sealer.Seal(data, cursorAAD(p, purpose))
	if err != nil {
		return nil, Wrap(Internal, err, "cursor sealing failed")
	}
	return b, nil
}

// OpenCursor opens a cursor made by SealCursor; anything else is Invalid.
func (s *Service) OpenCursor(p Principal, purpose string, sealed []byte) ([]byte, error) {
	b, err := s.sealer.Open(sealed, cursorAAD(p, purpose))
	if err != nil {
		return nil, &Error{Code: Invalid, Message: "the list cursor is not one this server issued for this list", Err: err}
	}
	return b, nil
}

func cursorAAD(p Principal, purpose string) []byte {
	var b bytes.Buffer
	b.WriteString("list-cursor:")
	b.WriteString(p.AccountID)
	b.WriteByte(':')
	b.WriteString(purpose)
	return b.Bytes()
}

// ErrIDMismatch is carried in Error.Err when an update's body names another
// record than the one addressed.
var ErrIDMismatch = errors.New("the body's id differs from the one addressed")

// CheckUpdate applies the rules every update of a labelled record shares:
// bodyID, when set, must be the id addressed (Conflict); version must be a
// record version; and ifRevision, when not zero, must still be the stored
// revision (PreconditionFailed). what names the record in messages.
func CheckUpdate(id, bodyID, version string, stored, ifRevision int64, what string) error {
	if bodyID != "" && bodyID != id {
		return &Error{Code: Conflict, Field: "id", Message: "id differs from the " + what + " addressed", Err: ErrIDMismatch}
	}
	if err := CheckRecordVersion(version); err != nil {
		return err
	}
	if ifRevision != 0 && ifRevision != stored {
		return Errorf(PreconditionFailed, "the %s has changed", what)
	}
	return nil
}
