package dbtrust

import (
	"errors"
	"time"

	"github.com/google/uuid"
)

// This file holds the types behind NetApp Astra Control's certificates and
// credentials collections: uploaded CA certificates with a trust state, and
// named credentials whose secret values (the key store) are sealed at rest.

// Label is a client-given name/value pair kept verbatim.
type Label struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Meta is the bookkeeping every Astra resource carries.
type Meta struct {
	Labels     []Label
	CreatedAt  time.Time
	ModifiedAt time.Time
	CreatedBy  string // a user UUID; the nil UUID for records dbtrust made itself
	ModifiedBy string // "" until the first update
	Revision   int64  // bumped by every update; conditional updates compare it
}

// Certificate uses.
const (
	CertUseRootCA         = "rootCA"
	CertUseIntermediateCA = "intermediateCA"
)

// Trust states. A certificate's desired state is trusted or untrusted; its
// actual state is expired once past its NotAfter, whatever was desired.
const (
	TrustTrusted   = "trusted"
	TrustUntrusted = "untrusted"
	TrustExpired   = "expired"
)

// TrustTransitions lists, for each trust state, the states it may move to.
var TrustTransitions = []struct {
	From string
	To   []string
}{
	{TrustUntrusted, []string{TrustTrusted, TrustExpired}},
	{TrustTrusted, []string{TrustUntrusted, TrustExpired}},
	{TrustExpired, []string{TrustUntrusted, TrustTrusted}},
}

// Certificate is an uploaded CA or intermediate certificate, or (read-only)
// the CA of one of the account's instances.
type Certificate struct {
	ID           string // UUID
	AccountID    string
	Version      string // the Astra resource version it was last written with: "1.0" or "1.1"
	CertUse      string // CertUseRootCA or CertUseIntermediateCA
	CertPEM      []byte // the PEM text as uploaded
	CN           string // subject CN of the first certificate (or its first DNS name)
	NotAfter     time.Time
	SelfSigned   bool   // as asserted by the client
	TrustDesired string // TrustTrusted or TrustUntrusted
	Meta

	// Set only for an instance's CA, which the collection shows read-only.
	InstanceID string
	CAState    CAState
}

// ReadOnly reports whether the certificate is an instance CA that only
// dbtrust itself changes.
func (c Certificate) ReadOnly() bool { return c.InstanceID != "" }

// TrustState is the state the certificate is in at now: expired once past its
// NotAfter, otherwise the desired state.
func (c Certificate) TrustState(now time.Time) string {
	if !now.Before(c.NotAfter) {
		return TrustExpired
	}
	return c.TrustDesired
}

// Credential key types and the key-store entries each requires.
var CredentialKeyTypes = map[string][]string{
	"generic":      nil,
	"passwordHash": {"cleartext", "change"},
	"apikey":       {"apikey"},
	"kubeconfig":   {"base64"},
	"certificate":  {"certificate"},
	"privkey":      {"privkey"},
	"s3":           {"accessKey", "accessSecret"},
}

// Credential is a named key store. The key store's values are secrets: sealed
// under the key-encryption key, never returned, never logged.
type Credential struct {
	ID         string // UUID
	AccountID  string
	Version    string
	Name       string // 1-127 characters
	KeyType    string // "" when unset, else a key of CredentialKeyTypes
	Valid      bool
	ValidFrom  *time.Time
	ValidUntil *time.Time
	// SealedKeyStore is the JSON key store (name -> base64 value), sealed with
	// the credential's ID as additional data. List results leave it nil.
	SealedKeyStore []byte
	// UniqueKey, when set, may appear once per account: a kubeconfig's cluster
	// or a passwordHash credential's user.
	UniqueKey string
	Meta
}

// Reasons carried in Error.Err, for dialects that tell these failures apart.
var (
	ErrCertificateExpired = errors.New("the certificate has expired")
	ErrIDMismatch         = errors.New("the body's id differs from the one addressed")
	ErrCredentialExists   = errors.New("a credential of this type already exists")
	ErrKubeconfigExists   = errors.New("a credential for this cluster already exists")
	ErrKeyTypeChange      = errors.New("a credential's key type cannot change")
)

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
