package dbtrust

import (
	"bytes"
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
	"sort"
	"time"
	"unicode/utf8"

	"github.com/dbtrust/dbtrust/internal/pki"
	"github.com/google/uuid"
)

// Who may do what with Astra certificates and credentials. Each role includes
// the ones before it (viewer < member < admin < owner).
const (
	roleReadAstra        = RoleViewer // list and read certificates and credentials
	roleWriteCertificate = RoleAdmin  // create, update, delete certificates
	roleWriteCredential  = RoleMember // create, update, delete credentials
	roleOtherUsersHash   = RoleAdmin  // passwordHash credentials of another user
)

// wholeSecond truncates t to the whole second, in UTC: Astra's clients parse
// timestamps without fractions.
func wholeSecond(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// ---- certificates ----

// CertificateInput is a create or update of a certificate. On update, a zero
// field keeps the stored value.
type CertificateInput struct {
	ID           string // update only: when set it must name the certificate addressed
	Version      string // "1.0" or "1.1"
	CertPEM      []byte // the PEM text (the wire's base64 already decoded)
	CertUse      string
	SelfSigned   *bool
	TrustDesired string
	Labels       *[]Label // nil: empty on create, kept on update
}

// parseUploadedCert checks an uploaded PEM and returns its CN and expiry.
func parseUploadedCert(certPEM []byte) (cn string, notAfter time.Time, err error) {
	certs, perr := pki.ParseCertsPEM(certPEM)
	if perr != nil {
		return "", time.Time{}, &Error{Code: Invalid, Field: "cert", Message: "cert must be the base64 of a PEM certificate that parses", Err: perr}
	}
	c := certs[0]
	cn = c.Subject.CommonName
	if cn == "" && len(c.DNSNames) > 0 {
		cn = c.DNSNames[0]
	}
	if cn == "" || len(cn) > 511 {
		return "", time.Time{}, FieldError("cert", "the certificate must have a subject CN or a DNS name of at most 511 characters")
	}
	return cn, c.NotAfter.UTC(), nil
}

func checkVersion(v string) error {
	if v != "1.0" && v != "1.1" {
		return FieldError("version", `version must be "1.0" or "1.1"`)
	}
	return nil
}

func checkLabels(l *[]Label) error {
	if l == nil {
		return nil
	}
	if len(*l) > 1000 {
		return FieldError("metadata.labels", "at most 1000 labels")
	}
	return nil
}

// CreateCertificate stores an uploaded certificate in p's account.
func (s *Service) CreateCertificate(ctx context.Context, p Principal, in CertificateInput) (Certificate, error) {
	if err := require(p, roleWriteCertificate); err != nil {
		return Certificate{}, err
	}
	if err := checkVersion(in.Version); err != nil {
		return Certificate{}, err
	}
	cn, notAfter, err := parseUploadedCert(in.CertPEM)
	if err != nil {
		return Certificate{}, err
	}
	c := Certificate{
		ID: uuid.NewString(), AccountID: p.AccountID, Version: in.Version, CertUse: CertUseRootCA,
		CertPEM: in.CertPEM, CN: cn, NotAfter: notAfter, TrustDesired: TrustTrusted, Meta: Meta{Labels: []Label{}},
	}
	if err := applyCertificateFields(&c, in); err != nil {
		return Certificate{}, err
	}
	now := s.now()
	c.CreatedAt, c.ModifiedAt, c.CreatedBy, c.Revision = now, now, UserID(p), 1
	err = s.store.CreateCertificate(ctx, c)
	s.audit(ctx, p, "astra.certificate.create", "certificate/"+c.ID, err)
	if err != nil {
		return Certificate{}, err
	}
	return c, nil
}

func applyCertificateFields(c *Certificate, in CertificateInput) error {
	if in.CertUse != "" {
		if in.CertUse != CertUseRootCA && in.CertUse != CertUseIntermediateCA {
			return FieldError("certUse", "certUse must be rootCA or intermediateCA")
		}
		c.CertUse = in.CertUse
	}
	if in.SelfSigned != nil {
		c.SelfSigned = *in.SelfSigned
	}
	if in.TrustDesired != "" {
		if in.TrustDesired != TrustTrusted && in.TrustDesired != TrustUntrusted {
			return FieldError("trustStateDesired", "trustStateDesired must be trusted or untrusted")
		}
		c.TrustDesired = in.TrustDesired
	}
	if err := checkLabels(in.Labels); err != nil {
		return err
	}
	if in.Labels != nil {
		c.Labels = append([]Label{}, (*in.Labels)...)
	}
	return nil
}

// GetCertificate returns one certificate of p's account: an uploaded one or
// an instance's CA.
func (s *Service) GetCertificate(ctx context.Context, p Principal, id string) (Certificate, error) {
	if err := require(p, roleReadAstra); err != nil {
		return Certificate{}, err
	}
	if !validAstraID(id) {
		return Certificate{}, Errorf(NotFound, "no such certificate")
	}
	c, err := s.store.GetCertificate(ctx, p.AccountID, id)
	if ErrorCode(err) != NotFound {
		return c, err
	}
	cas, err := s.instanceCertificates(ctx, p.AccountID)
	if err != nil {
		return Certificate{}, err
	}
	for _, c := range cas {
		if c.ID == id {
			return c, nil
		}
	}
	return Certificate{}, Errorf(NotFound, "no such certificate")
}

// ListCertificates returns every certificate of p's account, uploaded ones
// and instance CAs, oldest first.
func (s *Service) ListCertificates(ctx context.Context, p Principal) ([]Certificate, error) {
	if err := require(p, roleReadAstra); err != nil {
		return nil, err
	}
	list, err := s.store.ListCertificates(ctx, p.AccountID)
	if err != nil {
		return nil, err
	}
	cas, err := s.instanceCertificates(ctx, p.AccountID)
	if err != nil {
		return nil, err
	}
	list = append(list, cas...)
	sort.SliceStable(list, func(i, j int) bool {
		if !list[i].CreatedAt.Equal(list[j].CreatedAt) {
			return list[i].CreatedAt.Before(list[j].CreatedAt)
		}
		return list[i].ID < list[j].ID
	})
	return list, nil
}

// Labels on the certificates that stand for instance CAs.
const (
	LabelInstanceID   = "dbtrust.io/instance-id"
	LabelInstanceName = "dbtrust.io/instance-name"
	LabelCAState      = "dbtrust.io/ca-state"
)

// instanceCertificates shows the served CAs (current, next, previous) of the
// account's instances as read-only certificates, so that a rotation shows up
// here as soon as it happens.
func (s *Service) instanceCertificates(ctx context.Context, accountID string) ([]Certificate, error) {
	cas, err := s.store.ListServedCAs(ctx, accountID)
	if err != nil || len(cas) == 0 {
		return nil, err
	}
	insts, err := s.store.ListInstances(ctx, accountID, "")
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, i := range insts {
		names[i.ID] = i.Name
	}
	out := make([]Certificate, 0, len(cas))
	for _, ca := range cas {
		cn, notAfter, err := parseUploadedCert(ca.CertPEM)
		if err != nil {
			return nil, Wrap(Internal, err, "stored CA certificate does not parse")
		}
		out = append(out, Certificate{
			ID: ca.ID, AccountID: ca.AccountID, Version: "1.1", CertUse: CertUseRootCA, CertPEM: ca.CertPEM,
			CN: cn, NotAfter: notAfter, SelfSigned: true, TrustDesired: TrustTrusted,
			Meta: Meta{
				Labels: []Label{
					{LabelInstanceID, ca.InstanceID}, {LabelInstanceName, names[ca.InstanceID]}, {LabelCAState, string(ca.State)},
				},
				CreatedAt: ca.CreatedAt, ModifiedAt: ca.CreatedAt, CreatedBy: NilUserID,
			},
			InstanceID: ca.InstanceID, CAState: ca.State,
		})
	}
	return out, nil
}

// UpdateCertificate applies the given mutable fields to one of p's uploaded
// certificates. ifRevision, when not zero, is the revision the caller read:
// if the certificate changed since, the update fails with PreconditionFailed.
func (s *Service) UpdateCertificate(ctx context.Context, p Principal, id string, in CertificateInput, ifRevision int64) (Certificate, error) {
	if err := require(p, roleWriteCertificate); err != nil {
		return Certificate{}, err
	}
	c, err := s.GetCertificate(ctx, p, id)
	if err != nil {
		return Certificate{}, err
	}
	if c.ReadOnly() {
		return Certificate{}, Errorf(Forbidden, "instance CA certificates are managed by dbtrust; rotate the instance's CA instead")
	}
	if in.ID != "" && in.ID != id {
		return Certificate{}, &Error{Code: Conflict, Field: "id", Message: "id differs from the certificate addressed", Err: ErrIDMismatch}
	}
	if err := checkVersion(in.Version); err != nil {
		return Certificate{}, err
	}
	if ifRevision != 0 && ifRevision != c.Revision {
		return Certificate{}, Errorf(PreconditionFailed, "the certificate has changed")
	}
	now := s.now()
	if in.CertPEM != nil {
		cn, notAfter, err := parseUploadedCert(in.CertPEM)
		if err != nil {
			return Certificate{}, err
		}
		c.CertPEM, c.CN, c.NotAfter = in.CertPEM, cn, notAfter
		if in.SelfSigned == nil { // a new cert without the assertion is not self-signed
			c.SelfSigned = false
		}
	} else if in.TrustDesired != "" && in.TrustDesired != c.TrustDesired && c.TrustState(now) == TrustExpired {
		return Certificate{}, &Error{Code: Invalid, Field: "trustStateDesired", Message: "the trust state of an expired certificate cannot change", Err: ErrCertificateExpired}
	}
	if err := applyCertificateFields(&c, in); err != nil {
		return Certificate{}, err
	}
	prev := c.Revision
	c.Version, c.ModifiedAt, c.ModifiedBy, c.Revision = in.Version, now, UserID(p), prev+1
	err = s.store.UpdateCertificate(ctx, c, prev)
	s.audit(ctx, p, "astra.certificate.update", "certificate/"+id, err)
	if err != nil {
		return Certificate{}, err
	}
	return c, nil
}

// DeleteCertificate removes one of p's uploaded certificates.
func (s *Service) DeleteCertificate(ctx context.Context, p Principal, id string) error {
	if err := require(p, roleWriteCertificate); err != nil {
		return err
	}
	c, err := s.GetCertificate(ctx, p, id)
	if err != nil {
		return err
	}
	if c.ReadOnly() {
		return Errorf(Forbidden, "instance CA certificates are managed by dbtrust; delete the instance instead")
	}
	err = s.store.DeleteCertificate(ctx, p.AccountID, id)
	s.audit(ctx, p, "astra.certificate.delete", "certificate/"+id, err)
	return err
}

// validAstraID reports whether id is a lower-case UUID as Astra writes them.
func validAstraID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && len(id) == 36 && u.String() == id
}

// ---- credentials ----

// CredentialInput is a create or update of a credential. On update, nil
// fields keep the stored values; a nil KeyStore keeps the stored key store.
type CredentialInput struct {
	ID         string // update only: when set it must name the credential addressed
	Version    string
	Name       *string
	KeyType    string
	Valid      *bool
	ValidFrom  *time.Time
	ValidUntil *time.Time
	KeyStore   map[string][]byte // decoded values
	Labels     *[]Label
}

// credentialAAD binds a sealed key store to its credential.
func credentialAAD(id string) []byte { return []byte("astra-credential-keystore:" + id) }

func checkCredentialName(name string) error {
	if n := utf8.RuneCountInString(name); n < 1 || n > 127 || !utf8.ValidString(name) {
		return FieldError("name", "name must be 1-127 characters")
	}
	return nil
}

// CreateCredential stores a credential in p's account with its key store sealed.
func (s *Service) CreateCredential(ctx context.Context, p Principal, in CredentialInput) (Credential, error) {
	if err := require(p, roleWriteCredential); err != nil {
		return Credential{}, err
	}
	if err := checkVersion(in.Version); err != nil {
		return Credential{}, err
	}
	if in.Name == nil {
		return Credential{}, FieldError("name", "name is required")
	}
	if in.KeyStore == nil {
		return Credential{}, FieldError("keyStore", "keyStore is required")
	}
	c := Credential{ID: uuid.NewString(), AccountID: p.AccountID, Version: in.Version, Name: *in.Name, Valid: true, Meta: Meta{Labels: []Label{}}}
	if err := s.applyCredentialFields(p, &c, in, false); err != nil {
		return Credential{}, err
	}
	now := s.now()
	c.CreatedAt, c.ModifiedAt, c.CreatedBy, c.Revision = now, now, UserID(p), 1
	err := s.store.CreateCredential(ctx, c)
	err = uniqueConflict(err, c.KeyType)
	s.audit(ctx, p, "astra.credential.create", "credential/"+c.ID, err)
	if err != nil {
		return Credential{}, err
	}
	c.SealedKeyStore = nil
	return c, nil
}

// uniqueConflict says which uniqueness rule a store Conflict broke.
func uniqueConflict(err error, keyType string) error {
	if ErrorCode(err) != Conflict {
		return err
	}
	if keyType == "kubeconfig" {
		return &Error{Code: Conflict, Message: "a credential for this cluster already exists", Err: ErrKubeconfigExists}
	}
	return &Error{Code: Conflict, Message: "a credential of this type already exists for this user", Err: ErrCredentialExists}
}

// applyCredentialFields checks in and applies it to c; on update, the stored
// key store is opened to check it against a newly given key type.
func (s *Service) applyCredentialFields(p Principal, c *Credential, in CredentialInput, update bool) error {
	if in.Name != nil {
		if err := checkCredentialName(*in.Name); err != nil {
			return err
		}
		if update && c.KeyType == "passwordHash" && *in.Name != c.Name {
			return FieldError("name", "the name of a passwordHash credential cannot change")
		}
		c.Name = *in.Name
	}
	if in.KeyType != "" {
		if _, ok := CredentialKeyTypes[in.KeyType]; !ok {
			return FieldError("keyType", "unknown keyType %q", in.KeyType)
		}
		if update && c.KeyType != "" && c.KeyType != in.KeyType {
			return &Error{Code: Conflict, Field: "keyType", Message: "a credential's keyType cannot change", Err: ErrKeyTypeChange}
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
		t := wholeSecond(*in.ValidFrom)
		c.ValidFrom = &t
	}
	if in.ValidUntil != nil {
		t := wholeSecond(*in.ValidUntil)
		c.ValidUntil = &t
	}
	if c.ValidFrom != nil && c.ValidUntil != nil && c.ValidUntil.Before(*c.ValidFrom) {
		return FieldError("validUntilTimestamp", "validUntilTimestamp must not be before validFromTimestamp")
	}
	if err := checkLabels(in.Labels); err != nil {
		return err
	}
	if in.Labels != nil {
		c.Labels = append([]Label{}, (*in.Labels)...)
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
	if newType == "passwordHash" && c.Name != UserID(p) && !p.Role.AtLeast(roleOtherUsersHash) {
		return Errorf(Forbidden, "a passwordHash credential of another user needs the %s role", roleOtherUsersHash)
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
		return "", FieldError("keyStore", "keyStore must hold at least one entry")
	}
	for _, k := range CredentialKeyTypes[keyType] {
		if len(ks[k]) == 0 {
			return "", FieldError("keyStore."+k, "a %s keyStore needs a non-empty %q entry", keyType, k)
		}
	}
	switch keyType {
	case "passwordHash":
		if ch := string(ks["change"]); ch != "true" && ch != "false" {
			return "", FieldError("keyStore.change", `change must be the base64 of "true" or "false"`)
		}
		if !validAstraID(name) {
			return "", FieldError("name", "the name of a passwordHash credential is the user's ID (a UUID)")
		}
		return "user:" + name, nil
	case "kubeconfig":
		if len(ks) != 1 {
			return "", FieldError("keyStore", `a kubeconfig keyStore holds only "base64"`)
		}
		var kc struct {
			Clusters []struct {
				Cluster struct {
					Server string `json:"server"`
				} `json:"cluster"`
			} `json:"clusters"`
		}
		if err := json.Unmarshal(ks["base64"], &kc); err != nil || len(kc.Clusters) != 1 || kc.Clusters[0].Cluster.Server == "" {
			return "", FieldError("keyStore.base64", "base64 must hold a JSON kubeconfig for exactly one cluster")
		}
		sum := sha256.Sum256([]byte(kc.Clusters[0].Cluster.Server))
		return "kubeconfig:" + hex.EncodeToString(sum[:]), nil
	case "certificate":
		if _, err := pki.ParseCertsPEM(ks["certificate"]); err != nil {
			return "", FieldError("keyStore.certificate", "certificate must be the base64 of a PEM certificate that parses")
		}
	case "privkey":
		if !parsesAsPrivateKey(ks["privkey"]) {
			return "", FieldError("keyStore.privkey", "privkey must be the base64 of a PEM private key that parses")
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
			return nil, Wrap(Internal, err, "random source failed")
		}
		dk, err := pbkdf2.Key(sha256.New, string(ks["cleartext"]), salt, passwordIterations, 32)
		if err != nil {
			return nil, Wrap(Internal, err, "password hashing failed")
		}
		delete(enc, "cleartext")
		enc["hash"] = fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", passwordIterations,
			base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(dk))
	}
	plain, err := json.Marshal(enc)
	if err != nil {
		return nil, Wrap(Internal, err, "key store encoding failed")
	}
	sealed, err := s.sealer.Seal(plain, credentialAAD(id))
	clear(plain)
	if err != nil {
		return nil, Wrap(Internal, err, "key store sealing failed")
	}
	return sealed, nil
}

// openKeyStore opens c's sealed key store. It is only used inside the
// service, to check a stored key store against new rules; no endpoint returns it.
func (s *Service) openKeyStore(c Credential) (map[string][]byte, error) {
	plain, err := s.sealer.Open(c.SealedKeyStore, credentialAAD(c.ID))
	if err != nil {
		return nil, Wrap(Internal, err, "key store does not open")
	}
	defer clear(plain)
	var enc map[string]string
	if err := json.Unmarshal(plain, &enc); err != nil {
		return nil, Wrap(Internal, err, "stored key store does not decode")
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

// GetCredential returns one of p's credentials, without its key store.
func (s *Service) GetCredential(ctx context.Context, p Principal, id string) (Credential, error) {
	if err := require(p, roleReadAstra); err != nil {
		return Credential{}, err
	}
	if !validAstraID(id) {
		return Credential{}, Errorf(NotFound, "no such credential")
	}
	c, err := s.store.GetCredential(ctx, p.AccountID, id)
	c.SealedKeyStore = nil
	return c, err
}

// ListCredentials returns p's credentials oldest first, without key stores.
func (s *Service) ListCredentials(ctx context.Context, p Principal) ([]Credential, error) {
	if err := require(p, roleReadAstra); err != nil {
		return nil, err
	}
	return s.store.ListCredentials(ctx, p.AccountID)
}

// ListCredentialsAfter returns at most limit of p's credentials after the
// given creation time and ID, in creation order (keyset paging in the store).
func (s *Service) ListCredentialsAfter(ctx context.Context, p Principal, afterCreated time.Time, afterID string, limit int) ([]Credential, error) {
	if err := require(p, roleReadAstra); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, FieldError("limit", "limit must be positive")
	}
	return s.store.ListCredentialsAfter(ctx, p.AccountID, afterCreated, afterID, limit)
}

// CountCredentials returns how many credentials p's account holds.
func (s *Service) CountCredentials(ctx context.Context, p Principal) (int, error) {
	if err := require(p, roleReadAstra); err != nil {
		return 0, err
	}
	return s.store.CountCredentials(ctx, p.AccountID)
}

// UpdateCredential applies in to one of p's credentials; a nil KeyStore keeps
// the stored one. ifRevision works as in UpdateCertificate.
func (s *Service) UpdateCredential(ctx context.Context, p Principal, id string, in CredentialInput, ifRevision int64) (Credential, error) {
	if err := require(p, roleWriteCredential); err != nil {
		return Credential{}, err
	}
	if !validAstraID(id) {
		return Credential{}, Errorf(NotFound, "no such credential")
	}
	c, err := s.store.GetCredential(ctx, p.AccountID, id)
	if err != nil {
		return Credential{}, err
	}
	if in.ID != "" && in.ID != id {
		return Credential{}, &Error{Code: Conflict, Field: "id", Message: "id differs from the credential addressed", Err: ErrIDMismatch}
	}
	if err := checkVersion(in.Version); err != nil {
		return Credential{}, err
	}
	if ifRevision != 0 && ifRevision != c.Revision {
		return Credential{}, Errorf(PreconditionFailed, "the credential has changed")
	}
	if c.KeyType == "passwordHash" && c.Name != UserID(p) && !p.Role.AtLeast(roleOtherUsersHash) {
		return Credential{}, Errorf(Forbidden, "a passwordHash credential of another user needs the %s role", roleOtherUsersHash)
	}
	if err := s.applyCredentialFields(p, &c, in, true); err != nil {
		return Credential{}, err
	}
	prev := c.Revision
	c.Version, c.ModifiedAt, c.ModifiedBy, c.Revision = in.Version, s.now(), UserID(p), prev+1
	err = uniqueConflict(s.store.UpdateCredential(ctx, c, prev), c.KeyType)
	s.audit(ctx, p, "astra.credential.update", "credential/"+id, err)
	if err != nil {
		return Credential{}, err
	}
	c.SealedKeyStore = nil
	return c, nil
}

// DeleteCredential removes one of p's credentials.
func (s *Service) DeleteCredential(ctx context.Context, p Principal, id string) error {
	if err := require(p, roleWriteCredential); err != nil {
		return err
	}
	if !validAstraID(id) {
		return Errorf(NotFound, "no such credential")
	}
	c, err := s.store.GetCredential(ctx, p.AccountID, id)
	if err != nil {
		return err
	}
	if c.KeyType == "passwordHash" && c.Name != UserID(p) && !p.Role.AtLeast(roleOtherUsersHash) {
		return Errorf(Forbidden, "a passwordHash credential of another user needs the %s role", roleOtherUsersHash)
	}
	err = s.store.DeleteCredential(ctx, p.AccountID, id)
	s.audit(ctx, p, "astra.credential.delete", "credential/"+id, err)
	return err
}

// ---- list cursors ----

// SealCursor seals a list position for p's account, so that a client can hand
// it back but neither read nor forge it. purpose binds it to one collection.
func (s *Service) SealCursor(p Principal, purpose string, data []byte) ([]byte, error) {
	b, err := s.sealer.Seal(data, cursorAAD(p, purpose))
	if err != nil {
		return nil, Wrap(Internal, err, "cursor sealing failed")
	}
	return b, nil
}

// OpenCursor opens a cursor made by SealCursor; anything else is Invalid.
func (s *Service) OpenCursor(p Principal, purpose string, sealed []byte) ([]byte, error) {
	b, err := s.sealer.Open(sealed, cursorAAD(p, purpose))
	if err != nil {
		return nil, &Error{Code: Invalid, Field: "continue", Message: "the continue token is not one this server issued for this list", Err: err}
	}
	return b, nil
}

func cursorAAD(p Principal, purpose string) []byte {
	var b bytes.Buffer
	b.WriteString("list-cursor:")
	b.WriteString(p.AccountID)
	b.WriteByte(':')
	b.WriteString(purpose)
	return b.Bytes()
}
