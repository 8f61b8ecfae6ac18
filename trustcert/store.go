package trustcert

import "context"

// Store keeps uploaded certificates. It holds no rules: the Service decides,
// the Store keeps.
//
// The contract every implementation honours (internal/storetest.RunTrustCert
// checks it):
//   - Every method is safe for concurrent use, by goroutines and by several
//     processes sharing one database, and honours ctx.
//   - Each certificate belongs to one account. A certificate that does not
//     exist, or that belongs to another account than the one named, is a
//     *dbtrust.Error with Code NotFound; the two are not told apart.
//   - A database that cannot be reached is Code Unavailable.
//   - Lists are oldest first (CreatedAt, then ID); an empty list is not an
//     error.
//   - Every write is one statement or one transaction: all or nothing.
//   - Times go in and come out in UTC, with at least microsecond precision;
//     labels come out as they went in, in order (an empty list, never nil).
type Store interface {
	// CreateTrustCert inserts c. NotFound when its account does not exist;
	// Conflict when its ID is taken.
	CreateTrustCert(ctx context.Context, c Certificate) error
	// GetTrustCert returns one of the account's certificates.
	GetTrustCert(ctx context.Context, accountID, id string) (Certificate, error)
	// ListTrustCerts returns every certificate of the account.
	ListTrustCerts(ctx context.Context, accountID string) ([]Certificate, error)
	// UpdateTrustCert writes c whole, c.Revision included, only if the
	// stored revision is still prevRevision: PreconditionFailed when it is
	// not, NotFound when the account has no such certificate. Of two updates
	// from the same revision, exactly one succeeds.
	UpdateTrustCert(ctx context.Context, c Certificate, prevRevision int64) error
	// DeleteTrustCert removes one of the account's certificates.
	DeleteTrustCert(ctx context.Context, accountID, id string) error
}
