// Package digitalocean serves the DigitalOcean databases API that godo, doctl
// and the Terraform provider call: clusters and their CA certificate.
package digitalocean

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/ratelimit"
)

// service is the part of the core this dialect uses.
type service interface {
	Authenticate(ctx context.Context, bearer string) (dbtrust.Principal, error)
	CreateInstance(ctx context.Context, p dbtrust.Principal, spec dbtrust.InstanceSpec) (dbtrust.Instance, error)
	GetInstance(ctx context.Context, p dbtrust.Principal, id string) (dbtrust.Instance, error)
	ListInstances(ctx context.Context, p dbtrust.Principal, tag string) ([]dbtrust.Instance, error)
	DeleteInstance(ctx context.Context, p dbtrust.Principal, id string) error
	InstanceCABundle(ctx context.Context, p dbtrust.Principal, id string) ([]byte, error)
	InstanceEndpoint(inst dbtrust.Instance) dbtrust.Endpoint
	InstancePrivateEndpoint(inst dbtrust.Instance) dbtrust.Endpoint
}

// Config is what the dialect needs besides the service.
type Config struct {
	Limiter *ratelimit.Limiter // per-token request limit; required
	Log     *slog.Logger
	MaxBody int64 // request body limit in bytes; default 1 MiB
}

// Register adds the DigitalOcean surface to mux, at the root (godo drops any
// path prefix of its base URL).
func Register(mux *http.ServeMux, svc service, cfg Config) {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	a := api{svc: svc, cfg: cfg}
	mux.Handle("POST /v2/databases", a.wrap(a.createCluster))
	mux.Handle("GET /v2/databases", a.wrap(a.listClusters))
	mux.Handle("GET /v2/databases/{database_cluster_uuid}", a.wrap(a.getCluster))
	mux.Handle("DELETE /v2/databases/{database_cluster_uuid}", a.wrap(a.deleteCluster))
	mux.Handle("GET /v2/databases/{database_cluster_uuid}/ca", a.wrap(a.getCA))
	// Everything else under /v2/databases is DigitalOcean's to answer, in its shape.
	mux.Handle("/v2/databases", a.wrap(a.notFound))
	mux.Handle("/v2/databases/", a.wrap(a.notFound))
}
