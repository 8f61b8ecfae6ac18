package dbtrust

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"regexp"
	"time"
)

// AccessKey is a Huawei-style AK/SK pair. The ID (AK) is public; the secret
// (SK) is kept only sealed under the key-encryption key, bound to the AK, its
// account and its role, so a sealed secret copied onto another record does
// not open.
type AccessKey struct {
	ID           string // the AK: "DBTK" and 16 upper-case base32 characters
	AccountID    string
	Name         string
	Role         Role
	SealedSecret []byte
	CreatedAt    time.Time
	RevokedAt    *time.Time
}

// SigningKey is a server-side key, never any user's, that signs something
// dbtrust hands out, such as presigned download links. It is created once,
// on first use, and shared by every replica through the store.
type SigningKey struct {
	Name      string // what it signs, e.g. "download-link"
	ID        string // public identifier, sent beside signatures
	SealedKey []byte // the key, sealed under the key-encryption key
	CreatedAt time.Time
}

// AccessKeyPrefix starts every AK dbtrust issues.
const AccessKeyPrefix = "DBTK"

var (
	accessKeyRE = regexp.MustCompile(`^` + AccessKeyPrefix + `[A-Z2-7]{16}$`)
	b32         = base32.StdEncoding.WithPadding(base32.NoPadding)
)

// accessKeyAAD binds a sealed SK to its AK, account and role.
func accessKeyAAD(k AccessKey) []byte {
	return []byte("access-key:" + k.ID + ":" + k.AccountID + ":" + string(k.Role))
}

// signingKeyAAD binds a sealed signing key to its name and ID.
func signingKeyAAD(k SigningKey) []byte { return []byte("signing-key:" + k.Name + ":" + k.ID) }

const skAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newSecretKey returns 40 random letters and digits (about 238 bits), the
// shape of a Huawei SK.
func newSecretKey() (string, error) {
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

func newAccessKeyID() (string, error) {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return AccessKeyPrefix + b32.EncodeToString(b), nil
}

// CreateAccessKey makes an AK/SK pair in p's account. p must be an admin and
// may not hand out a role above its own. The SK is returned once and never
// again.
func (s *Service) CreateAccessKey(ctx context.Context, p Principal, name string, role Role) (AccessKey, string, error) {
	if err := require(p, RoleAdmin); err != nil {
		return AccessKey{}, "", err
	}
	if !role.Valid() {
		return AccessKey{}, "", FieldError("role", "role must be one of viewer, member, admin, owner")
	}
	if !p.Role.AtLeast(role) {
		return AccessKey{}, "", Errorf(Forbidden, "a %s cannot create an access key with the %s role", p.Role, role)
	}
	if !tokenNameRE.MatchString(name) {
		return AccessKey{}, "", FieldError("name", "access key name must be 1-100 printable characters")
	}
	id, err := newAccessKeyID()
	if err != nil {
		return AccessKey{}, "", Wrap(Internal, err, "access key generation failed")
	}
	sk, err := newSecretKey()
	if err != nil {
		return AccessKey{}, "", Wrap(Internal, err, "access key generation failed")
	}
	k := AccessKey{ID: id, AccountID: p.AccountID, Name: name, Role: role, CreatedAt: s.now()}
	if k.SealedSecret, err = s.sealer.Seal([]byte(sk), accessKeyAAD(k)); err != nil {
		return AccessKey{}, "", Wrap(Internal, err, "access key sealing failed")
	}
	err = s.store.CreateAccessKey(ctx, k)
	s.audit(ctx, p, "accesskey.create", "accesskey/"+k.ID, err)
	if err != nil {
		return AccessKey{}, "", err
	}
	return k, sk, nil
}

// ListAccessKeys returns the access keys of p's account (admins only).
func (s *Service) ListAccessKeys(ctx context.Context, p Principal) ([]AccessKey, error) {
	if err := require(p, RoleAdmin); err != nil {
		return nil, err
	}
	return s.store.ListAccessKeys(ctx, p.AccountID)
}

// RevokeAccessKey revokes an access key of p's account (admins only).
func (s *Service) RevokeAccessKey(ctx context.Context, p Principal, id string) error {
	if err := require(p, RoleAdmin); err != nil {
		return err
	}
	if !accessKeyRE.MatchString(id) {
		return Errorf(NotFound, "no such access key")
	}
	err := s.store.RevokeAccessKey(ctx, p.AccountID, id, s.now())
	s.audit(ctx, p, "accesskey.revoke", "accesskey/"+id, err)
	return err
}

// Messages of the access-key authentication failures. They are all Code
// Unauthorized; the text tells a caller what to fix, as Huawei's gateway does.
const (
	MsgAccessKeyUnknown = "ak not exist"
	MsgSignatureBad     = "verify aksk signature fail"
)

// AuthenticateAccessKey checks an HMAC-SHA256 signature made with the SK of
// access key ak over stringToSign, and returns the key's Principal. The SK
// never leaves the core: the caller builds the string to sign, the core
// computes the MAC and compares it in constant time. An unknown or revoked AK
// and a wrong signature are Unauthorized.
func (s *Service) AuthenticateAccessKey(ctx context.Context, ak string, stringToSign, signature []byte) (Principal, error) {
	if !accessKeyRE.MatchString(ak) {
		return Principal{}, Errorf(Unauthorized, "%s", MsgAccessKeyUnknown)
	}
	k, err := s.getAccessKey(ctx, ak)
	if err != nil {
		if ErrorCode(err) == NotFound {
			return Principal{}, Errorf(Unauthorized, "%s", MsgAccessKeyUnknown)
		}
		return Principal{}, err
	}
	if k.RevokedAt != nil {
		return Principal{}, Errorf(Unauthorized, "%s", MsgAccessKeyUnknown)
	}
	sk, err := s.sealer.Open(k.SealedSecret, accessKeyAAD(k))
	if err != nil {
		return Principal{}, Wrap(Internal, err, "access key does not open")
	}
	m := hmac.New(sha256.New, sk)
	clear(sk)
	m.Write(stringToSign)
	if !hmac.Equal(m.Sum(nil), signature) {
		return Principal{}, Errorf(Unauthorized, "%s", MsgSignatureBad)
	}
	return Principal{AccountID: k.AccountID, Role: k.Role, Subject: "accesskey:" + k.ID}, nil
}

// ProjectAccount returns the account that owns a Huawei-style project ID
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
	if err := require(p, RoleViewer); err != nil {
		return Account{}, err
	}
	return s.store.GetAccount(ctx, p.AccountID)
}

// getAccessKey reads an access key through the read cache (which holds the SK
// sealed, as the store does).
func (s *Service) getAccessKey(ctx context.Context, ak string) (AccessKey, error) {
	if !s.cache.enabled() {
		return s.store.GetAccessKey(ctx, ak)
	}
	k, gen, ok := lookup(s.cache, s.cache.aks, ak)
	if ok {
		return k, nil
	}
	k, err := s.store.GetAccessKey(ctx, ak)
	if err == nil {
		store(s.cache, s.cache.aks, ak, k, gen)
	}
	return k, err
}
