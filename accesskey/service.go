package accesskey

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"

	"github.com/dbtrust/dbtrust"
)

// roleManage may create, list and revoke an account's access keys.
const roleManage = dbtrust.RoleAdmin

// Service holds the rules of access keys. It is safe for concurrent use.
type Service struct {
	core  *dbtrust.Service
	store Store
	cache *dbtrust.Cache[string, Key] // by AK; the SK stays sealed in the entry
}

// New returns a Service keeping access keys in store, under the core's
// roles, clock, audit log, key-encryption key and read cache.
func New(core *dbtrust.Service, store Store) *Service {
	return &Service{core: core, store: store, cache: dbtrust.NewCache[string, Key](core, dbtrust.ChangeAccessKey)}
}

// Create makes an AK/SK pair in p's account. p must be an admin and may not
// hand out a role above its own. The SK is returned once and never again.
func (s *Service) Create(ctx context.Context, p dbtrust.Principal, name string, role dbtrust.Role) (Key, string, error) {
	if err := dbtrust.Require(p, roleManage); err != nil {
		return Key{}, "", err
	}
	if err := dbtrust.CheckGrant(p, role, "an access key"); err != nil {
		return Key{}, "", err
	}
	if !dbtrust.ValidName(name) {
		return Key{}, "", dbtrust.FieldError("name", "access key name must be 1-100 printable characters")
	}
	id, err := newID()
	if err != nil {
		return Key{}, "", dbtrust.Wrap(dbtrust.Internal, err, "access key generation failed")
	}
	sk, err := newSecret()
	if err != nil {
		return Key{}, "", dbtrust.Wrap(dbtrust.Internal, err, "access key generation failed")
	}
	k := Key{ID: id, AccountID: p.AccountID, Name: name, Role: role, CreatedAt: s.core.Now()}
	if k.SealedSecret, err = s.core.Sealer().Seal([]byte(sk), secretAAD(k)); err != nil {
		return Key{}, "", dbtrust.Wrap(dbtrust.Internal, err, "access key sealing failed")
	}
	actx, done := s.core.Audited(ctx, p, "accesskey.create", "accesskey/"+k.ID)
	err = done(dbtrust.Taken(s.store.CreateAccessKey(actx, k), "an access key named %q already exists in this account: pick another name", name))
	if err != nil {
		return Key{}, "", err
	}
	return k, sk, nil
}

// List returns the access keys of p's account (admins only).
func (s *Service) List(ctx context.Context, p dbtrust.Principal) ([]Key, error) {
	if err := dbtrust.Require(p, roleManage); err != nil {
		return nil, err
	}
	return s.store.ListAccessKeys(ctx, p.AccountID)
}

// Revoke revokes an access key of p's account (admins only). Like a token,
// a key with a role above p's own is not p's to revoke; another account's
// key is answered as one that does not exist.
func (s *Service) Revoke(ctx context.Context, p dbtrust.Principal, id string) error {
	if err := dbtrust.Require(p, roleManage); err != nil {
		return err
	}
	if !ValidID(id) {
		return errNoSuchKey
	}
	k, err := s.store.GetAccessKey(ctx, id)
	if err == nil && k.AccountID != p.AccountID {
		err = errNoSuchKey
	}
	if err == nil && !p.Role.AtLeast(k.Role) {
		err = dbtrust.Errorf(dbtrust.Forbidden, "a %s cannot revoke an access key with the %s role", p.Role, k.Role)
	}
	if err != nil {
		return err
	}
	actx, done := s.core.Audited(ctx, p, "accesskey.revoke", "accesskey/"+id)
	return done(s.store.RevokeAccessKey(actx, p.AccountID, id, s.core.Now()))
}

var (
	errNoSuchKey    = dbtrust.Errorf(dbtrust.NotFound, "no such access key")
	errUnknown      = &dbtrust.Error{Code: dbtrust.Unauthorized, Message: "the access key is unknown or revoked", Err: ErrUnknown}
	errBadSignature = &dbtrust.Error{Code: dbtrust.Unauthorized, Message: "the signature does not match the access key", Err: ErrBadSignature}
)

// Authenticate checks an HMAC-SHA256 signature made with the SK of access key
// ak over stringToSign, and returns the key's Principal. The SK never leaves
// this package: the caller builds the string to sign, the Service computes
// the MAC and compares it in constant time. An unknown or revoked AK is
// Unauthorized carrying ErrUnknown; a wrong signature is Unauthorized
// carrying ErrBadSignature.
func (s *Service) Authenticate(ctx context.Context, ak string, stringToSign, signature []byte) (dbtrust.Principal, error) {
	if !ValidID(ak) {
		return dbtrust.Principal{}, errUnknown
	}
	k, err := s.cache.Get(ctx, ak, s.store.GetAccessKey)
	if dbtrust.ErrorCode(err) == dbtrust.NotFound || err == nil && k.RevokedAt != nil {
		return dbtrust.Principal{}, errUnknown
	}
	if err != nil {
		return dbtrust.Principal{}, err
	}
	sk, err := s.core.Sealer().Open(k.SealedSecret, secretAAD(k))
	if err != nil {
		return dbtrust.Principal{}, dbtrust.Wrap(dbtrust.Internal, err, "access key does not open")
	}
	m := hmac.New(sha256.New, sk)
	clear(sk)
	m.Write(stringToSign)
	if !hmac.Equal(m.Sum(nil), signature) {
		return dbtrust.Principal{}, errBadSignature
	}
	return dbtrust.Principal{AccountID: k.AccountID, Role: k.Role, Subject: "accesskey:" + k.ID, Name: k.Name}, nil
}
