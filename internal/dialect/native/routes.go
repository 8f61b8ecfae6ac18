// Package native serves dbtrust's own API under /v1: instances, their CAs and
// staged rotation, issued certificates and revocation (with a CRL per CA),
// tokens, signed access keys, audit and connection recipes. Its OpenAPI document (openapi.json,
// embedded) is served at GET /v1/openapi.json, and the tests check every
// response against it.
package native

import (
	"context"
	_ "embed"
	"log/slog"
	"net/http"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/httpx"
)

//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the API's OpenAPI 3 document (JSON).
func OpenAPI() []byte { return openAPI }

// service is the part of the core this dialect uses.
type service interface {
	Authenticate(ctx context.Context, bearer string) (dbtrust.Principal, error)

	CreateInstance(ctx context.Context, p dbtrust.Principal, spec dbtrust.InstanceSpec) (dbtrust.Instance, error)
	ImportInstances(ctx context.Context, p dbtrust.Principal, specs []dbtrust.InstanceSpec) ([]dbtrust.Instance, error)
	GetInstance(ctx context.Context, p dbtrust.Principal, id string) (dbtrust.Instance, error)
	ListInstances(ctx context.Context, p dbtrust.Principal, tag string) ([]dbtrust.Instance, error)
	DeleteInstance(ctx context.Context, p dbtrust.Principal, id string) error
	UpdateInstance(ctx context.Context, p dbtrust.Principal, id string, u dbtrust.InstanceUpdate) (dbtrust.Instance, error)
	InstanceEndpoints(inst dbtrust.Instance) []dbtrust.Endpoint
	InstanceEndpoint(inst dbtrust.Instance) dbtrust.Endpoint

	InstanceCAs(ctx context.Context, p dbtrust.Principal, id string) ([]dbtrust.CA, error)
	InstanceCABundle(ctx context.Context, p dbtrust.Principal, id string) ([]byte, error)
	RotateStart(ctx context.Context, p dbtrust.Principal, id, keyType string) ([]dbtrust.CA, error)
	RotateFinish(ctx context.Context, p dbtrust.Principal, id string, force bool) ([]dbtrust.CA, []dbtrust.Client, error)
	RotationStatus(ctx context.Context, p dbtrust.Principal, id string) (dbtrust.RotationStatus, error)
	RotateRollback(ctx context.Context, p dbtrust.Principal, id string) ([]dbtrust.CA, error)
	RotateRetire(ctx context.Context, p dbtrust.Principal, id string, force bool) ([]dbtrust.CA, error)
	GetRotationPolicy(ctx context.Context, p dbtrust.Principal, id string) (dbtrust.RotationPolicy, error)
	SetRotationPolicy(ctx context.Context, p dbtrust.Principal, id string, spec dbtrust.RotationPolicySpec) (dbtrust.RotationPolicy, error)
	CRLURL(caID string) string
	CRL(ctx context.Context, caID string) ([]byte, error)

	IssueCertificate(ctx context.Context, p dbtrust.Principal, id string, req dbtrust.IssueRequest) (dbtrust.IssuedCertificate, error)
	ListIssuedCertificates(ctx context.Context, p dbtrust.Principal, id string) ([]dbtrust.IssuedCertificate, error)
	GetIssuedCertificate(ctx context.Context, p dbtrust.Principal, id, serial string) (dbtrust.IssuedCertificate, error)
	RevokeIssuedCertificate(ctx context.Context, p dbtrust.Principal, id, serial, reason string) (dbtrust.IssuedCertificate, error)

	ConnectionRecipes(ctx context.Context, p dbtrust.Principal, id, bundlePath string) (dbtrust.Instance, []dbtrust.Recipe, error)

	CreateToken(ctx context.Context, p dbtrust.Principal, name string, role dbtrust.Role) (dbtrust.Token, string, error)
	CreateNodeToken(ctx context.Context, p dbtrust.Principal, instanceID, name string) (dbtrust.Token, string, error)
	ListTokens(ctx context.Context, p dbtrust.Principal) ([]dbtrust.Token, error)
	AccountOf(ctx context.Context, p dbtrust.Principal) (dbtrust.Account, error)
	RevokeToken(ctx context.Context, p dbtrust.Principal, id string) error
	Audit(ctx context.Context, p dbtrust.Principal, f dbtrust.AuditFilter) ([]dbtrust.AuditEvent, error)

	CreateWebhook(ctx context.Context, p dbtrust.Principal, spec dbtrust.WebhookSpec) (dbtrust.Webhook, string, error)
	ListWebhooks(ctx context.Context, p dbtrust.Principal) ([]dbtrust.Webhook, error)
	DeleteWebhook(ctx context.Context, p dbtrust.Principal, id string) error
	WebhookDeliveries(ctx context.Context, p dbtrust.Principal, id string, limit int) ([]dbtrust.Delivery, error)

	Now() time.Time
	ClockEmulated() bool
	Clock(ctx context.Context, p dbtrust.Principal) (dbtrust.ClockState, error)
	MoveClock(ctx context.Context, p dbtrust.Principal, m dbtrust.ClockMove) (dbtrust.ClockState, error)
}

// Config is what the dialect needs besides the service.
type Config struct {
	Log     *slog.Logger
	MaxBody int64         // request body limit in bytes; default 1 MiB
	Limits  *httpx.Limits // the request budgets every dialect shares (Public: the CRLs); nil: no limit
}

// Register adds the native API to mux, one line per route. Paths under /v1
// that match no route get the server's fallback, which answers in this
// dialect's error shape.
func Register(mux *http.ServeMux, svc service, keys accessKeys, cfg Config) {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	a := api{svc: svc, keys: keys, cfg: cfg}
	mux.Handle("GET /v1/openapi.json", http.HandlerFunc(a.openAPI))

	mux.Handle("GET /v1/instances", a.auth(a.listInstances))
	mux.Handle("POST /v1/instances", a.auth(a.createInstance))
	mux.Handle("POST /v1/instances/import", a.auth(a.importInstances))
	mux.Handle("GET /v1/instances/{instance_id}", a.auth(a.getInstance))
	mux.Handle("PATCH /v1/instances/{instance_id}", a.auth(a.updateInstance))
	mux.Handle("DELETE /v1/instances/{instance_id}", a.auth(a.deleteInstance))

	mux.Handle("GET /v1/instances/{instance_id}/cas", a.auth(a.listCAs))
	mux.Handle("GET /v1/instances/{instance_id}/ca-bundle", a.auth(a.getBundle))
	mux.Handle("GET /v1/instances/{instance_id}/rotation", a.auth(a.getRotation))
	mux.Handle("POST /v1/instances/{instance_id}/rotation/start", a.auth(a.rotateStart))
	mux.Handle("POST /v1/instances/{instance_id}/rotation/finish", a.auth(a.rotateFinish))
	mux.Handle("POST /v1/instances/{instance_id}/rotation/rollback", a.auth(a.rotateRollback))
	mux.Handle("POST /v1/instances/{instance_id}/rotation/retire", a.auth(a.rotateRetire))
	mux.Handle("GET /v1/instances/{instance_id}/rotation/policy", a.auth(a.getPolicy))
	mux.Handle("PUT /v1/instances/{instance_id}/rotation/policy", a.auth(a.putPolicy))

	mux.Handle("GET /v1/instances/{instance_id}/certificates", a.auth(a.listCertificates))
	mux.Handle("POST /v1/instances/{instance_id}/certificates", a.auth(a.issueCertificate))
	mux.Handle("GET /v1/instances/{instance_id}/certificates/{serial}", a.auth(a.getCertificate))
	mux.Handle("POST /v1/instances/{instance_id}/certificates/{serial}/revoke", a.auth(a.revokeCertificate))

	mux.Handle("GET /v1/instances/{instance_id}/recipes", a.auth(a.getRecipes))
	mux.Handle("POST /v1/instances/{instance_id}/node-tokens", a.auth(a.createNodeToken))

	// CRLs are public, as relying parties fetch them without credentials.
	mux.Handle("GET /v1/cas/{ca_id}/crl", a.public(a.getCRL))
	mux.Handle("GET /v1/cas/{ca_id}/crl.pem", a.public(a.getCRLPEM))

	mux.Handle("GET /v1/tokens", a.auth(a.listTokens))
	mux.Handle("POST /v1/tokens", a.auth(a.createToken))
	mux.Handle("DELETE /v1/tokens/{token_id}", a.auth(a.revokeToken))
	mux.Handle("GET /v1/access-keys", a.auth(a.listAccessKeys))
	mux.Handle("POST /v1/access-keys", a.auth(a.createAccessKey))
	mux.Handle("DELETE /v1/access-keys/{access_key_id}", a.auth(a.revokeAccessKey))
	mux.Handle("GET /v1/audit", a.auth(a.listAudit))
	mux.Handle("GET /v1/whoami", a.auth(a.whoami))

	mux.Handle("GET /v1/webhooks", a.auth(a.listWebhooks))
	mux.Handle("POST /v1/webhooks", a.auth(a.createWebhook))
	mux.Handle("DELETE /v1/webhooks/{webhook_id}", a.auth(a.deleteWebhook))
	mux.Handle("GET /v1/webhooks/{webhook_id}/deliveries", a.auth(a.listDeliveries))

	// The clock routes exist only on a server with an emulated clock; on any
	// other they are unknown paths (the server's 404 in this dialect's shape).
	if svc.ClockEmulated() {
		mux.Handle("GET /v1/clock", a.auth(a.getClock))
		mux.Handle("POST /v1/clock", a.auth(a.moveClock))
	}
}
