// Package trustcert keeps the CA and intermediate certificates an account
// uploads so that its clients trust them, each with a desired trust state,
// and shows the CAs of the account's instances beside them, read-only. It
// holds the rules (Service) and the storage contract (Store); a dialect
// translates, a store persists.
package trustcert

import (
	"errors"
	"time"

	"github.com/dbtrust/dbtrust"
)

// Certificate uses.
const (
	UseRootCA         = "rootCA"
	UseIntermediateCA = "intermediateCA"
)

// Trust states. A certificate's desired state is trusted or untrusted; its
// actual state is expired once past its NotAfter, whatever was desired.
const (
	Trusted   = "trusted"
	Untrusted = "untrusted"
	Expired   = "expired"
)

// Transitions lists, for each trust state, the states it may move to.
var Transitions = []struct {
	From string
	To   []string
}{
	{Untrusted, []string{Trusted, Expired}},
	{Trusted, []string{Untrusted, Expired}},
	{Expired, []string{Untrusted, Trusted}},
}

// Certificate is an uploaded CA or intermediate certificate, or (read-only)
// the CA of one of the account's instances. It is not an issued certificate
// (dbtrust.IssuedCertificate): nobody holds its key here.
type Certificate struct {
	ID           string // UUID
	AccountID    string
	Version      string // the record version it was last written with: "1.0" or "1.1"
	CertUse      string // UseRootCA or UseIntermediateCA
	CertPEM      []byte // the PEM text as uploaded
	CN           string // subject CN of the first certificate (or its first DNS name)
	NotAfter     time.Time
	SelfSigned   bool   // as asserted by the client
	TrustDesired string // Trusted or Untrusted
	dbtrust.Meta

	// Set only for an instance's CA, which is shown read-only.
	InstanceID string
	CAState    dbtrust.CAState
}

// ReadOnly reports whether the certificate is an instance CA that only
// dbtrust itself changes.
func (c Certificate) ReadOnly() bool { return c.InstanceID != "" }

// TrustState is the state the certificate is in at now: expired once past its
// NotAfter, otherwise the desired state.
func (c Certificate) TrustState(now time.Time) string {
	if !now.Before(c.NotAfter) {
		return Expired
	}
	return c.TrustDesired
}

// ErrExpired is carried in Error.Err when a change is refused because the
// certificate has expired, for dialects that tell this failure apart.
var ErrExpired = errors.New("the certificate has expired")

// Labels on the certificates that stand for instance CAs.
const (
	LabelInstanceID   = "dbtrust.io/instance-id"
	LabelInstanceName = "dbtrust.io/instance-name"
	LabelCAState      = "dbtrust.io/ca-state"
)
