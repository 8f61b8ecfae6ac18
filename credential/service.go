package credential

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/pki"
	"github.com/google/uuid"
)

// Who may do what with credentials. Each role includes the ones before it
// (viewer < member < admin < owner).
const (
	roleRead           = dbtrust.RoleViewer // list and read (never the key store)
	roleWrite          = dbtrust.RoleMember // create, update, delete
	roleOtherUsersHash = dbtrust.RoleAdmin  // passwordHash credentials of another user
)

// mayTouch applies the one rule on whose credential p may change: a
// passwordHash credential is named by its user's ID, and another user's needs
// roleOtherUsersHash.
func mayTouch(p dbtrust.Principal, keyType, name string) error {
	if keyType == "passwordHash" && name != dbtrust.UserID(p) && !p.Role.AtLeast(roleOtherUsersHash) {
		return dbtrust.Errorf(dbtrust.Forbidden, "a passwordHash credential of another user needs the %s role", roleOtherUsersHash)
	}
	return nil
}

// Service holds the rules of stored credentials. It is safe for concurrent
// use.
type Service struct {
	core  *dbtrust.Service
	store Store
}

// New returns a Service keeping credentials in store, under the core's
// roles, clock, audit log and key-encryption key.
func New(core *dbtrust.Service, store Store) *Service {
	return &Service{core: core, store: store}
}

// Input is a create or update of a credential. On update, nil
// fields keep the stored values; a nil KeyStore keeps the stored key store.
type Input struct {
	ID         string // update only: when set it must name the credential addressed
	Version    string
	Name       *string
	KeyType    string
	Valid      *bool
	ValidFrom  *time.Time
	ValidUntil *time.Time
	KeyStore   map[string][]byte // decoded values
	Labels     *[]dbtrust.Label
}

// credentialAAD binds a sealed key store to its credential. The text is
// kept as it was first written: stored key stores are sealed with it.
func credentialAAD(id string) []byte { return KeyStoreAAD(id) }

// KeyStoreAAD is the binding of credential id's sealed key store, for KEK
// rotation.
func KeyStoreAAD(id string) []byte { return []byte("astra-credential-keystore:" + id) }

func checkCredentialName(name string) error {
	if n := utf8.RuneCountInString(name); n < 1 || n > 127 || !utf8.ValidString(name) {
		return dbtrust.FieldError("name", "name must be 1-127 characters")
	}
	return nil
}

// Create stores a credential in p's account with its key store sealed.
func (s *Service) Create(ctx context.Context, p dbtrust.Principal, in Input) (Credential, error) {
	if err := dbtrust.Require(p, roleWrite); err != nil {
		return Credential{}, err
	}
	if err := dbtrust.CheckRecordVersion(in.Version); err != nil {
		return Credential{}, err
	}
	if in.Name == nil {
		return Credential{}, dbtrust.FieldError("name", "name is required")
	}
	if in.KeyStore == nil {
		return Credential{}, dbtrust.FieldError("keyStore", "keyStore is required")
	}
	c := Credential{ID: uuid.NewString(), AccountID: p.AccountID, Version: in.Version, Name: *in.Name, Valid: true, Meta: dbtrust.Meta{Labels: []dbtrust.Label{}}}
	if err := s.applyCredentialFields(p, &c, in, false); err != nil {
		return Credential{}, err
	}
	now := s.core.Now()
	c.CreatedAt, c.ModifiedAt, c.CreatedBy, c.Revision = now, now, dbtrust.UserID(p), 1
	actx, done := s.core.Audited(ctx, p, "credential.create", "credential/"+c.ID)
	err := done(uniqueConflict(s.store.CreateCredential(actx, c), c.KeyType))
	if err != nil {
		return Credential{}, err
	}
	c.SealedKeyStore = nil
	return c, nil
}

// uniqueConflict says which uniqueness rule a store dbtrust.Conflict broke.
func uniqueConflict(err error, keyType string) error {
	if dbtrust.ErrorCode(err) != dbtrust.Conflict {
		return err
	}
	if keyType == "kubeconfig" {
		return &dbtrust.Error{Code: dbtrust.Conflict, Message: "a credential for this cluster already exists", Err: ErrKubeconfigExists}
	}
	return &dbtrust.Error{Code: dbtrust.Conflict, Message: "a credential of this type already exists for this user", Err: ErrExists}
}

// applyCredentialFields checks in and applies it to c; on update, the stored
// key store is opened to check it against a newly given key type.
func (s *Service) applyCredentialFields(p dbtrust.Principal, c *Credential, in Input, update bool) error {
	if in.Name != nil {
		if err := checkCredentialName(*in.Name); err != nil {
			return err
		}
		if update && c.KeyType == "passwordHash" && *in.Name != c.Name {
			return dbtrust.FieldError("name", "the name of a passwordHash credential cannot change")
		}
		c.Name = *in.Name
	}
	if in.KeyType != "" {
		if _, ok := KeyTypes[in.KeyType]; !ok {
			return dbtrust.FieldError("keyType", "unknown keyType %q", in.KeyType)
		}
		if update && c.KeyType != "" && c.KeyType != in.KeyType {
			return &dbtrust.Error{Code: dbtrust.Conflict, Field: "keyType", Message: "a credential's keyType cannot change", Err: ErrKeyTypeChange}
		}
	}
	newType := c.KeyType
	if in.KeyType != "" {
		newType = in.KeyType
	}
	if in.Valid != nil {
		c.Valid = *in.Valid
	}
	if in.ValidFrom != nil {
		t := dbtrust.WholeSecond(*in.ValidFrom)
		c.ValidFrom = &t
	}
	if in.ValidUntil != nil {
		t := dbtrust.WholeSecond(*in.ValidUntil)
		c.ValidUntil = &t
	}
	if c.ValidFrom != nil && c.ValidUntil != nil && c.ValidUntil.Before(*c.ValidFrom) {
		return dbtrust.FieldError("validUntilTimestamp", "validUntilTimestamp must not be before validFromTimestamp")
	}
	if err := dbtrust.CheckLabels(in.Labels); err != nil {
		return err
	}
	if in.Labels != nil {
		c.Labels = append([]dbtrust.Label{}, (*in.Labels)...)
	}
	ks := in.KeyStore
	if ks == nil && newType != c.KeyType { // a key type newly given: check the stored key store
		stored, err := s.openKeyStore(*c)
		if err != nil {
			return err
		}
		ks = stored
		defer clearKeyStore(stored)
	}
	if ks == nil {
		return nil
	}
	unique, err := checkKeyStore(newType, c.Name, ks)
	if err != nil {
		return err
	}
	if err := mayTouch(p, newType, c.Name); err != nil {
		return err
	}
	if in.KeyStore != nil {
		sealed, err := s.sealKeyStore(c.ID, newType, in.KeyStore)
		if err != nil {
			return err
		}
		c.SealedKeyStore = sealed
	}
	c.KeyType, c.UniqueKey = newType, unique
	return nil
}

func clearKeyStore(ks map[string][]byte) {
	for _, v := range ks {
		clear(v)
	}
}

// checkKeyStore applies the rules of keyType to ks and returns the credential's
// unique key, if its type has one.
func checkKeyStore(keyType, name string, ks map[string][]byte) (string, error) {
	if len(ks) == 0 {
		return "", dbtrust.FieldError("keyStore", "keyStore must hold at least one entry")
	}
	for _, k := range KeyTypes[keyType] {
		if len(ks[k]) == 0 {
			return "", dbtrust.FieldError("keyStore."+k, "a %s keyStore needs a non-empty %q entry", keyType, k)
		}
	}
	switch keyType {
	case "passwordHash":
		if ch := string(ks["change"]); ch != "true" && ch != "false" {
			return "", dbtrust.FieldError("keyStore.change", `change must be the base64 of "true" or "false"`)
		}
		if !dbtrust.ValidID(name) {
			return "", dbtrust.FieldError("name", "the name of a passwordHash credential is the user's ID (a UUID)")
		}
		return "user:" + name, nil
	case "kubeconfig":
		if len(ks) != 1 {
			return "", dbtrust.FieldError("keyStore", `a kubeconfig keyStore holds only "base64"`)
		}
		var kc struct {
			Clusters []struct {
				Cluster struct {
					Server string `json:"server"`
				} `json:"cluster"`
			} `json:"clusters"`
		}
		if err := json.Unmarshal(ks["base64"], &kc); err != nil || len(kc.Clusters) != 1 || kc.Clusters[0].Cluster.Server == "" {
			return "", dbtrust.FieldError("keyStore.base64", "base64 must hold a JSON kubeconfig for exactly one cluster")
		}
		sum := sha256.Sum256([]byte(kc.Clusters[0].Cluster.Server))
		return "kubeconfig:" + hex.EncodeToString(sum[:]), nil
	case "certificate":
		if _, err := pki.ParseCertsPEM(ks["certificate"]); err != nil {
			return "", dbtrust.FieldError("keyStore.certificate", "certificate must be the base64 of a PEM certificate that parses")
		}
	case "privkey":
		if !parsesAsPrivateKey(ks["privkey"]) {
			return "", dbtrust.FieldError("keyStore.privkey", "privkey must be the base64 of a PEM private key that parses")
		}
	}
	return "", nil
}

func parsesAsPrivateKey(b []byte) bool {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return false
	}
	if _, err := x509.ParsePKCS8PrivateKey(blk.Bytes); err == nil {
		return true
	}
	if _, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return true
	}
	_, err := x509.ParseECPrivateKey(blk.Bytes)
	return err == nil
}

// passwordIterations is the PBKDF2-SHA256 work factor for passwordHash credentials.
const passwordIterations = 210_000

// sealKeyStore seals ks (as JSON of base64 values) for credential id. A
// passwordHash credential's cleartext is replaced by a salted hash first.
func (s *Service) sealKeyStore(id, keyType string, ks map[string][]byte) ([]byte, error) {
	enc := make(map[string]string, len(ks))
	for k, v := range ks {
		enc[k] = base64.StdEncoding.EncodeToString(v)
	}
	if keyType == "passwordHash" {
		salt := make([]byte, 16)
		if _, err := rand.Read(salt); err != nil {
			return nil, dbtrust.Wrap(dbtrust.Internal, err, "random source failed")
		}
		dk, err := pbkdf2.Key(sha256.New, string(ks["cleartext"]), salt, passwordIterations, 32)
		if err != nil {
			return nil, dbtrust.Wrap(dbtrust.Internal, err, "password hashing failed")
		}
		delete(enc, "cleartext")
		enc["hash"] = fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", passwordIterations,
			base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(dk))
	}
	plain, err := json.Marshal(enc)
	if err != nil {
		return nil, dbtrust.Wrap(dbtrust.Internal, err, "key store encoding failed")
	}
	sealed, err := s.core.Sealer().Seal(plain, credentialAAD(id))
	clear(plain)
	if err != nil {
		return nil, dbtrust.Wrap(dbtrust.Internal, err, "key store sealing failed")
	}
	return sealed, nil
}

// openKeyStore opens c's sealed key store. It is only used inside the
// service, to check a stored key store against new rules; no endpoint returns it.
func (s *Service) openKeyStore(c Credential) (map[string][]byte, error) {
	plain, err := s.core.Sealer().Open(c.SealedKeyStore, credentialAAD(c.ID))
	if err != nil {
		return nil, dbtrust.Wrap(dbtrust.Internal, err, "key store does not open")
	}
	defer clear(plain)
	var enc map[string]string
	if err := json.Unmarshal(plain, &enc); err != nil {
		return nil, dbtrust.Wrap(dbtrust.Internal, err, "stored key store does not decode")
	}
	out := make(map[string][]byte, len(enc))
	for k, v := range enc {
		if b, err := base64.StdEncoding.DecodeString(v); err == nil {
			out[k] = b
		} else {
			out[k] = []byte(v)
		}
	}
	return out, nil
}

// Get returns one of p's credentials, without its key store.
func (s *Service) Get(ctx context.Context, p dbtrust.Principal, id string) (Credential, error) {
	if err := dbtrust.Require(p, roleRead); err != nil {
		return Credential{}, err
	}
	if !dbtrust.ValidID(id) {
		return Credential{}, dbtrust.Errorf(dbtrust.NotFound, "no such credential")
	}
	c, err := s.store.GetCredential(ctx, p.AccountID, id)
	c.SealedKeyStore = nil
	return c, err
}

// List returns p's credentials oldest first, without key stores.
func (s *Service) List(ctx context.Context, p dbtrust.Principal) ([]Credential, error) {
	if err := dbtrust.Require(p, roleRead); err != nil {
		return nil, err
	}
	return s.store.ListCredentials(ctx, p.AccountID)
}

// ListKeysAfter returns the keys of at most limit of p's credentials that
// meet every condition of where, after the given creation time and ID, in
// creation order: the store filters and pages (keyset paging), so a page
// costs its own rows, not the account's. GetMany reads the credentials the
// caller has no current read of.
func (s *Service) ListKeysAfter(ctx context.Context, p dbtrust.Principal, where []Cond, afterCreated time.Time, afterID string, limit int) ([]Key, error) {
	if err := dbtrust.Require(p, roleRead); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, dbtrust.FieldError("limit", "limit must be positive")
	}
	if err := CheckConds(where); err != nil {
		return nil, dbtrust.Wrap(dbtrust.Internal, err, "list failed")
	}
	return s.store.ListCredentialKeysAfter(ctx, p.AccountID, where, afterCreated, afterID, limit)
}

// Version returns a value that changes with every change to p's
// credentials: a list answered at one version is answered the same while
// it lasts.
func (s *Service) Version(ctx context.Context, p dbtrust.Principal) (int64, error) {
	if err := dbtrust.Require(p, roleRead); err != nil {
		return 0, err
	}
	return s.store.CredentialsVersion(ctx, p.AccountID)
}

// GetMany returns those of p's credentials whose IDs are given, oldest
// first, without key stores; IDs of none (or of another account's) are left
// out.
func (s *Service) GetMany(ctx context.Context, p dbtrust.Principal, ids []string) ([]Credential, error) {
	if err := dbtrust.Require(p, roleRead); err != nil {
		return nil, err
	}
	return s.store.GetCredentials(ctx, p.AccountID, ids)
}

// Count returns how many of p's credentials meet every condition of where,
// counted by the store without reading them.
func (s *Service) Count(ctx context.Context, p dbtrust.Principal, where []Cond) (int, error) {
	if err := dbtrust.Require(p, roleRead); err != nil {
		return 0, err
	}
	if err := CheckConds(where); err != nil {
		return 0, dbtrust.Wrap(dbtrust.Internal, err, "list failed")
	}
	return s.store.CountCredentials(ctx, p.AccountID, where)
}

// Update applies in to one of p's credentials; a nil KeyStore keeps
// the stored one. ifRevision, when not zero, is the revision the caller read.
func (s *Service) Update(ctx context.Context, p dbtrust.Principal, id string, in Input, ifRevision int64) (Credential, error) {
	if err := dbtrust.Require(p, roleWrite); err != nil {
		return Credential{}, err
	}
	if !dbtrust.ValidID(id) {
		return Credential{}, dbtrust.Errorf(dbtrust.NotFound, "no such credential")
	}
	c, err := s.store.GetCredential(ctx, p.AccountID, id)
	if err != nil {
		return Credential{}, err
	}
	if err := dbtrust.CheckUpdate(id, in.ID, in.Version, c.Revision, ifRevision, "credential"); err != nil {
		return Credential{}, err
	}
	if err := mayTouch(p, c.KeyType, c.Name); err != nil {
		return Credential{}, err
	}
	if err := s.applyCredentialFields(p, &c, in, true); err != nil {
		return Credential{}, err
	}
	prev := c.Revision
	c.Version, c.ModifiedAt, c.ModifiedBy, c.Revision = in.Version, s.core.Now(), dbtrust.UserID(p), prev+1
	actx, done := s.core.Audited(ctx, p, "credential.update", "credential/"+id)
	err = done(uniqueConflict(s.store.UpdateCredential(actx, c, prev), c.KeyType))
	if err != nil {
		return Credential{}, err
	}
	c.SealedKeyStore = nil
	return c, nil
}

// Delete removes one of p's credentials.
func (s *Service) Delete(ctx context.Context, p dbtrust.Principal, id string) error {
	if err := dbtrust.Require(p, roleWrite); err != nil {
		return err
	}
	if !dbtrust.ValidID(id) {
		return dbtrust.Errorf(dbtrust.NotFound, "no such credential")
	}
	c, err := s.store.GetCredential(ctx, p.AccountID, id)
	if err != nil {
		return err
	}
	if err := mayTouch(p, c.KeyType, c.Name); err != nil {
		return err
	}
	actx, done := s.core.Audited(ctx, p, "credential.delete", "credential/"+id)
	err = done(s.store.DeleteCredential(actx, p.AccountID, id))
	return err
}
