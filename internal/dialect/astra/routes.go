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
	"github.com/dbtrust/dbtrust/internal/ratelimit"
)

// service is the part of the core this dialect uses.
type service interface {
	Authenticate(ctx context.Context, bearer string) (dbtrust.Principal, error)

	CreateCertificate(ctx context.Context, p dbtrust.Principal, in dbtrust.CertificateInput) (dbtrust.Certificate, error)
	GetCertificate(ctx context.Context, p dbtrust.Principal, id string) (dbtrust.Certificate, error)
	ListCertificates(ctx context.Context, p dbtrust.Principal) ([]dbtrust.Certificate, error)
	UpdateCertificate(ctx context.Context, p dbtrust.Principal, id string, in dbtrust.CertificateInput, ifRevision int64) (dbtrust.Certificate, error)
	DeleteCertificate(ctx context.Context, p dbtrust.Principal, id string) error

	CreateCredential(ctx context.Context, p dbtrust.Principal, in dbtrust.CredentialInput) (dbtrust.Credential, error)
	GetCredential(ctx context.Context, p dbtrust.Principal, id string) (dbtrust.Credential, error)
	ListCredentials(ctx context.Context, p dbtrust.Principal) ([]dbtrust.Credential, error)
	ListCredentialsAfter(ctx context.Context, p dbtrust.Principal, afterCreated time.Time, afterID string, limit int) ([]dbtrust.Credential, error)
	CountCredentials(ctx context.Context, p dbtrust.Principal) (int, error)
	UpdateCredential(ctx context.Context, p dbtrust.Principal, id string, in dbtrust.CredentialInput, ifRevision int64) (dbtrust.Credential, error)
	DeleteCredential(ctx context.Context, p dbtrust.Principal, id string) error

	SealCursor(p dbtrust.Principal, purpose string, data []byte) ([]byte, error)
	OpenCursor(p dbtrust.Principal, purpose string, sealed []byte) ([]byte, error)
}

// Config is what the dialect needs besides the service.
type Config struct {
	Log     *slog.Logger
	MaxBody int64         // request body limit in bytes; default 1 MiB
	Clock   dbtrust.Clock // decides when a certificate reads as expired; default time.Now
	// Limiter counts requests per token (per address for requests without a
	// valid one); nil: no limit. Astra has no 429 problem: a caller over the
	// limit gets 503 problems/41 with Retry-After.
	Limiter *ratelimit.Limiter
}

// Register adds the Astra surface to mux, one line per route.
func Register(mux *http.ServeMux, svc service, cfg Config) {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	a := api{svc: svc, cfg: cfg}
	const certs, creds = "/accounts/{account_id}/core/v1/certificates", "/accounts/{account_id}/core/v1/credentials"
	mux.Handle("GET "+certs, a.wrap(a.listCertificates))
	mux.Handle("POST "+certs, a.wrap(a.createCertificate))
	mux.Handle("GET "+certs+"/{id}", a.wrap(a.getCertificate))
	mux.Handle("PUT "+certs+"/{id}", a.wrap(a.updateCertificate))
	mux.Handle("DELETE "+certs+"/{id}", a.wrap(a.deleteCertificate))
	mux.Handle("GET "+creds, a.wrap(a.listCredentials))
	mux.Handle("POST "+creds, a.wrap(a.createCredential))
	mux.Handle("GET "+creds+"/{id}", a.wrap(a.getCredential))
	mux.Handle("PUT "+creds+"/{id}", a.wrap(a.updateCredential))
	mux.Handle("DELETE "+creds+"/{id}", a.wrap(a.deleteCredential))
	// Any other method on these paths is Astra's 405; any other path under
	// /accounts is an unknown collection.
	mux.Handle(certs, methodNotAllowed("GET, POST"))
	mux.Handle(certs+"/{id}", methodNotAllowed("GET, PUT, DELETE"))
	mux.Handle(creds, methodNotAllowed("GET, POST"))
	mux.Handle(creds+"/{id}", methodNotAllowed("GET, PUT, DELETE"))
	mux.Handle("/accounts/", unknownCollection())
}
