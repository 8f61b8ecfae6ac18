// Package server assembles dbtrust's HTTP surface: every dialect's routes on
// one mux, health and readiness, request IDs and the access log.
package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/accesskey"
	"github.com/dbtrust/dbtrust/clustersettings"
	"github.com/dbtrust/dbtrust/credential"
	"github.com/dbtrust/dbtrust/internal/console"
	"github.com/dbtrust/dbtrust/internal/dialect/astra"
	"github.com/dbtrust/dbtrust/internal/dialect/digitalocean"
	"github.com/dbtrust/dbtrust/internal/dialect/huaweicloud"
	"github.com/dbtrust/dbtrust/internal/dialect/native"
	"github.com/dbtrust/dbtrust/internal/httpx"
	"github.com/dbtrust/dbtrust/internal/ratelimit"
	"github.com/dbtrust/dbtrust/trustcert"
)

// Config is what the server needs.
type Config struct {
	Service    *dbtrust.Service
	Logger     *slog.Logger
	RateLimit  int           // requests per token per RateWindow, all dialects together; default 5000
	RateWindow time.Duration // the window of every budget; default one minute
	// Per client address and RateWindow: failed authentications (default
	// 100), requests to the public CRL routes (default RateLimit), requests
	// to download links (default 600); and per download link (default 60).
	// Every budget is counted in the store, so that it holds for all the
	// replicas together.
	FailedAuthLimit int
	PublicLimit     int
	DownloadLimit   int
	LinkLimit       int
	Clock           dbtrust.Clock // the service's time: link expiry, trust states; default Service.Now
	// RealClock is the wall clock, for what is measured against the callers'
	// real time (request-signature dates, rate-limit windows) even when the
	// service runs on an emulated clock; default Clock.
	RealClock dbtrust.Clock
	// RequestTimeout bounds each request, store calls included, so that a
	// store that hangs turns into a prompt 503 rather than a pile of waiting
	// requests; default DefaultRequestTimeout.
	RequestTimeout time.Duration
	PublicURL      string        // base URL of links dbtrust hands out (Huawei download links)
	LinkTTL        time.Duration // lifetime of a Huawei download link; default huaweicloud.DefaultLinkTTL
	NoMetrics      bool          // do not serve GET /metrics
	// MetricsToken, when set, is the bearer token GET /metrics requires.
	// Without it, /metrics answers loopback clients only: it names the
	// instances, CAs and certificates of every account.
	MetricsToken string
	// AccessLog, when set, writes the access log (buffered, see
	// httpx.AccessLog; its dropped lines are a metric); the caller closes
	// it after the server has shut down. Nil: one INFO line a request
	// through Logger.
	AccessLog   *httpx.AccessLog
	NoAccessLog bool // no access log at all
}

// DefaultRequestTimeout is Config.RequestTimeout's default.
const DefaultRequestTimeout = 10 * time.Second

// New returns dbtrust's whole HTTP handler. Every route is listed here or in a
// dialect's Register, which this calls.
func New(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RateLimit <= 0 {
		cfg.RateLimit = 5000
	}
	if cfg.RateWindow <= 0 {
		cfg.RateWindow = time.Minute
	}
	if cfg.Clock == nil {
		cfg.Clock = cfg.Service.Now
	}
	if cfg.RealClock == nil {
		cfg.RealClock = cfg.Clock
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", handleHealth())
	mux.Handle("GET /readyz", handleReady(cfg.Service))
	mux.Handle("/", handleUnknown())
	m := newMetrics(cfg.Service, cfg.AccessLog)
	if !cfg.NoMetrics {
		mux.Handle("GET /metrics", guardMetrics(cfg.MetricsToken, m.handler()))
	}

	limits := newLimits(cfg)
	certs, creds, keys, settings := capabilities(cfg.Service)
	doUnknown, doHot := digitalocean.Register(mux, cfg.Service, settings, digitalocean.Config{Limits: limits, Log: cfg.Logger})
	huaweicloud.Register(mux, cfg.Service, keys, huaweicloud.Config{
		PublicURL: cfg.PublicURL,
		LinkTTL:   cfg.LinkTTL,
		Limits:    limits,
		Log:       cfg.Logger,
		Clock:     cfg.Clock,
		RealClock: cfg.RealClock,
		Others:    doUnknown, // /v2/ paths outside a Huawei project are DigitalOcean's
	})

	astra.Register(mux, cfg.Service, certs, creds, astra.Config{Log: cfg.Logger, Clock: cfg.Clock, Limits: limits})
	native.Register(mux, cfg.Service, keys, native.Config{Log: cfg.Logger, Limits: limits})
	console.Register(mux, cfg.Service, console.Config{TrustCerts: certs, Credentials: creds, AccessKeys: keys,
		Log: cfg.Logger, Limits: limits})

	front := &httpx.Front{Log: cfg.Logger, Access: cfg.AccessLog, OnPanic: handleUnknownPanic(), Observe: m.observe,
		Refusals: cfg.Service, Timeout: cfg.RequestTimeout, NoAccess: cfg.NoAccessLog}
	return front.Handler(doHot(mux))
}

// capabilities returns the services beside the core (uploaded trust
// certificates, stored credentials, access keys, cluster settings) over the
// core's store, which keeps their records too. A store that does not is a
// wiring mistake, found when the server is built.
func capabilities(core *dbtrust.Service) (*trustcert.Service, *credential.Service, *accesskey.Service, *clustersettings.Service) {
	st := core.Store()
	cs, ok1 := st.(trustcert.Store)
	ks, ok2 := st.(credential.Store)
	as, ok3 := st.(accesskey.Store)
	ss, ok4 := st.(clustersettings.Store)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		panic(fmt.Sprintf("server: the store %T does not keep uploaded certificates, credentials, access keys and cluster settings", st))
	}
	return trustcert.New(core, cs), credential.New(core, ks), accesskey.New(core, as), clustersettings.New(core, ss)
}

// newLimits makes the budgets every dialect shares, counted in the store
// when it can (every SQL store can), so that they hold across replicas.
func newLimits(cfg Config) *httpx.Limits {
	shared, _ := cfg.Service.Store().(ratelimit.Shared)
	mk := func(name string, limit, def int) *ratelimit.Limiter {
		if limit <= 0 {
			limit = def
		}
		l := ratelimit.New(limit, cfg.RateWindow, cfg.RealClock)
		if shared != nil {
			l.WithShared(shared, name)
		}
		return l
	}
	return &httpx.Limits{
		Token:      mk("token", cfg.RateLimit, 5000),
		FailedAuth: mk("failed-auth", cfg.FailedAuthLimit, 100),
		Public:     mk("public", cfg.PublicLimit, cfg.RateLimit),
		Download:   mk("download", cfg.DownloadLimit, 600),
		Link:       mk("link", cfg.LinkLimit, 60),
	}
}

type status struct {
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

func handleHealth() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, "application/json", status{Status: "ok"})
	})
}

func handleReady(svc *dbtrust.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := svc.Ready(ctx); err != nil {
			httpx.SetRetryAfter(w, http.StatusServiceUnavailable)
			httpx.WriteJSON(w, http.StatusServiceUnavailable, "application/json", status{Status: "unavailable", Detail: "the store does not answer"})
			return
		}
		httpx.WriteJSON(w, http.StatusOK, "application/json", status{Status: "ready"})
	})
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

// writeError answers in the native error shape, for the routes the server
// itself owns.
func writeError(w http.ResponseWriter, r *http.Request, status int, code dbtrust.Code, message string) {
	var b errorBody
	b.Error.Code, b.Error.Message, b.RequestID = string(code), message, httpx.RequestID(r)
	httpx.WriteJSON(w, status, "application/json", b)
}

func handleUnknown() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, http.StatusNotFound, dbtrust.NotFound, "no such route")
	})
}

func handleUnknownPanic() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b errorBody
		b.Error.Code, b.Error.Message, b.RequestID = string(dbtrust.Internal), "internal error", httpx.RequestID(r)
		httpx.WriteJSON(w, http.StatusInternalServerError, "application/json", b)
	})
}
