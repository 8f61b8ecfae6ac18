// Package astra serves NetApp Astra Control's certificates and credentials
// collections (core/v1) as Astra clients such as actoolkit and
// astra-connector-operator call them.
package astra

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/credential"
	"github.com/dbtrust/dbtrust/internal/httpx"
	"github.com/dbtrust/dbtrust/trustcert"
)

// service is the part of the core this dialect uses.
type service interface {
	Authenticate(ctx context.Context, bearer string) (dbtrust.Principal, error)
	SealCursor(p dbtrust.Principal, purpose string, data []byte) ([]byte, error)
	OpenCursor(p dbtrust.Principal, purpose string, sealed []byte) ([]byte, error)
}

// certificates is the part of trustcert.Service this dialect uses: the
// certificates collection.
type certificates interface {
	Create(ctx context.Context, p dbtrust.Principal, in trustcert.Input) (trustcert.Certificate, error)
	Get(ctx context.Context, p dbtrust.Principal, id string) (trustcert.Certificate, error)
	List(ctx context.Context, p dbtrust.Principal) ([]trustcert.Certificate, error)
	Update(ctx context.Context, p dbtrust.Principal, id string, in trustcert.Input, ifRevision int64) (trustcert.Certificate, error)
	Delete(ctx context.Context, p dbtrust.Principal, id string) error
}

// credentials is the part of credential.Service this dialect uses: the
// credentials collection.
type credentials interface {
	Create(ctx context.Context, p dbtrust.Principal, in credential.Input) (credential.Credential, error)
	Get(ctx context.Context, p dbtrust.Principal, id string) (credential.Credential, error)
	List(ctx context.Context, p dbtrust.Principal) ([]credential.Credential, error)
	ListKeysAfter(ctx context.Context, p dbtrust.Principal, where []credential.Cond, afterCreated time.Time, afterID string, limit int) ([]credential.Key, error)
	GetMany(ctx context.Context, p dbtrust.Principal, ids []string) ([]credential.Credential, error)
	Version(ctx context.Context, p dbtrust.Principal) (int64, error)
	Count(ctx context.Context, p dbtrust.Principal, where []credential.Cond) (int, error)
	Update(ctx context.Context, p dbtrust.Principal, id string, in credential.Input, ifRevision int64) (credential.Credential, error)
	Delete(ctx context.Context, p dbtrust.Principal, id string) error
}

// Config is what the dialect needs besides the service.
type Config struct {
	Log     *slog.Logger
	MaxBody int64         // request body limit in bytes; default 1 MiB
	Clock   dbtrust.Clock // decides when a certificate reads as expired; default time.Now
	// Limits are the request budgets every dialect shares; nil: no limit.
	// Astra has no 429 problem: a caller over a budget gets 503 problems/41
	// with Retry-After.
	Limits *httpx.Limits
}

// Register adds the Astra surface to mux, one line per route.
func Register(mux *http.ServeMux, svc service, certs certificates, creds credentials, cfg Config) {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	a := api{svc: svc, certs: certs, creds: creds, cfg: cfg, credJSON: &renderCache{}, credPages: &pageCache{}}
	const certsPath, credsPath = "/accounts/{account_id}/core/v1/certificates", "/accounts/{account_id}/core/v1/credentials"
	cert, cred := a.certificateCollection(), a.credentialCollection()
	mux.Handle("GET "+certsPath, a.wrap(a.listCertificates))
	mux.Handle("POST "+certsPath, a.wrap(cert.createHandler(a)))
	mux.Handle("GET "+certsPath+"/{id}", a.wrap(cert.getHandler()))
	mux.Handle("PUT "+certsPath+"/{id}", a.wrap(cert.updateHandler(a)))
	mux.Handle("DELETE "+certsPath+"/{id}", a.wrap(cert.deleteHandler()))
	mux.Handle("GET "+credsPath, a.wrap(a.listCredentials))
	mux.Handle("POST "+credsPath, a.wrap(cred.createHandler(a)))
	mux.Handle("GET "+credsPath+"/{id}", a.wrap(cred.getHandler()))
	mux.Handle("PUT "+credsPath+"/{id}", a.wrap(cred.updateHandler(a)))
	mux.Handle("DELETE "+credsPath+"/{id}", a.wrap(cred.deleteHandler()))
	// Any other method on these paths is Astra's 405; any other path under
	// /accounts is an unknown collection.
	mux.Handle(certsPath, methodNotAllowed("GET, POST"))
	mux.Handle(certsPath+"/{id}", methodNotAllowed("GET, PUT, DELETE"))
	mux.Handle(credsPath, methodNotAllowed("GET, POST"))
	mux.Handle(credsPath+"/{id}", methodNotAllowed("GET, PUT, DELETE"))
	mux.Handle("/accounts/", unknownCollection())
}
