// Package dbtrust is the domain core of the dbtrust TLS trust service: the types,
// the rules (Service) and the storage contract (Store). It knows nothing of HTTP
// or SQL; the dialects in internal/dialect translate, the stores persist.
package dbtrust

import "time"

// Role is what a token or access key may do within its account. Each role
// includes every power of the roles before it: viewer < member < admin < owner.
type Role string

const (
	RoleViewer Role = "viewer"
	RoleMember Role = "member"
	RoleAdmin  Role = "admin"
	RoleOwner  Role = "owner"
)

var roleRank = map[Role]int{RoleViewer: 1, RoleMember: 2, RoleAdmin: 3, RoleOwner: 4}

// Valid reports whether r is one of the four roles.
func (r Role) Valid() bool { return roleRank[r] > 0 }

// AtLeast reports whether r includes the powers of min.
func (r Role) AtLeast(min Role) bool { return roleRank[r] >= roleRank[min] && roleRank[min] > 0 }

// ParseRole returns the Role named s or an Invalid error.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if !r.Valid() {
		return "", FieldError("role", "role must be one of viewer, member, admin, owner")
	}
	return r, nil
}

// Principal is an authenticated caller: the account it acts in and its role.
type Principal struct {
	AccountID string
	Role      Role
	Subject   string // "token:<id>", "accesskey:<AK>" or "operator" for the local CLI
	// InstanceID, when set, scopes the principal to that one instance: a
	// node token (Role is RoleNode). See RequireInstance.
	InstanceID string
	// Name is the token's or access key's name, for display (rotation status).
	Name string
	// Via is "link" when the caller holds a presigned download link; Subject
	// is then the principal that asked for the link.
	Via string
}

// Operator returns the Principal of the local operator (the CLI working on the
// data folder directly), who may do anything in the given account.
func Operator(accountID string) Principal {
	return Principal{AccountID: accountID, Role: RoleOwner, Subject: "operator"}
}

// Account is a tenant. Nothing crosses accounts.
type Account struct {
	ID        string    // UUID
	Name      string    // unique
	ProjectID string    // 32 lower-case hex: the account's Huawei-style project
	CreatedAt time.Time // UTC
}

// Token is a bearer token. Only a hash of its secret is kept.
type Token struct {
	ID         string // 16 lower-case hex; the public half of the token string
	AccountID  string
	Name       string
	Role       Role
	SecretHash []byte // SHA-256 of the secret half
	InstanceID string // set for a node token: scoped to that instance (see RoleNode)
	CreatedAt  time.Time
	RevokedAt  *time.Time
}

// Engine is a database engine whose instances dbtrust keeps CAs for.
type Engine string

const (
	EnginePostgres   Engine = "pg"
	EngineMySQL      Engine = "mysql"
	EngineRedis      Engine = "redis"
	EngineValkey     Engine = "valkey"
	EngineMongoDB    Engine = "mongodb"
	EngineKafka      Engine = "kafka"
	EngineOpenSearch Engine = "opensearch"
)

// Engines lists the supported engines with their default version and port.
var Engines = map[Engine]struct {
	DefaultVersion string
	Port           int
}{
	EnginePostgres:   {"16", 25060},
	EngineMySQL:      {"8", 25060},
	EngineRedis:      {"7", 25061},
	EngineValkey:     {"8", 25061},
	EngineMongoDB:    {"7.0", 27017},
	EngineKafka:      {"3.7", 25073},
	EngineOpenSearch: {"2", 25060},
}

// Instance is a database cluster or instance. It has one CA lineage.
type Instance struct {
	ID        string // UUID
	AccountID string
	Name      string // unique within the account
	Engine    Engine
	Version   string
	Region    string
	Size      string
	NumNodes  int
	TLS       bool // whether the instance serves TLS at all
	Status    string
	Tags      []string
	Endpoints []Endpoint // as given; none means the generated default (see Service.InstanceEndpoints)
	CreatedAt time.Time
}

// CAState is where a CA stands in its instance's lineage.
type CAState string

const (
	CANext     CAState = "next"     // created by a rotation start, served beside current
	CACurrent  CAState = "current"  // signs new certificates
	CAPrevious CAState = "previous" // replaced, still served until retired
	CARetired  CAState = "retired"  // no longer served
)

// CA is one certificate authority of an instance.
type CA struct {
	ID          string // UUID
	InstanceID  string
	AccountID   string
	State       CAState
	KeyType     string // see pki.KeyType
	CertPEM     []byte
	SealedKey   []byte // the PKCS#8 private key, sealed under the key-encryption key
	Serial      string // lower-case hex
	Fingerprint string // SHA-256 of the DER, lower-case hex
	NotBefore   time.Time
	NotAfter    time.Time
	CreatedAt   time.Time
}

// AuditEvent records one change, or a run of refused requests (denied
// actions, failed authentications) of one principal or address in one
// interval. Events form a hash chain (audit.go).
type AuditEvent struct {
	ID        int64
	Time      time.Time
	AccountID string // "" for a failed authentication (no account known)
	Actor     string // Principal.Subject, or "ip:<address>" for a failed authentication
	Action    string // e.g. "instance.create", "auth.failed"
	Resource  string // e.g. "instance/<id>"
	Outcome   string // "ok", or the error Code of refused requests
	Count     int64  // how many requests the event stands for; 1 for a change
	Source    string // the client address of refused requests, when known
	Seq       int64  // position in the chain, from 1; 0 for events older than the chain
	PrevHash  string // Hash of the event at Seq-1 ("" for the first)
	Hash      string // AuditHash of this event
	// Events are published (to the webhook outbox) with the audit event, in
	// the same transaction, when a store method writes both.
	Events []Event
}

// Sealer encrypts secrets at rest. aad binds a ciphertext to its record, so a
// sealed value copied onto another record does not open.
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(sealed, aad []byte) ([]byte, error)
}

// Clock returns the current time; tests may pass a fixed one.
type Clock func() time.Time
