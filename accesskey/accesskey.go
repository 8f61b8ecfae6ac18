// Package accesskey keeps signed access keys: an AK/SK pair whose secret key
// (SK) signs requests with HMAC-SHA256, as cloud SDKs sign them. The AK is
// public; the SK is returned once, at creation, and otherwise kept only
// sealed: a signature is checked inside this package and the SK never leaves
// it. It holds the rules (Service) and the storage contract (Store).
package accesskey

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"regexp"
	"time"

	"github.com/dbtrust/dbtrust"
)

// Key is an access key. The ID (AK) is public; the secret (SK) is kept only
// sealed under the key-encryption key, bound to the AK, its account and its
// role, so a sealed secret copied onto another record does not open.
type Key struct {
	ID           string // the AK: Prefix and 16 upper-case base32 characters
	AccountID    string
	Name         string
	Role         dbtrust.Role
	SealedSecret []byte
	CreatedAt    time.Time
	RevokedAt    *time.Time
}

// Prefix starts every AK dbtrust issues.
const Prefix = "DBTK"

// Reasons carried in Error.Err of the Unauthorized errors of Authenticate,
// for dialects whose wire tells them apart.
var (
	ErrUnknown      = errors.New("the access key is unknown or revoked")
	ErrBadSignature = errors.New("the signature does not match the access key's secret")
)

var (
	idRE = regexp.MustCompile(`^` + Prefix + `[A-Z2-7]{16}$`)
	b32  = base32.StdEncoding.WithPadding(base32.NoPadding)
)

// ValidID reports whether id has the form of an AK dbtrust issues.
func ValidID(id string) bool { return idRE.MatchString(id) }

// secretAAD binds a sealed SK to its AK, account and role.
func secretAAD(k Key) []byte { return SecretAAD(k.ID, k.AccountID, k.Role) }

// SecretAAD is the binding of the SK of AK id, for KEK rotation.
func SecretAAD(id, accountID string, role dbtrust.Role) []byte {
	return []byte("access-key:" + id + ":" + accountID + ":" + string(role))
}

const skAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newSecret returns 40 random letters and digits (about 238 bits), the shape
// cloud SDKs expect of an SK.
func newSecret() (string, error) {
	out := make([]byte, 0, 40)
	buf := make([]byte, 64)
	for len(out) < 40 {
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		for _, b := range buf {
			if int(b) < 248 && len(out) < 40 { // 248 = 4*62: no modulo bias
				out = append(out, skAlphabet[int(b)%62])
			}
		}
	}
	return string(out), nil
}

func newID() (string, error) {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return Prefix + b32.EncodeToString(b), nil
}
