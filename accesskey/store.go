package accesskey

import (
	"context"
	"time"
)

// Store keeps access keys with their sealed secrets. It holds no rules: the
// Service decides, the Store keeps.
//
// The contract every implementation honours (internal/storetest.RunAccessKey
// checks it):
//   - Every method is safe for concurrent use, by goroutines and by several
//     processes sharing one database, and honours ctx.
//   - A key that does not exist, or that is not in the account named, is a
//     *dbtrust.Error with Code NotFound; the two are not told apart.
//   - A database that cannot be reached is Code Unavailable.
//   - Every write is one statement: all or nothing.
//   - Sealed secrets are kept and returned byte for byte; times go in and
//     come out in UTC, with at least microsecond precision.
type Store interface {
	// CreateAccessKey inserts k. Conflict when the AK exists; NotFound when
	// its account does not.
	CreateAccessKey(ctx context.Context, k Key) error
	// GetAccessKey returns a key by AK whatever its account, revoked ones
	// included: the AK is what a signed request names.
	GetAccessKey(ctx context.Context, id string) (Key, error)
	// ListAccessKeys returns the account's keys oldest first (CreatedAt, then
	// AK); an empty list is not an error.
	ListAccessKeys(ctx context.Context, accountID string) ([]Key, error)
	// RevokeAccessKey sets RevokedAt; NotFound when the key is not in the
	// account or is already revoked.
	RevokeAccessKey(ctx context.Context, accountID, id string, at time.Time) error
}
