package dbtrust

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/dbtrust/dbtrust/internal/pki"
	"github.com/google/uuid"
)

// Options tune a Service. The zero value of each field means its default.
type Options struct {
	CAValidity time.Duration // lifetime of a new CA; default 10 years
	CAKeyType  string        // default key type of a new CA; default ecdsa-p256
	LeafTTL    time.Duration // default lifetime of an issued certificate; default 90 days
	DBDomain   string        // DNS suffix of instance hosts; default "db.internal"
	Clock      Clock         // default time.Now
	// EmulatedClock, when set, is the service's clock (Clock is ignored) and
	// may be read and moved forward through Clock and MoveClock.
	EmulatedClock *EmulatedClock
	Logger        *slog.Logger // default discards
	// CacheTTL bounds how long a cached token or CA list is served (default
	// 5s; negative disables the cache). Changes made through this Service
	// drop the entries they touch at once; changes by other processes do so
	// as soon as the store reports them (see WatchStore), or after CacheTTL
	// at worst.
	CacheTTL time.Duration
	// CacheSize bounds how many entries each kind of cached read holds
	// (tokens, CA lists, ...); default DefaultCacheSize.
	CacheSize  int
	CRLBaseURL string        // when set, issued certificates name their CA's CRL at CRLBaseURL/v1/cas/{ca_id}/crl
	CRLTTL     time.Duration // how long a CRL is valid (its nextUpdate); default 24 hours
	// RefusalInterval is how long refused requests of one principal or
	// address are counted into one audit event; default
	// DefaultRefusalInterval.
	RefusalInterval time.Duration
}

// Service holds every rule of dbtrust. It is safe for concurrent use.
type Service struct {
	store  Store
	sealer Sealer
	opt    Options
	log    *slog.Logger
	cache  *readCache
	// projects caches ProjectAccount; links holds the link signing key.
	projects *Cache[string, Account]
	links    linkSigner
	adopt    *adoptions
	// refusals counts refused requests between audit events (refusal.go).
	refusals refusals
	// signers keeps opened CA keys (signers.go).
	signers *signerCache
}

// NewService returns a Service over store, sealing secrets with sealer.
func NewService(store Store, sealer Sealer, opt Options) *Service {
	if opt.CAValidity <= 0 {
		opt.CAValidity = 10 * 365 * 24 * time.Hour
	}
	if opt.CAKeyType == "" {
		opt.CAKeyType = string(pki.DefaultKeyType)
	}
	if opt.LeafTTL <= 0 {
		opt.LeafTTL = 90 * 24 * time.Hour
	}
	if opt.DBDomain == "" {
		opt.DBDomain = "db.internal"
	}
	if opt.RefusalInterval <= 0 {
		opt.RefusalInterval = DefaultRefusalInterval
	}
	if opt.CRLTTL <= 0 {
		opt.CRLTTL = 24 * time.Hour
	}
	opt.CRLBaseURL = strings.TrimSuffix(opt.CRLBaseURL, "/")
	if opt.EmulatedClock != nil {
		opt.Clock = opt.EmulatedClock.Now
	}
	if opt.Clock == nil {
		opt.Clock = time.Now
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opt.CacheTTL == 0 {
		opt.CacheTTL = 5 * time.Second
	}
	if opt.CacheSize <= 0 {
		opt.CacheSize = DefaultCacheSize
	}
	s := &Service{store: store, sealer: sealer, opt: opt, log: log, cache: newReadCache(opt.CacheTTL, opt.CacheSize, opt.Clock)}
	s.projects = NewCache[string, Account](s, ChangeProject)
	s.adopt = &adoptions{}
	s.signers = newSignerCache(signerCacheSize)
	return s
}

// Store returns the service's store, for health checks.
func (s *Service) Store() Store { return s.store }

func (s *Service) now() time.Time { return s.opt.Clock().UTC() }

// Sealer returns the sealer the service keeps secrets with, for the
// capability services beside the core that seal secrets of their own.
func (s *Service) Sealer() Sealer { return s.sealer }

// Require returns Forbidden unless p acts in an account and holds at least
// role min.
func Require(p Principal, min Role) error {
	if p.InstanceID != "" {
		return errNodeScope
	}
	if p.AccountID == "" || !p.Role.AtLeast(min) {
		return Errorf(Forbidden, "this action needs the %s role", min)
	}
	return nil
}

// afterChange follows a change whose store method wrote its audit event in
// the change's own transaction (a failed change wrote neither): it drops
// the cached reads of resource.
func (s *Service) afterChange(ctx context.Context, p Principal, action, resource string, err error) {
	s.changed(action, resource)
}

// ---- accounts and tokens ----

var accountNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// TokenPrefix starts every dbtrust bearer token.
const TokenPrefix = "dbt_"

func newTokenSecret() (id, secret, full string, hash []byte, err error) {
	b := make([]byte, 8+32)
	if _, err = rand.Read(b); err != nil {
		return
	}
	id = hex.EncodeToString(b[:8])
	secret = base64.RawURLEncoding.EncodeToString(b[8:])
	sum := sha256.Sum256([]byte(secret))
	return id, secret, TokenPrefix + id + "_" + secret, sum[:], nil
}

// NewProjectID returns a fresh Huawei-style project ID: 32 lower-case hex.
func NewProjectID() string {
	u := uuid.New()
	return hex.EncodeToString(u[:])
}

// CreateAccount makes an account with a first owner token, whose full string is
// returned once and never again. Only the operator (CLI) calls it.
func (s *Service) CreateAccount(ctx context.Context, name string) (Account, string, error) {
	if !accountNameRE.MatchString(name) {
		return Account{}, "", FieldError("name", "account name must be 1-63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit")
	}
	a := Account{ID: uuid.NewString(), Name: name, ProjectID: NewProjectID(), CreatedAt: s.now()}
	tok, full, err := s.newToken(a.ID, "owner", RoleOwner)
	if err != nil {
		return Account{}, "", err
	}
	actx, done := s.Audited(ctx, Operator(a.ID), "account.create", "account/"+a.ID)
	err = done(Taken(s.store.CreateAccount(actx, a, tok), "an account named %q already exists: pick another name", name))
	if err != nil {
		return Account{}, "", err
	}
	return a, full, nil
}

// Bootstrap makes the first account, named "default", when the store has none.
// created is false (and the token empty) when an account already existed.
func (s *Service) Bootstrap(ctx context.Context) (a Account, token string, created bool, err error) {
	accts, err := s.store.ListAccounts(ctx)
	if err != nil {
		return Account{}, "", false, err
	}
	if len(accts) > 0 {
		return accts[0], "", false, nil
	}
	a, token, err = s.CreateAccount(ctx, "default")
	if ErrorCode(err) == Conflict { // another replica bootstrapped first
		accts, err = s.store.ListAccounts(ctx)
		if err != nil || len(accts) == 0 {
			return Account{}, "", false, err
		}
		return accts[0], "", false, nil
	}
	return a, token, err == nil, err
}

// ListAccounts returns every account. Only the operator calls it.
func (s *Service) ListAccounts(ctx context.Context) ([]Account, error) {
	return s.store.ListAccounts(ctx)
}

// FindAccount returns the account with the given ID or name.
func (s *Service) FindAccount(ctx context.Context, idOrName string) (Account, error) {
	accts, err := s.store.ListAccounts(ctx)
	if err != nil {
		return Account{}, err
	}
	for _, a := range accts {
		if a.ID == idOrName || a.Name == idOrName {
			return a, nil
		}
	}
	return Account{}, Errorf(NotFound, "no account %q", idOrName)
}

func (s *Service) newToken(accountID, name string, role Role) (Token, string, error) {
	id, _, full, hash, err := newTokenSecret()
	if err != nil {
		return Token{}, "", err
	}
	return Token{ID: id, AccountID: accountID, Name: name, Role: role, SecretHash: hash, CreatedAt: s.now()}, full, nil
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._@:-]{0,99}$`)

// ValidName reports whether name may name a token or an access key: 1-100
// printable characters, starting with a letter or digit.
func ValidName(name string) bool { return nameRE.MatchString(name) }

// CheckGrant applies the one rule on handing out a role, to a token or an
// access key: role must be one of the four (Invalid), and p may not hand out
// a role above its own (Forbidden). what names the thing made, e.g. "a token".
func CheckGrant(p Principal, role Role, what string) error {
	if !role.Valid() {
		return FieldError("role", "role must be one of viewer, member, admin, owner")
	}
	if !p.Role.AtLeast(role) {
		return Errorf(Forbidden, "a %s cannot create %s with the %s role", p.Role, what, role)
	}
	return nil
}

// CreateToken makes a token in p's account. p must be an admin, and may not
// hand out a role above its own. The full token string is returned once.
func (s *Service) CreateToken(ctx context.Context, p Principal, name string, role Role) (Token, string, error) {
	if err := Require(p, RoleAdmin); err != nil {
		return Token{}, "", err
	}
	if err := CheckGrant(p, role, "a token"); err != nil {
		return Token{}, "", err
	}
	if !ValidName(name) {
		return Token{}, "", FieldError("name", "token name must be 1-100 printable characters")
	}
	t, full, err := s.newToken(p.AccountID, name, role)
	if err != nil {
		return Token{}, "", err
	}
	actx, done := s.Audited(ctx, p, "token.create", "token/"+t.ID)
	err = done(Taken(s.store.CreateToken(actx, t), "a token named %q already exists in this account: pick another name", name))
	if err != nil {
		return Token{}, "", err
	}
	return t, full, nil
}

// ListTokens returns the tokens of p's account (admins only).
func (s *Service) ListTokens(ctx context.Context, p Principal) ([]Token, error) {
	if err := Require(p, RoleAdmin); err != nil {
		return nil, err
	}
	return s.store.ListTokens(ctx, p.AccountID)
}

// RevokeToken revokes a token of p's account (admins only). As with creation,
// nobody may revoke a token whose role is above their own: an admin cannot
// lock the owners out.
func (s *Service) RevokeToken(ctx context.Context, p Principal, id string) error {
	if err := Require(p, RoleAdmin); err != nil {
		return err
	}
	t, err := s.store.GetToken(ctx, id)
	if err == nil && t.AccountID != p.AccountID {
		err = Errorf(NotFound, "no such token")
	}
	if err == nil && !p.Role.AtLeast(t.Role) {
		err = Errorf(Forbidden, "a %s cannot revoke a token with the %s role", p.Role, t.Role)
	}
	if err != nil {
		return err
	}
	actx, done := s.Audited(ctx, p, "token.revoke", "token/"+id)
	return done(s.store.RevokeToken(actx, p.AccountID, id, s.now()))
}

var errBadToken = Errorf(Unauthorized, "the token is missing, malformed, unknown or revoked")

// Authenticate checks a bearer token string and returns its Principal. Every
// failure is the same Unauthorized error, so a caller learns nothing about why.
func (s *Service) Authenticate(ctx context.Context, bearer string) (Principal, error) {
	rest, ok := strings.CutPrefix(bearer, TokenPrefix)
	if !ok {
		return Principal{}, errBadToken
	}
	id, secret, ok := strings.Cut(rest, "_")
	if !ok || len(id) != 16 || len(secret) != 43 {
		return Principal{}, errBadToken
	}
	t, err := s.getToken(ctx, id)
	if err != nil {
		if ErrorCode(err) == NotFound {
			return Principal{}, errBadToken
		}
		return Principal{}, err
	}
	var b [43]byte // the secret's copy on the stack: []byte(secret) would allocate
	sum := sha256.Sum256(b[:copy(b[:], secret)])
	if subtle.ConstantTimeCompare(sum[:], t.SecretHash) != 1 || t.RevokedAt != nil {
		return Principal{}, errBadToken
	}
	return t.Principal(), nil
}

// ---- instances ----

// InstanceSpec is what a caller asks for when creating an instance.
type InstanceSpec struct {
	// ID is the instance's ID: by default a new UUID; DDS and DCS users may
	// give the ID their tools already hold, in Huawei Cloud's form.
	ID        string
	Name      string
	Engine    string
	Version   string
	Region    string
	Size      string
	NumNodes  int
	Tags      []string
	TLS       *bool      // default true
	CAKeyType string     // default Options.CAKeyType
	Endpoints []Endpoint // default: the generated host and the engine's port
}

// Defaults and bounds of an InstanceSpec. Any region or size slug is
// accepted: dbtrust keeps trust, it does not place or size servers.
const (
	DefaultRegion = "local"
	DefaultSize   = "db-s-1vcpu-1gb"
	MaxNodes      = 16
)

var (
	instanceNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	versionRE      = regexp.MustCompile(`^[0-9]+(\.[0-9]+){0,2}$`)
	slugRE         = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	tagRE          = regexp.MustCompile(`^[A-Za-z0-9_:-]{1,255}$`)
)

// CreateInstance validates spec, creates the instance and its first CA (state
// current) in one step, and returns the instance.
func (s *Service) CreateInstance(ctx context.Context, p Principal, spec InstanceSpec) (Instance, error) {
	if err := Require(p, RoleMember); err != nil {
		return Instance{}, err
	}
	inst, keyType, err := s.prepareInstance(p, spec)
	if err != nil {
		return Instance{}, err
	}
	ca, err := s.newCA(inst, keyType, CACurrent)
	if err != nil {
		return Instance{}, err
	}
	actx, done := s.Audited(ctx, p, "instance.create", "instance/"+inst.ID)
	err = done(Taken(s.store.CreateInstance(actx, inst, ca), "%s", instanceTaken(spec, inst)))
	if err != nil {
		return Instance{}, err
	}
	return inst, nil
}

// prepareInstance validates spec and makes the instance p creates from it,
// with the key type of its first CA: the one rule of instance creation,
// single (CreateInstance) or in bulk (ImportInstances).
func (s *Service) prepareInstance(p Principal, spec InstanceSpec) (Instance, pki.KeyType, error) {
	inst, keyType, err := s.validateSpec(spec)
	if err != nil {
		return Instance{}, "", err
	}
	if inst.ID == "" {
		inst.ID = uuid.NewString()
	}
	inst.AccountID = p.AccountID
	inst.Status = "online"
	inst.CreatedAt = s.now()
	return inst, keyType, nil
}

// instanceTaken is the message when inst's name (or the ID spec gave) is
// taken.
func instanceTaken(spec InstanceSpec, inst Instance) string {
	if spec.ID != "" {
		return fmt.Sprintf("an instance named %q or with ID %s already exists: pick another name or ID", inst.Name, inst.ID)
	}
	return fmt.Sprintf("an instance named %q already exists in this account: pick another name", inst.Name)
}

func (s *Service) validateSpec(spec InstanceSpec) (Instance, pki.KeyType, error) {
	id := spec.ID
	if id != "" {
		var ok bool
		if id, ok = ParseInstanceID(id); !ok {
			return Instance{}, "", FieldError("id", "id must be a UUID or a Huawei Cloud instance ID (32 lower-case hex digits and a suffix such as in02)")
		}
	}
	if !instanceNameRE.MatchString(spec.Name) {
		return Instance{}, "", FieldError("name", "name must be 1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit")
	}
	eng, ok := Engines[Engine(spec.Engine)]
	if !ok {
		return Instance{}, "", FieldError("engine", "engine must be one of pg, mysql, redis, valkey, mongodb, kafka, opensearch")
	}
	version := spec.Version
	if version == "" {
		version = eng.DefaultVersion
	} else if !versionRE.MatchString(version) {
		return Instance{}, "", FieldError("version", "version must look like 16, 8.0 or 7.0.2")
	}
	region := spec.Region
	if region == "" {
		region = DefaultRegion
	} else if !slugRE.MatchString(region) {
		return Instance{}, "", FieldError("region", "region must be a slug such as nyc1")
	}
	size := spec.Size
	if size == "" {
		size = DefaultSize
	} else if !slugRE.MatchString(size) {
		return Instance{}, "", FieldError("size", "size must be a slug such as db-s-1vcpu-1gb")
	}
	nodes := spec.NumNodes
	if nodes == 0 {
		nodes = 1
	} else if nodes < 1 || nodes > MaxNodes {
		return Instance{}, "", FieldError("num_nodes", "num_nodes must be between 1 and %d", MaxNodes)
	}
	if len(spec.Tags) > 50 {
		return Instance{}, "", FieldError("tags", "at most 50 tags")
	}
	var tags []string
	seen := map[string]bool{}
	for _, t := range spec.Tags {
		if !tagRE.MatchString(t) {
			return Instance{}, "", FieldError("tags", "tags must be 1-255 characters of letters, digits, '_', ':' and '-'")
		}
		if !seen[t] {
			seen[t] = true
			tags = append(tags, t)
		}
	}
	tls := true
	if spec.TLS != nil {
		tls = *spec.TLS
	}
	kts := spec.CAKeyType
	if kts == "" {
		kts = s.opt.CAKeyType
	}
	kt, err := pki.ParseKeyType(kts)
	if err != nil {
		return Instance{}, "", FieldError("ca_key_type", "%s", err.Error())
	}
	eps, err := CheckEndpoints(spec.Endpoints)
	if err != nil {
		return Instance{}, "", err
	}
	return Instance{ID: id, Name: spec.Name, Engine: Engine(spec.Engine), Version: version, Region: region,
		Size: size, NumNodes: nodes, Tags: tags, TLS: tls, Endpoints: eps}, kt, nil
}

// caAAD binds a sealed CA key to its CA record.
func caAAD(caID string) []byte { return []byte("ca-key:" + caID) }

// newCA makes a CA for inst: key, self-signed certificate, sealed key.
func (s *Service) newCA(inst Instance, kt pki.KeyType, state CAState) (CA, error) {
	key, err := pki.GenerateKey(kt)
	if err != nil {
		return CA{}, Wrap(Internal, err, "key generation failed")
	}
	now := s.now()
	id := uuid.NewString()
	der, err := pki.NewCA(pki.CARequest{
		Subject: pkix.Name{
			CommonName:         inst.Name + " CA " + now.Format("2006-01-02T15:04:05Z"),
			Organization:       []string{"dbtrust"},
			OrganizationalUnit: []string{"instance " + inst.ID},
			SerialNumber:       id, // every CA of an instance has its own subject, even when two are made in one second
		},
		Key:      key,
		NotAfter: now.Add(s.opt.CAValidity),
		Now:      now,
	})
	if err != nil {
		return CA{}, Wrap(Internal, err, "CA certificate creation failed")
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return CA{}, Wrap(Internal, err, "CA certificate creation failed")
	}
	keyDER, err := pki.MarshalKey(key)
	if err != nil {
		return CA{}, Wrap(Internal, err, "key encoding failed")
	}
	sealed, err := s.sealer.Seal(keyDER, caAAD(id))
	clear(keyDER)
	if err != nil {
		return CA{}, Wrap(Internal, err, "key sealing failed")
	}
	return CA{
		ID: id, InstanceID: inst.ID, AccountID: inst.AccountID, State: state, KeyType: string(kt),
		CertPEM: pki.CertPEM(der), SealedKey: sealed, Serial: cert.SerialNumber.Text(16),
		Fingerprint: pki.Fingerprint(der), NotBefore: cert.NotBefore.UTC(), NotAfter: cert.NotAfter.UTC(),
		CreatedAt: now,
	}, nil
}

// GetInstance returns one of p's instances.
func (s *Service) GetInstance(ctx context.Context, p Principal, id string) (Instance, error) {
	if err := RequireInstance(p, RoleFor(ActionReadInstance), id); err != nil {
		return Instance{}, err
	}
	id, err := parseID(id)
	if err != nil {
		return Instance{}, err
	}
	return s.store.GetInstance(ctx, p.AccountID, id)
}

// ListInstances returns p's instances, those with the tag when tag is set.
func (s *Service) ListInstances(ctx context.Context, p Principal, tag string) ([]Instance, error) {
	if err := Authorize(p, ActionReadInstance); err != nil {
		return nil, err
	}
	if tag != "" && !tagRE.MatchString(tag) {
		return nil, FieldError("tag_name", "tag must be 1-255 characters of letters, digits, '_', ':' and '-'")
	}
	return s.store.ListInstances(ctx, p.AccountID, tag)
}

// DeleteInstance deletes one of p's instances with its CAs.
func (s *Service) DeleteInstance(ctx context.Context, p Principal, id string) error {
	if err := Require(p, RoleMember); err != nil {
		return err
	}
	id, err := parseID(id)
	if err != nil {
		return err
	}
	actx, done := s.Audited(ctx, p, "instance.delete", "instance/"+id)
	err = done(s.store.DeleteInstance(actx, p.AccountID, id))
	s.signers.dropInstance(id)
	return err
}

// SetInstanceTLS switches an instance's TLS on or off (admins only).
func (s *Service) SetInstanceTLS(ctx context.Context, p Principal, id string, on bool) error {
	if err := Authorize(p, ActionSetTLS); err != nil {
		return err
	}
	id, err := parseID(id)
	if err != nil {
		return err
	}
	actx, done := s.Audited(ctx, p, "instance.tls", "instance/"+id)
	return done(s.store.UpdateInstanceTLS(actx, p.AccountID, id, on))
}

// parseID returns the canonical form of an instance's (or CA's) ID
// (ParseInstanceID), and rejects IDs that cannot be dbtrust IDs as NotFound,
// so that a malformed ID and an unknown one read the same.
func parseID(id string) (string, error) {
	c, ok := ParseInstanceID(id)
	if !ok {
		return "", Errorf(NotFound, "no such instance")
	}
	return c, nil
}

// ---- CAs ----

// servedOrder lists the CA states served in a bundle, in bundle order.
var servedOrder = []CAState{CACurrent, CANext, CAPrevious}

// InstanceCAs returns every CA of one of p's instances, oldest first.
func (s *Service) InstanceCAs(ctx context.Context, p Principal, instanceID string) ([]CA, error) {
	e, err := s.instanceCAs(ctx, p, instanceID)
	return e.cas, err
}

func (s *Service) instanceCAs(ctx context.Context, p Principal, instanceID string) (caEntry, error) {
	if err := RequireInstance(p, RoleFor(ActionReadCA), instanceID); err != nil {
		return caEntry{}, err
	}
	instanceID, err := parseID(instanceID)
	if err != nil {
		return caEntry{}, err
	}
	e, err := s.listCAs(ctx, p.AccountID, instanceID)
	if err != nil {
		return caEntry{}, err
	}
	if len(e.cas) == 0 { // an instance always has a CA: none means no instance
		return caEntry{}, Errorf(NotFound, "no such instance")
	}
	return e, nil
}

// ServedCAs returns the CAs of p's instances that clients are told to trust
// (current, next and previous ones), oldest first.
func (s *Service) ServedCAs(ctx context.Context, p Principal) ([]CA, error) {
	if err := Authorize(p, ActionReadCA); err != nil {
		return nil, err
	}
	return s.store.ListServedCAs(ctx, p.AccountID)
}

// InstanceCABundle returns the PEM bundle clients of the instance should trust:
// the current CA, then the next one during a rotation, then the previous one
// until it is retired. The caller must not modify the returned bytes.
//
// Each call is recorded, in memory, as p's latest fetch of the bundle (see
// RotationStatus and FlushAdoptions).
func (s *Service) InstanceCABundle(ctx context.Context, p Principal, instanceID string) ([]byte, error) {
	e, err := s.instanceCAs(ctx, p, instanceID)
	if err == nil {
		s.noteBundle(p, e)
	}
	return e.bundle, err
}

// Bundle concatenates the served CAs of cas in bundle order.
func Bundle(cas []CA) []byte {
	var b bytes.Buffer
	for _, st := range servedOrder {
		for _, ca := range cas {
			if ca.State == st {
				b.Write(ca.CertPEM)
			}
		}
	}
	return b.Bytes()
}

// currentCA returns the instance's current CA with its parsed certificate
// and key, from the read cache's CA list and the signer cache. An instance
// without CAs (none, or not the account's) is NotFound.
func (s *Service) currentCA(ctx context.Context, accountID, instanceID string) (CA, *x509.Certificate, signerKey, error) {
	e, err := s.listCAs(ctx, accountID, instanceID)
	if err != nil {
		return CA{}, nil, nil, err
	}
	for _, ca := range e.cas {
		if ca.State != CACurrent {
			continue
		}
		if o, ok := s.signers.get(ca); ok {
			return ca, o.cert, o.key, nil
		}
		// A current CA not yet opened: the instance is new or rotated (here,
		// or in another process); the keys of its older CAs go.
		s.signers.dropInstance(ca.InstanceID)
		cert, key, err := s.openCA(ca)
		return ca, cert, key, err
	}
	return CA{}, nil, nil, Errorf(NotFound, "no such instance")
}

// openCA returns the CA's certificate and key, opened once and then kept in
// the signer cache.
func (s *Service) openCA(ca CA) (*x509.Certificate, signerKey, error) {
	if o, ok := s.signers.get(ca); ok {
		return o.cert, o.key, nil
	}
	certs, err := pki.ParseCertsPEM(ca.CertPEM)
	if err != nil {
		return nil, nil, Wrap(Internal, err, "stored CA certificate does not parse")
	}
	der, err := s.sealer.Open(ca.SealedKey, caAAD(ca.ID))
	if err != nil {
		return nil, nil, Wrap(Internal, err, "CA key does not open")
	}
	key, err := pki.ParseKey(der)
	clear(der)
	if err != nil {
		return nil, nil, Wrap(Internal, err, "CA key does not parse")
	}
	s.signers.put(&openedCA{caID: ca.ID, instanceID: ca.InstanceID, sealed: bytes.Clone(ca.SealedKey), cert: certs[0], key: key})
	return certs[0], key, nil
}

// Ready reports whether the store answers.
func (s *Service) Ready(ctx context.Context) error {
	err := s.store.Ping(ctx)
	if err != nil && !errors.As(err, new(*Error)) {
		return Wrap(Unavailable, err, "store unavailable")
	}
	return err
}
