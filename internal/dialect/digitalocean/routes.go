// Package digitalocean serves the DigitalOcean databases API that godo, doctl
// and the Terraform provider call: clusters and their CA certificate.
package digitalocean

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/clustersettings"
	"github.com/dbtrust/dbtrust/internal/httpx"
)

// service is the part of the core this dialect uses.
type service interface {
	Authenticate(ctx context.Context, bearer string) (dbtrust.Principal, error)
	CreateInstance(ctx context.Context, p dbtrust.Principal, spec dbtrust.InstanceSpec) (dbtrust.Instance, error)
	GetInstance(ctx context.Context, p dbtrust.Principal, id string) (dbtrust.Instance, error)
	ListInstances(ctx context.Context, p dbtrust.Principal, tag string) ([]dbtrust.Instance, error)
	DeleteInstance(ctx context.Context, p dbtrust.Principal, id string) error
	InstanceCABundleIn(ctx context.Context, p dbtrust.Principal, id string, f *dbtrust.BundleForm) ([]byte, error)
	InstanceEndpoint(inst dbtrust.Instance) dbtrust.Endpoint
	InstancePrivateEndpoint(inst dbtrust.Instance) dbtrust.Endpoint
	AccountOf(ctx context.Context, p dbtrust.Principal) (dbtrust.Account, error)
	ProjectOf(ctx context.Context, p dbtrust.Principal, inst dbtrust.Instance) (string, error)
}

// settingsService is the part of the cluster settings capability (maintenance
// window, storage autoscale, firewall rules) this dialect uses.
type settingsService interface {
	Get(ctx context.Context, p dbtrust.Principal, insts ...dbtrust.Instance) ([]clustersettings.Settings, error)
	SetMaintenanceWindow(ctx context.Context, p dbtrust.Principal, id string, w clustersettings.MaintenanceWindow) error
	SetStorageAutoscale(ctx context.Context, p dbtrust.Principal, id string, s clustersettings.StorageAutoscale) error
	SetFirewallRules(ctx context.Context, p dbtrust.Principal, id string, rules []clustersettings.FirewallRule) ([]clustersettings.FirewallRule, error)
	SetServiceNames(ctx context.Context, p dbtrust.Principal, id string, names []string) (dbtrust.Instance, error)
	CreateWithServiceNames(ctx context.Context, p dbtrust.Principal, spec dbtrust.InstanceSpec, names []string) (dbtrust.Instance, error)
}

// Config is what the dialect needs besides the service.
type Config struct {
	Limits  *httpx.Limits // the request budgets every dialect shares; nil: no limit
	Log     *slog.Logger
	MaxBody int64 // request body limit in bytes; default 1 MiB
}

// Register adds the DigitalOcean surface to mux, at the root (godo drops any
// path prefix of its base URL). It returns the handler that answers every
// other DigitalOcean-looking path (/v2/account/keys, /v2/projects, ...) with
// DigitalOcean's 404; the server routes the /v2/ paths that are not
// another dialect's to it. It also returns hot, which puts the hottest
// route in front of mux (see hotCA).
func Register(mux *http.ServeMux, svc service, settings settingsService, cfg Config) (unknown http.Handler, hot func(mux http.Handler) http.Handler) {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	a := api{svc: svc, settings: settings, cfg: cfg, hdr: &headerValues{}}
	const c = "/v2/databases/{database_cluster_uuid}"
	mux.Handle("POST /v2/databases", a.wrap(a.createCluster))
	mux.Handle("GET /v2/databases", a.wrap(a.listClusters))
	mux.Handle("GET /v2/databases/options", a.wrap(a.options))
	mux.Handle("GET "+c, a.wrap(a.getCluster))
	mux.Handle("DELETE "+c, a.wrap(a.deleteCluster))
	getCA := a.wrap(a.getCA)
	mux.Handle("GET "+c+"/ca", getCA)
	mux.Handle("PUT "+c+"/maintenance", a.wrap(a.putMaintenance))
	mux.Handle("GET "+c+"/autoscale", a.wrap(a.getAutoscale))
	mux.Handle("PUT "+c+"/autoscale", a.wrap(a.putAutoscale))
	mux.Handle("GET "+c+"/firewall", a.wrap(a.getFirewall))
	mux.Handle("PUT "+c+"/firewall", a.wrap(a.putFirewall))
	mux.Handle("GET "+c+"/do_settings", a.wrap(a.getDOSettings))
	mux.Handle("PUT "+c+"/do_settings", a.wrap(a.putDOSettings))
	mux.Handle("GET "+c+"/users", a.wrap(a.listUsers))
	mux.Handle("GET "+c+"/users/{username}", a.wrap(a.getUser))
	mux.Handle("GET "+c+"/dbs", a.wrap(a.listDBs))
	mux.Handle("GET "+c+"/dbs/{database_name}", a.wrap(a.getDB))
	mux.Handle("GET "+c+"/pools", a.wrap(a.listPools))
	for _, p := range []string{"/users", "/users/{name}", "/users/{name}/{action}", "/dbs", "/dbs/{name}", "/pools", "/pools/{name}"} {
		what := strings.Split(p, "/")[1]
		mux.Handle("POST "+c+p, a.wrap(a.notManaged(what)))
		mux.Handle("PUT "+c+p, a.wrap(a.notManaged(what)))
		mux.Handle("DELETE "+c+p, a.wrap(a.notManaged(what)))
	}
	mux.Handle("GET /v2/account", a.wrap(a.getAccount))
	// doctl auth init validates a token here (--token-validation-server).
	mux.Handle("GET /v1/oauth/token/info", a.wrap(a.tokenInfo))
	unknown = a.wrap(a.notFound)
	mux.Handle("/v2/databases", unknown)
	mux.Handle("/v2/databases/", unknown)
	mux.Handle("/v1/oauth/", unknown)
	return unknown, func(mux http.Handler) http.Handler { return hotCA(mux, getCA) }
}

// hotCA answers GET /v2/databases/{id}/ca, the hottest request of all
// (every client's CA fetch), with getCA directly, and sends every other
// request to mux: the mux's routing, and the list of path values it
// allocates, cost more than the rest of a cached answer's handling. It
// takes only the requests mux would route to getCA with the same ID: GET,
// a path with no escapes and one ID segment that is not "." or ".." (which
// mux would redirect).
func hotCA(mux, getCA http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.RawPath == "" {
			if _, ok := hotCAID(r.URL.Path); ok {
				getCA.ServeHTTP(w, r)
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}

// hotCAID returns the ID in a path /v2/databases/{id}/ca.
func hotCAID(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/v2/databases/")
	if !ok {
		return "", false
	}
	id, ok := strings.CutSuffix(rest, "/ca")
	if !ok || id == "" || id == "." || id == ".." || strings.IndexByte(id, '/') >= 0 {
		return "", false
	}
	return id, true
}
