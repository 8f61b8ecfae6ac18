package dbtrust

import "time"

// CertFilter narrows ListIssuedCerts. Empty fields match everything.
type CertFilter struct {
	InstanceID string
	CAID       string
	Revoked    *bool // nil: both; true: revoked only; false: unrevoked only
}

// CAMove changes the state of an instance's one CA in state From to To.
type CAMove struct {
	From, To CAState
	Optional bool // when no CA is in state From, do nothing instead of failing
}

// RotationPolicy is an instance's automatic rotation: when the current CA
// expires within StartBefore, a rotation starts; FinishAfter after the start
// it finishes; RetireAfter after the finish the previous CA is retired.
type RotationPolicy struct {
	InstanceID  string
	AccountID   string
	Enabled     bool
	StartBefore time.Duration
	FinishAfter time.Duration
	RetireAfter time.Duration
	KeyType     string // key type of the next CA; "" keeps the current one's
	UpdatedAt   time.Time
}

// Expiry is one CA or issued certificate and when it expires, for metrics.
type Expiry struct {
	Kind       string // "ca" or "certificate"
	AccountID  string
	InstanceID string
	ID         string // the CA's ID or the certificate's serial
	State      string // the CA's state; "issued" for a certificate
	NotAfter   time.Time
}

// ExpiryFilter selects expiries (Store.Expiries): every CA that is not
// retired and every unrevoked certificate that expires after CertsAfter;
// with a non-zero Before, only those that expire before it; with Limit > 0,
// only the Limit that expire soonest of each kind (CAs, certificates).
type ExpiryFilter struct {
	CertsAfter time.Time
	Before     time.Time
	Limit      int
}

// RevocationReasons maps the reasons a revocation may give to their RFC 5280
// CRLReason codes.
var RevocationReasons = map[string]int{
	"unspecified":            0,
	"key_compromise":         1,
	"ca_compromise":          2,
	"affiliation_changed":    3,
	"superseded":             4,
	"cessation_of_operation": 5,
	"privilege_withdrawn":    9,
}
