// Package console is dbtrust's web console under /ui/: server-rendered pages
// (html/template) that read without JavaScript, with a small script of our
// own for copy buttons and local times. Everything it does goes through the
// core Service, under the signed-in token's role, exactly as the API does.
//
// Sign-in trades a pasted token for a session (dbtrust.Service.SignIn): the
// browser keeps only the session's secret, in an HttpOnly, SameSite=Strict
// cookie (Secure, with the __Host- prefix, over HTTPS) that expires with the
// session. Every form carries a CSRF token derived from that secret, and every
// answer carries a strict Content-Security-Policy.
package console

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/accesskey"
	"github.com/dbtrust/dbtrust/credential"
	"github.com/dbtrust/dbtrust/internal/httpx"
	"github.com/dbtrust/dbtrust/trustcert"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// service is the part of the core the console uses.
type service interface {
	SignIn(ctx context.Context, bearer string, ttl time.Duration) (dbtrust.Session, string, error)
	SessionPrincipal(ctx context.Context, secret string) (dbtrust.Principal, dbtrust.Session, error)
	SignOut(ctx context.Context, secret string) error
	Now() time.Time

	CreateInstance(ctx context.Context, p dbtrust.Principal, spec dbtrust.InstanceSpec) (dbtrust.Instance, error)
	GetInstance(ctx context.Context, p dbtrust.Principal, id string) (dbtrust.Instance, error)
	ListInstances(ctx context.Context, p dbtrust.Principal, tag string) ([]dbtrust.Instance, error)
	InstanceHost(inst dbtrust.Instance) string
	InstanceEndpoints(inst dbtrust.Instance) []dbtrust.Endpoint
	InstanceCAs(ctx context.Context, p dbtrust.Principal, id string) ([]dbtrust.CA, error)
	InstanceCABundle(ctx context.Context, p dbtrust.Principal, id string) ([]byte, error)
	ConnectionRecipes(ctx context.Context, p dbtrust.Principal, id, bundlePath string) (dbtrust.Instance, []dbtrust.Recipe, error)

	GetRotationPolicy(ctx context.Context, p dbtrust.Principal, id string) (dbtrust.RotationPolicy, error)
	RotationStatus(ctx context.Context, p dbtrust.Principal, id string) (dbtrust.RotationStatus, error)
	RotateStart(ctx context.Context, p dbtrust.Principal, id, keyType string) ([]dbtrust.CA, error)
	RotateFinish(ctx context.Context, p dbtrust.Principal, id string, force bool) ([]dbtrust.CA, []dbtrust.Client, error)
	RotateRollback(ctx context.Context, p dbtrust.Principal, id string) ([]dbtrust.CA, error)
	RotateRetire(ctx context.Context, p dbtrust.Principal, id string, force bool) ([]dbtrust.CA, error)

	IssueCertificate(ctx context.Context, p dbtrust.Principal, id string, req dbtrust.IssueRequest) (dbtrust.IssuedCertificate, error)
	ListIssuedCertificates(ctx context.Context, p dbtrust.Principal, id string) ([]dbtrust.IssuedCertificate, error)
	GetIssuedCertificate(ctx context.Context, p dbtrust.Principal, id, serial string) (dbtrust.IssuedCertificate, error)
	RevokeIssuedCertificate(ctx context.Context, p dbtrust.Principal, id, serial, reason string) (dbtrust.IssuedCertificate, error)

	CreateToken(ctx context.Context, p dbtrust.Principal, name string, role dbtrust.Role) (dbtrust.Token, string, error)
	ListTokens(ctx context.Context, p dbtrust.Principal) ([]dbtrust.Token, error)
	RevokeToken(ctx context.Context, p dbtrust.Principal, id string) error
	Audit(ctx context.Context, p dbtrust.Principal, f dbtrust.AuditFilter) ([]dbtrust.AuditEvent, error)
}

// trustCerts are the uploaded trust certificates (trustcert.Service).
type trustCerts interface {
	List(ctx context.Context, p dbtrust.Principal) ([]trustcert.Certificate, error)
	Get(ctx context.Context, p dbtrust.Principal, id string) (trustcert.Certificate, error)
	Update(ctx context.Context, p dbtrust.Principal, id string, in trustcert.Input, ifRevision int64) (trustcert.Certificate, error)
}

// credentials are the stored credentials (credential.Service); the console
// shows their names, types and validity, never their key stores.
type credentials interface {
	List(ctx context.Context, p dbtrust.Principal) ([]credential.Credential, error)
	Get(ctx context.Context, p dbtrust.Principal, id string) (credential.Credential, error)
}

// accessKeys are the signed AK/SK pairs (accesskey.Service).
type accessKeys interface {
	Create(ctx context.Context, p dbtrust.Principal, name string, role dbtrust.Role) (accesskey.Key, string, error)
	List(ctx context.Context, p dbtrust.Principal) ([]accesskey.Key, error)
	Revoke(ctx context.Context, p dbtrust.Principal, id string) error
}

// Config is what the console needs besides the core service.
type Config struct {
	TrustCerts  trustCerts
	Credentials credentials
	AccessKeys  accessKeys
	Log         *slog.Logger
	SessionTTL  time.Duration // how long a sign-in lasts; default dbtrust.DefaultSessionTTL
	Limits      *httpx.Limits // the budgets every dialect shares (Public before sign-in); nil: no limit
}

// Register adds the console to mux: / redirects to /ui/, and every page and
// form of the console lives under /ui/, one line per route.
func Register(mux *http.ServeMux, svc service, cfg Config) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = dbtrust.DefaultSessionTTL
	}
	c := &console{svc: svc, cfg: cfg, pages: parsePages()}
	static, _ := fs.Sub(staticFS, "static")

	mux.Handle("GET /{$}", secure(http.RedirectHandler("/ui/", http.StatusSeeOther)))
	mux.Handle("GET /ui", secure(http.RedirectHandler("/ui/", http.StatusMovedPermanently)))
	mux.Handle("GET /ui/static/", secure(http.StripPrefix("/ui/static/", staticFiles(static))))
	mux.Handle("GET /ui/signin", c.public(c.signInPage))
	mux.Handle("POST /ui/signin", c.public(c.signIn))
	mux.Handle("POST /ui/signout", c.auth(c.signOut))

	mux.Handle("GET /ui/{$}", c.auth(c.fleet))
	mux.Handle("POST /ui/instances", c.auth(c.createInstance))
	mux.Handle("GET /ui/instances/{id}", c.auth(c.instance))
	mux.Handle("GET /ui/instances/{id}/bundle.pem", c.auth(c.bundle))
	mux.Handle("POST /ui/instances/{id}/rotation/{step}", c.auth(c.rotate))
	mux.Handle("GET /ui/instances/{id}/issue", c.auth(c.issuePage))
	mux.Handle("POST /ui/instances/{id}/issue", c.auth(c.issue))
	mux.Handle("GET /ui/instances/{id}/certificates/{serial}", c.auth(c.certificate))
	mux.Handle("POST /ui/instances/{id}/certificates/{serial}/revoke", c.auth(c.revoke))

	tokens, keys := c.tokenKind(), c.accessKeyKind()
	mux.Handle("GET /ui/tokens", c.auth(c.keys(tokens)))
	mux.Handle("POST /ui/tokens", c.auth(c.createKey(tokens)))
	mux.Handle("POST /ui/tokens/{id}/revoke", c.auth(c.revokeKey(tokens)))
	mux.Handle("GET /ui/access-keys", c.auth(c.keys(keys)))
	mux.Handle("POST /ui/access-keys", c.auth(c.createKey(keys)))
	mux.Handle("POST /ui/access-keys/{id}/revoke", c.auth(c.revokeKey(keys)))
	mux.Handle("GET /ui/audit", c.auth(c.audit))

	mux.Handle("GET /ui/trust", c.auth(c.trust))
	mux.Handle("GET /ui/trust/certificates/{id}", c.auth(c.trustCert))
	mux.Handle("POST /ui/trust/certificates/{id}/trust", c.auth(c.setTrust))
	mux.Handle("GET /ui/trust/credentials/{id}", c.auth(c.credential))
	mux.Handle("/ui/", c.public(c.notFound))
}

type console struct {
	svc   service
	cfg   Config
	pages map[string]*pageTemplate
}
