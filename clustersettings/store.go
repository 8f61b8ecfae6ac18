package clustersettings

import "context"

// Store keeps cluster settings. It holds no rules: the Service decides, the
// Store keeps.
//
// The contract every implementation honours (internal/storetest.RunClusterSettings
// checks it):
//   - Every method is safe for concurrent use, by goroutines and by several
//     processes sharing one database, and honours ctx.
//   - Settings belong to an instance of one account; an instance that does
//     not exist, or is not in the account named, is a *dbtrust.Error with
//     Code NotFound. Settings go when their instance is deleted.
//   - A database that cannot be reached is Code Unavailable.
//   - Every write is one transaction: all or nothing. Two writes of
//     different parts of one instance's settings both stay written.
//   - Times go in and come out in UTC, with at least microsecond precision.
type Store interface {
	// ListClusterSettings returns the settings stored for the account's
	// instances, in no particular order (none: an empty list).
	ListClusterSettings(ctx context.Context, accountID string) ([]Stored, error)
	// PutClusterSettings writes the parts of s that are set (non-nil) and
	// keeps the others. NotFound when the instance is not the account's.
	PutClusterSettings(ctx context.Context, s Stored) error
}
