package dbtrust

import (
	"context"

	"crypto/rand"

	"encoding/base32"
	"regexp"

	"time"
)

// SigningKey is a server-side key, never any user's, that signs something
// dbtrust hands out, such as presigned download links. It is created once,
// on first use, and shared by every replica through the store.
type SigningKey struct {
	Name      string // what it signs, e.g. "download-link"
	ID        string // public identifier, sent beside signatures
	SealedKey []byte // the key, sealed under the key-encryption key
	CreatedAt time.Time
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// signingKeyAAD binds a sealed signing key to its name and ID.
func signingKeyAAD(k SigningKey) []byte { return []byte("signing-key:" + k.Name + ":" + k.ID) }

// ProjectAccount returns the account that owns a project ID
// (NotFound when none does, or when the ID is malformed).
func (s *Service) ProjectAccount(ctx context.Context, projectID string) (Account, error) {
	if !ValidProjectID(projectID) {
		return Account{}, Errorf(NotFound, "no such project")
	}
	return s.store.GetAccountByProject(ctx, projectID)
}

var projectIDRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

// ValidProjectID reports whether id has the shape of a project ID: 32
// lower-case hex digits.
func ValidProjectID(id string) bool { return projectIDRE.MatchString(id) }

// ServerSigningKey returns the server-side key named name, creating it (32
// random bytes, sealed) on first use. Replicas that race to create it all end
// up with the one that was stored first. Callers may cache the result: a
// signing key never changes.
func (s *Service) ServerSigningKey(ctx context.Context, name string) (id string, key []byte, err error) {
	k, err := s.store.GetSigningKey(ctx, name)
	if ErrorCode(err) == NotFound {
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return "", nil, Wrap(Internal, err, "signing key generation failed")
		}
		idb := make([]byte, 10)
		if _, err := rand.Read(idb); err != nil {
			return "", nil, Wrap(Internal, err, "signing key generation failed")
		}
		k = SigningKey{Name: name, ID: "DBTS" + b32.EncodeToString(idb), CreatedAt: s.now()}
		if k.SealedKey, err = s.sealer.Seal(raw, signingKeyAAD(k)); err != nil {
			return "", nil, Wrap(Internal, err, "signing key sealing failed")
		}
		clear(raw)
		err = s.store.CreateSigningKey(ctx, k)
		if ErrorCode(err) == Conflict { // another replica created it first
			k, err = s.store.GetSigningKey(ctx, name)
		}
	}
	if err != nil {
		return "", nil, err
	}
	key, err = s.sealer.Open(k.SealedKey, signingKeyAAD(k))
	if err != nil {
		return "", nil, Wrap(Internal, err, "signing key does not open")
	}
	return k.ID, key, nil
}

// LinkPrincipal is the Principal a presigned link acts as: read-only, in the
// account the link was issued for.
func LinkPrincipal(accountID, keyID string) Principal {
	return Principal{AccountID: accountID, Role: RoleViewer, Subject: "link:" + keyID}
}

// AccountOf returns the account p acts in.
func (s *Service) AccountOf(ctx context.Context, p Principal) (Account, error) {
	if err := Require(p, RoleViewer); err != nil {
		return Account{}, err
	}
	return s.store.GetAccount(ctx, p.AccountID)
}
