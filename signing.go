package dbtrust

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"errors"
	"sync"
	"sync/atomic"

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

// ProjectAccount returns the account that owns a project ID (NotFound when
// none does, or when the ID is malformed). Found accounts are kept in the
// read cache by project ID.
func (s *Service) ProjectAccount(ctx context.Context, projectID string) (Account, error) {
	if !ValidProjectID(projectID) {
		return Account{}, Errorf(NotFound, "no such project")
	}
	return s.projects.Get(ctx, projectID, s.store.GetAccountByProject)
}

var projectIDRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

// ValidProjectID reports whether id has the shape of a project ID: 32
// lower-case hex digits.
func ValidProjectID(id string) bool { return projectIDRE.MatchString(id) }

// linkKeyName names the server signing key of the links dbtrust hands out.
const linkKeyName = "download-link"

// Reasons carried in Error.Err of VerifyLink's Unauthorized errors, for
// dialects whose wire tells them apart.
var (
	ErrLinkKey       = errors.New("the link names a key that is not the server's link key")
	ErrLinkSignature = errors.New("the link's signature does not match")
)

// linkSigner holds the link key once loaded: it never changes, so after the
// first load, reads take no lock. The key stays inside the core.
type linkSigner struct {
	mu     sync.Mutex // serializes loads
	loaded atomic.Pointer[loadedKey]
}

type loadedKey struct {
	id  string
	key []byte
}

// linkKey returns the link key, loading (or, on first use, creating) it.
func (s *Service) linkKey(ctx context.Context) (*loadedKey, error) {
	if k := s.links.loaded.Load(); k != nil {
		return k, nil
	}
	s.links.mu.Lock()
	defer s.links.mu.Unlock()
	if k := s.links.loaded.Load(); k != nil {
		return k, nil
	}
	id, key, err := s.signingKey(ctx, linkKeyName)
	if err != nil {
		return nil, err
	}
	k := &loadedKey{id: id, key: key}
	s.links.loaded.Store(k)
	return k, nil
}

// SignLink signs msg, the canonical text of a link dbtrust hands out, with
// the server's link key, and returns the key's public ID and the signature:
// HMAC-SHA1, the MAC of the S3 query-signature form the links take (only
// dbtrust itself verifies them). Every replica signs with the same key.
func (s *Service) SignLink(ctx context.Context, msg []byte) (keyID string, sig []byte, err error) {
	k, err := s.linkKey(ctx)
	if err != nil {
		return "", nil, err
	}
	return k.id, linkMAC(k.key, msg), nil
}

// VerifyLink checks a link: keyID must name the server's link key
// (Unauthorized carrying ErrLinkKey) and sig must be its signature over msg
// (Unauthorized carrying ErrLinkSignature). Both compare in constant time.
func (s *Service) VerifyLink(ctx context.Context, keyID string, msg, sig []byte) error {
	k, err := s.linkKey(ctx)
	if err != nil {
		return err
	}
	if !hmac.Equal([]byte(keyID), []byte(k.id)) {
		return &Error{Code: Unauthorized, Message: "the link was not signed by this server", Err: ErrLinkKey}
	}
	if !hmac.Equal(sig, linkMAC(k.key, msg)) {
		return &Error{Code: Unauthorized, Message: "the link's signature does not match", Err: ErrLinkSignature}
	}
	return nil
}

func linkMAC(key, msg []byte) []byte {
	m := hmac.New(sha1.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// signingKey returns the server-side key named name, creating it (32 random
// bytes, sealed) on first use. Replicas that race to create it all end up
// with the one that was stored first.
func (s *Service) signingKey(ctx context.Context, name string) (id string, key []byte, err error) {
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
// account the link was issued for, on behalf of requester (the Subject of
// whoever asked for the link; "" for a link that names none).
func LinkPrincipal(accountID, keyID, requester string) Principal {
	if requester == "" {
		requester = "link:" + keyID
	}
	return Principal{AccountID: accountID, Role: RoleViewer, Subject: requester, Via: "link"}
}

// ProjectOf returns the project ID of inst's account to a caller that may
// read inst: a node token too, for its own instance, though it may not read
// the account itself.
func (s *Service) ProjectOf(ctx context.Context, p Principal, inst Instance) (string, error) {
	if err := RequireInstance(p, RoleFor(ActionReadInstance), inst.ID); err != nil {
		return "", err
	}
	if inst.AccountID != p.AccountID {
		return "", Errorf(NotFound, "no such instance")
	}
	a, err := s.store.GetAccount(ctx, p.AccountID)
	return a.ProjectID, err
}

// AccountOf returns the account p acts in.
func (s *Service) AccountOf(ctx context.Context, p Principal) (Account, error) {
	if err := Authorize(p, ActionReadAccount); err != nil {
		return Account{}, err
	}
	return s.store.GetAccount(ctx, p.AccountID)
}
