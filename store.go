package dbtrust

import (
	"context"
	"time"
)

// Store persists the core's records. It holds no business rules: the Service
// decides, the Store keeps. It is the union of six narrower contracts, one
// per kind of record, so that each can be read (and faked, or implemented
// elsewhere) on its own. The capabilities beside the core have Stores of
// their own (trustcert.Store, credential.Store, accesskey.Store); the one SQL
// implementation (internal/sqlstore) satisfies them all.
//
// The contract every implementation honours (internal/storetest checks it):
//   - Every method is safe for concurrent use, by goroutines and by several
//     processes sharing one database.
//   - Every method honours ctx: when it is done, the call returns promptly.
//   - A record that does not exist, or that belongs to another account than the
//     one named, is a *Error with Code NotFound; the two are not told apart.
//   - A write that would break a uniqueness rule is Code Conflict.
//   - A database that cannot be reached is Code Unavailable.
//   - Every method that writes more than one row does so in one transaction:
//     all of it happens or none of it does.
//   - Times go in and come out in UTC, with at least millisecond precision.
//   - Sealed values are stored and returned byte for byte; the Store never
//     sees a secret in clear.
//   - A write called with a context that carries an audit event (WithAudit)
//     appends that event to the audit chain in the write's own transaction
//     and calls MarkAuditRecorded: the change and its event are committed
//     together, or neither is. If the event cannot be appended, the write
//     fails (Unavailable or Internal) and changes nothing.
type Store interface {
	AccountStore
	InstanceStore
	LifecycleStore
	AdoptionStore
	WebhookStore
	AuditStore
	// Ping reports whether the database answers (Code Unavailable if not).
	Ping(ctx context.Context) error
	// Close releases the database; no method may be called after it.
	Close() error
}

// AccountStore keeps accounts, their bearer tokens and the server's own
// signing keys, under the Store contract.
type AccountStore interface {
	// CreateAccount inserts the account and its first token together.
	// Conflict when the name or project ID is taken.
	CreateAccount(ctx context.Context, a Account, first Token) error
	// GetAccount returns an account by ID.
	GetAccount(ctx context.Context, id string) (Account, error)
	// GetAccountByProject finds the account that owns a project ID.
	GetAccountByProject(ctx context.Context, projectID string) (Account, error)
	// ListAccounts returns every account, oldest first.
	ListAccounts(ctx context.Context) ([]Account, error)

	// CreateToken inserts a token; NotFound when its account does not exist.
	CreateToken(ctx context.Context, t Token) error
	// GetToken returns a token by ID whatever its account, revoked ones included.
	GetToken(ctx context.Context, id string) (Token, error)
	// ListTokens returns the account's tokens oldest first.
	ListTokens(ctx context.Context, accountID string) ([]Token, error)
	// RevokeToken sets RevokedAt; NotFound when the token is not in the account
	// or is already revoked.
	RevokeToken(ctx context.Context, accountID, id string, at time.Time) error

	// CreateSession inserts a console session (session.go); NotFound when
	// its token does not exist.
	CreateSession(ctx context.Context, s Session) error
	// GetSession returns a session by ID; NotFound when there is none.
	GetSession(ctx context.Context, id string) (Session, error)
	// DeleteSession removes a session; NotFound when there is none.
	DeleteSession(ctx context.Context, id string) error
	// DeleteExpiredSessions removes every session whose ExpiresAt is not
	// after before.
	DeleteExpiredSessions(ctx context.Context, before time.Time) error

	// CreateSigningKey inserts a server signing key; Conflict when one of that
	// name (or ID) exists, so that racing replicas keep the first.
	CreateSigningKey(ctx context.Context, k SigningKey) error
	// GetSigningKey returns the signing key of that name.
	GetSigningKey(ctx context.Context, name string) (SigningKey, error)
}

// InstanceStore keeps instances and their CA lineage, under the Store
// contract.
type InstanceStore interface {
	// CreateInstance inserts the instance and its first CA together.
	// Conflict when the account already has an instance of that name.
	CreateInstance(ctx context.Context, inst Instance, ca CA) error
	// CreateInstances inserts every instance with its first CA, and appends
	// events to the audit chain in order, in one transaction. Conflict,
	// wrapping an *ImportConflict that names the first one, when an
	// instance's name is taken in its account or its ID is taken.
	CreateInstances(ctx context.Context, batch []NewInstance, events []AuditEvent) error
	// GetInstance returns one of the account's instances.
	GetInstance(ctx context.Context, accountID, id string) (Instance, error)
	// ListInstances returns the account's instances oldest first; a non-empty
	// tag keeps only the instances that carry it.
	ListInstances(ctx context.Context, accountID, tag string) ([]Instance, error)
	// DeleteInstance removes the instance with everything that hangs off it.
	DeleteInstance(ctx context.Context, accountID, id string) error
	// UpdateInstanceTLS switches TLS on or off.
	UpdateInstanceTLS(ctx context.Context, accountID, id string, tls bool) error
	// UpdateInstanceEndpoints replaces the instance's endpoints (an empty
	// list stores none), keeping their order.
	UpdateInstanceEndpoints(ctx context.Context, accountID, id string, eps []Endpoint) error

	// ListCAs returns every CA of the instance, retired ones included, oldest first.
	ListCAs(ctx context.Context, accountID, instanceID string) ([]CA, error)
	// ListServedCAs returns the CAs of every instance of the account that are
	// served in bundles (current, next, previous), oldest first.
	ListServedCAs(ctx context.Context, accountID string) ([]CA, error)
}

// LifecycleStore keeps issued certificates, their revocation, CA rotation
// and rotation policies, under the Store contract.
type LifecycleStore interface {
	// InsertIssuedCert records an issued certificate and its audit event in
	// one transaction. Conflict when its serial or fingerprint is already
	// recorded; NotFound when its instance or CA does not exist. Neither row
	// is written when it fails.
	InsertIssuedCert(ctx context.Context, c IssuedCertificate, e AuditEvent) error
	// GetIssuedCert returns one of the account's certificates by serial.
	GetIssuedCert(ctx context.Context, accountID, serial string) (IssuedCertificate, error)
	// ListIssuedCerts returns the account's certificates matching f, oldest
	// first (an empty list, not an error, when there is none).
	ListIssuedCerts(ctx context.Context, accountID string, f CertFilter) ([]IssuedCertificate, error)
	// RevokeIssuedCert sets RevokedAt and the reason, and records e (with
	// its events) in the same transaction. NotFound when the certificate is
	// not the account's; Conflict when it is already revoked; neither is
	// written when it fails.
	RevokeIssuedCert(ctx context.Context, accountID, serial string, at time.Time, reason string, e AuditEvent) error
	// GetCA returns a CA by ID whatever its account (CRLs are public).
	GetCA(ctx context.Context, id string) (CA, error)
	// RevokedIssuedCerts returns the revoked certificates of a CA, oldest
	// revocation first.
	RevokedIssuedCerts(ctx context.Context, caID string) ([]IssuedCertificate, error)
	// AddCA inserts a CA (a rotation's next CA) for an existing instance of
	// the account, and records e (with its events) in the same transaction.
	// Conflict when the instance already has a CA in that state.
	AddCA(ctx context.Context, ca CA, e AuditEvent) error
	// MoveCAs applies the moves to the instance's CAs in order, in one
	// transaction. A move changes the state of the one CA in state From to
	// To; when there is no such CA, an Optional move does nothing and any
	// other move fails the whole call with Conflict, changing nothing. e
	// (with its events) is recorded in the same transaction.
	MoveCAs(ctx context.Context, accountID, instanceID string, moves []CAMove, e AuditEvent) error
	// PutRotationPolicy creates or replaces the instance's policy. NotFound
	// when the instance is not the account's.
	PutRotationPolicy(ctx context.Context, p RotationPolicy) error
	// GetRotationPolicy returns the instance's policy; NotFound when it has none.
	GetRotationPolicy(ctx context.Context, accountID, instanceID string) (RotationPolicy, error)
	// ListRotationPolicies returns every enabled policy of every account.
	ListRotationPolicies(ctx context.Context) ([]RotationPolicy, error)
	// DueRotationPolicies returns the enabled policies whose instance may
	// have a step due at now: its current CA expires within the longest
	// StartBefore of any policy, or it is in a rotation (it has a next or a
	// previous CA). It reads those instances only (the caller decides), not
	// every policy's CAs.
	DueRotationPolicies(ctx context.Context, now time.Time) ([]RotationPolicy, error)
	// Expiries returns, for every account, the CAs and certificates f
	// selects, soonest expiry first within each kind. It reads only what it
	// returns (an index on the expiry), however many there are.
	Expiries(ctx context.Context, f ExpiryFilter) ([]Expiry, error)
	// ListRotatingCAs returns, for every account, the served CAs (current,
	// next, previous) of the instances in a rotation: those with a next or a
	// previous CA. It reads only those instances' CAs.
	ListRotatingCAs(ctx context.Context) ([]CA, error)
}

// AdoptionStore keeps who fetched which bundle (see Adoption), under the
// Store contract.
type AdoptionStore interface {
	// RecordAdoptions writes bundle fetches in one transaction: per
	// instance and subject, the newer fetch is kept and the counts add up.
	// Records of instances that do not exist (any more) are dropped silently.
	RecordAdoptions(ctx context.Context, list []Adoption) error
	// ListAdoptions returns the records of one of the account's instances;
	// with accountID "", those of every instance of every account.
	ListAdoptions(ctx context.Context, accountID, instanceID string) ([]Adoption, error)
}

// WebhookStore keeps webhooks, the event outbox and the deliveries, under
// the Store contract.
type WebhookStore interface {
	// CreateWebhook inserts a webhook; NotFound when its account does not
	// exist, Conflict when its ID is taken.
	CreateWebhook(ctx context.Context, w Webhook) error
	// GetWebhook returns one of the account's webhooks.
	GetWebhook(ctx context.Context, accountID, id string) (Webhook, error)
	// ListWebhooks returns the account's webhooks oldest first; with
	// accountID "", every account's.
	ListWebhooks(ctx context.Context, accountID string) ([]Webhook, error)
	// DeleteWebhook removes the webhook and its deliveries.
	DeleteWebhook(ctx context.Context, accountID, id string) error
	// PublishEvents writes the events to the outbox, each with one pending
	// delivery per webhook that gets it (Event.Webhook, or every webhook of
	// the account subscribed to its type), in one transaction. An event
	// whose DedupKey was published before is skipped, with its deliveries.
	PublishEvents(ctx context.Context, events []Event) error
	// ClaimDeliveries leases at most limit pending deliveries that are due
	// at now and not leased, until now+lease, and counts an attempt on each.
	// Of replicas claiming at once, each delivery goes to one.
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Claim, error)
	// RecordAttempt logs the attempt and moves its delivery to state (next
	// is its next attempt's time when state is pending), releasing the lease.
	RecordAttempt(ctx context.Context, a Attempt, state string, next time.Time) error
	// ListDeliveries returns a webhook's deliveries newest first, at most limit.
	ListDeliveries(ctx context.Context, accountID, webhookID string, limit int) ([]Delivery, error)
}

// AuditStore keeps the audit log, a hash chain, under the Store contract.
type AuditStore interface {
	// AppendAudit appends e to the audit chain on its own (refused
	// requests, which change nothing). The store sets Seq, PrevHash and Hash
	// (ChainAudit) under the chain's head, which it holds in the transaction.
	AppendAudit(ctx context.Context, e AuditEvent) error
	// ListAudit returns the events matching f, newest first (by ID), at
	// most f.Limit.
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
	// AuditChain returns at most limit chained events with Seq > afterSeq,
	// in Seq order.
	AuditChain(ctx context.Context, afterSeq int64, limit int) ([]AuditEvent, error)
	// AuditHead returns the Seq and Hash of the chain's last event (0 and ""
	// when there is none).
	AuditHead(ctx context.Context) (seq int64, hash string, err error)
}
