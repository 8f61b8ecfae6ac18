// Package huaweicloud serves the Huawei Cloud DDS and DCS calls that fetch an
// instance's SSL certificate, as huaweicloud-sdk-go-v3 and Huawei's API pages
// make them: DDS ListSslCertDownloadAddress, DCS DownloadSslCert and the DCS
// SSL switch, with AK/SK (SDK-HMAC-SHA256) or X-Auth-Token authentication,
// and the presigned download links those calls hand out.
package huaweicloud

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/httpx"
)

// service is the part of the core this dialect uses.
type service interface {
	Authenticate(ctx context.Context, bearer string) (dbtrust.Principal, error)
	ProjectAccount(ctx context.Context, projectID string) (dbtrust.Account, error)
	AccountOf(ctx context.Context, p dbtrust.Principal) (dbtrust.Account, error)
	GetInstance(ctx context.Context, p dbtrust.Principal, id string) (dbtrust.Instance, error)
	InstanceCAs(ctx context.Context, p dbtrust.Principal, id string) ([]dbtrust.CA, error)
	InstanceCABundle(ctx context.Context, p dbtrust.Principal, id string) ([]byte, error)
	SetInstanceTLS(ctx context.Context, p dbtrust.Principal, id string, on bool) error
	InstanceEndpoint(inst dbtrust.Instance) dbtrust.Endpoint
	SignLink(ctx context.Context, msg []byte) (keyID string, sig []byte, err error)
	VerifyLink(ctx context.Context, keyID string, msg, sig []byte) error
}

// accessKeys is the part of accesskey.Service this dialect uses: it checks
// SDK-HMAC-SHA256 signatures without handing out the SK.
type accessKeys interface {
	Authenticate(ctx context.Context, ak string, stringToSign, signature []byte) (dbtrust.Principal, error)
}

// DefaultLinkTTL is how long a presigned download link works when Config
// does not say.
const DefaultLinkTTL = 10 * time.Minute

// Config is what the dialect needs besides the service.
type Config struct {
	// PublicURL is the base of download links as clients reach dbtrust, e.g.
	// "https://dbtrust.example:8443" (no path; a trailing slash is dropped).
	PublicURL string
	LinkTTL   time.Duration // lifetime of a download link; default DefaultLinkTTL
	Limits    *httpx.Limits // the request budgets every dialect shares (links: Download, Link); nil: no limit
	Log       *slog.Logger
	Clock     dbtrust.Clock // the service's time, which link expiry follows; default time.Now
	RealClock dbtrust.Clock // the wall clock X-Sdk-Date is checked against; default Clock
	MaxBody   int64         // request body limit in bytes; default 64 KiB
	// Others answers the /v2/ paths whose first segment is not a project
	// ID (32 hex digits): they are DigitalOcean's (/v2/account, ...). Nil
	// means this dialect answers them too, with APIGW.0101.
	Others http.Handler
}

// IAM actions of the routes, as Huawei names them.
const (
	actDDSDownloadLink = "dds:instance:getSslCertDownloadAddress"
	actDCSDownload     = "dcs:ssl:modify"
	actDCSGetSSL       = "dcs:instance:get"
	actDCSSwitchSSL    = "dcs:instance:modify"
	actIAMProjects     = "iam:projects:list"
)

// iamActions says which core action each IAM action is; the core decides the
// role it needs (dbtrust.Authorize). The DCS download is write-level at
// Huawei, but it only reads the CA, as the DDS link does.
var iamActions = map[string]dbtrust.Action{
	actDDSDownloadLink: dbtrust.ActionReadCA,
	actDCSDownload:     dbtrust.ActionReadCA,
	actDCSGetSSL:       dbtrust.ActionReadInstance,
	actDCSSwitchSSL:    dbtrust.ActionSetTLS,
	actIAMProjects:     dbtrust.ActionReadAccount,
}

// Register adds the Huawei Cloud surface to mux, at the root (the SDK drops
// any path of its endpoint URL). DDS lives under /v3/. DCS lives under /v2/,
// which DigitalOcean shares: DCS routes go on a mux of their own mounted at
// "/v2/", a pattern less specific than DigitalOcean's routes, and only paths
// under /v2/{project_id}/ reach it (APIGW.0101 for those not published);
// every other /v2/ path goes to Config.Others.
func Register(mux *http.ServeMux, svc service, keys accessKeys, cfg Config) {
	a := newAPI(svc, keys, cfg)

	mux.Handle("GET /v3/{project_id}/instances/{instance_id}/ssl-cert/download-link", a.wrap(dds, actDDSDownloadLink, a.ddsDownloadLink))
	mux.Handle("GET /v3/projects", a.wrap(iam, actIAMProjects, a.listProjects))
	mux.Handle("/v3/", a.unknown(dds))

	dcsMux := http.NewServeMux()
	dcsMux.Handle("POST /v2/{project_id}/instances/{instance_id}/ssl-certs/download", a.wrap(dcs, actDCSDownload, a.dcsDownload))
	dcsMux.Handle("GET /v2/{project_id}/instances/{instance_id}/ssl", a.wrap(dcs, actDCSGetSSL, a.dcsShowSSL))
	dcsMux.Handle("PUT /v2/{project_id}/instances/{instance_id}/ssl", a.wrap(dcs, actDCSSwitchSSL, a.dcsSwitchSSL))
	dcsMux.Handle("/", a.unknown(dcs))
	mux.Handle("/v2/", underProject(dcsMux, cfg.Others))

	// Every path under a link bucket is a link: its signature is checked
	// before anything is looked up (presign.go).
	mux.Handle("/"+DDSBucket+"/", a.download(DDSBucket))
	mux.Handle("/"+DCSBucket+"/", a.download(DCSBucket))
}

func newAPI(svc service, keys accessKeys, cfg Config) *api {
	if cfg.LinkTTL <= 0 {
		cfg.LinkTTL = DefaultLinkTTL
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.RealClock == nil {
		cfg.RealClock = cfg.Clock
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 64 << 10
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &api{svc: svc, keys: keys, cfg: cfg}
}

// underProject sends /v2/{project_id}/... to h and every other path to
// others (to h when others is nil). Any 32 hex digits count as a project ID
// here, and so does any first segment followed by /instances (DCS's only
// collection; DigitalOcean has no such path), so that a malformed project
// ID still gets Huawei's error.
func underProject(h, others http.Handler) http.Handler {
	if others == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seg, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/")
		hex := len(seg) == 32 && strings.Trim(strings.ToLower(seg), "0123456789abcdef") == ""
		if hex || rest == "instances" || strings.HasPrefix(rest, "instances/") {
			h.ServeHTTP(w, r)
			return
		}
		others.ServeHTTP(w, r)
	})
}
