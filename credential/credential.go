// Package credential keeps named credentials: key stores (an API key, a
// kubeconfig, a certificate and its private key, a password hash...) whose
// values are secrets, sealed at rest under the key-encryption key and never
// returned. It holds the rules (Service) and the storage contract (Store).
package credential

import (
	"errors"
	"time"

	"github.com/dbtrust/dbtrust"
)

// KeyTypes lists the credential key types and the key-store entries each
// requires.
var KeyTypes = map[string][]string{
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
	KeyType    string // "" when unset, else a key of KeyTypes
	Valid      bool
	ValidFrom  *time.Time
	ValidUntil *time.Time
	// SealedKeyStore is the JSON key store (name -> base64 value), sealed with
	// the credential's ID as additional data. List results leave it nil.
	SealedKeyStore []byte
	// UniqueKey, when set, may appear once per account: a kubeconfig's cluster
	// or a passwordHash credential's user.
	UniqueKey string
	dbtrust.Meta
}

// Reasons carried in Error.Err, for dialects that tell these failures apart.
var (
	ErrExists           = errors.New("a credential of this type already exists")
	ErrKubeconfigExists = errors.New("a credential for this cluster already exists")
	ErrKeyTypeChange    = errors.New("a credential's key type cannot change")
)
