package credential

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Store keeps credentials with their sealed key stores. It holds no rules:
// the Service decides, the Store keeps.
//
// The contract every implementation honours (internal/storetest.RunCredential
// checks it):
//   - Every method is safe for concurrent use, by goroutines and by several
//     processes sharing one database, and honours ctx.
//   - Each credential belongs to one account. A credential that does not
//     exist, or that belongs to another account than the one named, is a
//     *dbtrust.Error with Code NotFound; the two are not told apart.
//   - A second credential with the same non-empty UniqueKey in one account is
//     Conflict, also when two writers race.
//   - A database that cannot be reached is Code Unavailable.
//   - Lists are oldest first (CreatedAt, then ID), leave SealedKeyStore nil,
//     and are empty, not an error, when there is nothing to list.
//   - Every write is one statement or one transaction: all or nothing.
//   - Sealed key stores are kept and returned byte for byte; times go in and
//     come out in UTC, with at least microsecond precision.
type Store interface {
	// CreateCredential inserts c with its sealed key store. NotFound when its
	// account does not exist; Conflict when its ID or UniqueKey is taken.
	CreateCredential(ctx context.Context, c Credential) error
	// GetCredential returns one of the account's credentials with its sealed
	// key store.
	GetCredential(ctx context.Context, accountID, id string) (Credential, error)
	// ListCredentials returns every credential of the account.
	ListCredentials(ctx context.Context, accountID string) ([]Credential, error)
	// ListCredentialKeysAfter returns the keys of at most limit of the
	// account's credentials that meet every condition of where and come
	// strictly after (afterCreated, afterID) in list order; from the first
	// when afterID is "". Paging this way neither skips nor repeats a
	// credential when others are added or removed between pages.
	ListCredentialKeysAfter(ctx context.Context, accountID string, where []Cond, afterCreated time.Time, afterID string, limit int) ([]Key, error)
	// GetCredentials returns those of the account's credentials whose IDs
	// are given, in list order, as lists do (no key store); IDs of none are
	// left out.
	GetCredentials(ctx context.Context, accountID string, ids []string) ([]Credential, error)
	// CountCredentials returns how many of the account's credentials meet
	// every condition of where.
	CountCredentials(ctx context.Context, accountID string, where []Cond) (int, error)
	// CredentialsVersion returns a value that differs after every committed
	// create, update or delete of one of the account's credentials, and is
	// never one it had before; 0 before the first.
	CredentialsVersion(ctx context.Context, accountID string) (int64, error)
	// UpdateCredential writes c whole, c.Revision included, only if the
	// stored revision is still prevRevision: PreconditionFailed when it is
	// not, NotFound when the account has no such credential, Conflict when
	// the new UniqueKey is taken. A nil SealedKeyStore keeps the stored one.
	// Of two updates from the same revision, exactly one succeeds.
	UpdateCredential(ctx context.Context, c Credential, prevRevision int64) error
	// DeleteCredential removes one of the account's credentials.
	DeleteCredential(ctx context.Context, accountID, id string) error
}

// Key is what a page of a list needs of each credential: its ID, its
// place in list order, and its revision, which tells a caller holding an
// earlier read whether that read is still the credential's.
type Key struct {
	ID        string
	CreatedAt time.Time
	Revision  int64
}

// Field is a credential's member a list condition reads, as text: the text
// Astra lists it with.
type Field string

// The fields a Cond may name. An empty KeyType or ModifiedBy has no text: no
// condition on it holds. Valid reads "true" or "false".
const (
	FieldID         Field = "id"
	FieldName       Field = "name"
	FieldVersion    Field = "version"
	FieldKeyType    Field = "keyType"
	FieldValid      Field = "valid"
	FieldCreatedBy  Field = "createdBy"
	FieldModifiedBy Field = "modifiedBy"
)

// Cond is one condition of a list: the field's text compared with Value
// byte by byte (Op "eq", "lt", "gt", "lte", "gte"), or holding Value as a
// substring (Op "in"). Value is valid UTF-8 without NUL bytes.
type Cond struct {
	Field Field
	Op    string
	Value string
}

// Holds says whether the condition holds for c: the meaning every Store
// gives a Cond, written once in Go.
func (k Cond) Holds(c Credential) bool {
	text, ok := k.Field.text(c)
	if !ok {
		return false
	}
	switch k.Op {
	case "eq":
		return text == k.Value
	case "lt":
		return text < k.Value
	case "gt":
		return text > k.Value
	case "lte":
		return text <= k.Value
	case "gte":
		return text >= k.Value
	case "in":
		return strings.Contains(text, k.Value)
	}
	return false
}

// text is c's text of the field; false when it has none.
func (f Field) text(c Credential) (string, bool) {
	switch f {
	case FieldID:
		return c.ID, true
	case FieldName:
		return c.Name, true
	case FieldVersion:
		return c.Version, true
	case FieldKeyType:
		return c.KeyType, c.KeyType != ""
	case FieldValid:
		return strconv.FormatBool(c.Valid), true
	case FieldCreatedBy:
		return c.CreatedBy, true
	case FieldModifiedBy:
		return c.ModifiedBy, c.ModifiedBy != ""
	}
	return "", false
}

var knownFields = map[Field]bool{FieldID: true, FieldName: true, FieldVersion: true, FieldKeyType: true, FieldValid: true,
	FieldCreatedBy: true, FieldModifiedBy: true}

// CheckConds refuses a condition with an unknown field or operator, or a
// value that is not valid UTF-8 or holds a NUL byte.
func CheckConds(where []Cond) error {
	for _, k := range where {
		if !knownFields[k.Field] {
			return fmt.Errorf("credential list: unknown field %q", k.Field)
		}
		switch k.Op {
		case "eq", "lt", "gt", "lte", "gte", "in":
		default:
			return fmt.Errorf("credential list: unknown operator %q", k.Op)
		}
		if !utf8.ValidString(k.Value) || strings.IndexByte(k.Value, 0) >= 0 {
			return fmt.Errorf("credential list: a condition's value must be UTF-8 text without NUL")
		}
	}
	return nil
}
