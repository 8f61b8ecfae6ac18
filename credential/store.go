package credential

import (
	"context"
	"time"
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
	// ListCredentialsAfter returns at most limit of the account's credentials
	// that come strictly after (afterCreated, afterID) in list order; from the
	// first when afterID is "". Paging this way neither skips nor repeats a
	// credential when others are added or removed between pages.
	ListCredentialsAfter(ctx context.Context, accountID string, afterCreated time.Time, afterID string, limit int) ([]Credential, error)
	// CountCredentials returns how many credentials the account holds.
	CountCredentials(ctx context.Context, accountID string) (int, error)
	// UpdateCredential writes c whole, c.Revision included, only if the
	// stored revision is still prevRevision: PreconditionFailed when it is
	// not, NotFound when the account has no such credential, Conflict when
	// the new UniqueKey is taken. A nil SealedKeyStore keeps the stored one.
	// Of two updates from the same revision, exactly one succeeds.
	UpdateCredential(ctx context.Context, c Credential, prevRevision int64) error
	// DeleteCredential removes one of the account's credentials.
	DeleteCredential(ctx context.Context, accountID, id string) error
}
