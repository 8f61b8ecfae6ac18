package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/dialect/huaweicloud"
	"github.com/dbtrust/dbtrust/internal/httpx"
	"github.com/dbtrust/dbtrust/internal/selftls"
	"github.com/dbtrust/dbtrust/internal/server"
	"github.com/dbtrust/dbtrust/internal/webhook"
)

// serveConfig is what only serve reads; the rest of its settings are the
// shared ones in config.
type serveConfig struct {
	Addr         string
	TLSCert      string
	TLSKey       string
	HTTPS        bool
	TLSHosts     []string
	InsecureHTTP bool
	RateLimit    int
	// Budgets per minute besides the token's: failed authentications and
	// credential-free requests (CRLs, console sign-in) per client address,
	// download-link requests per address and per link.
	FailedAuthLimit int
	PublicLimit     int
	DownloadLimit   int
	LinkLimit       int
	PublicURL       string
	LinkTTL         time.Duration
	LogLevel        string
	LogFormat       string
	AccessLog       string
	Migrate         bool
	RequestTimeout  time.Duration
	AutoRotate      time.Duration
	NoMetrics       bool
	MetricsToken    string
	CacheTTL        time.Duration
	CacheSize       int
	AdoptionFlush   time.Duration
	WebhookEvery    time.Duration
	Clock           string
}

func (s *serveConfig) register(fs *pflag.FlagSet) {
	fs.StringVar(&s.Addr, "addr", "127.0.0.1:8080", "listen address; port 0 picks a free port and the real URL is printed")
	fs.StringVar(&s.TLSCert, "tls-cert", "", "serve HTTPS with this PEM certificate (chain) file")
	fs.StringVar(&s.TLSKey, "tls-key", "", "the PEM private key of --tls-cert")
	fs.BoolVar(&s.HTTPS, "https", false, "serve HTTPS with a certificate dbtrust issues itself from its internal CA in the data folder")
	fs.StringSliceVar(&s.TLSHosts, "tls-hosts", nil, "extra DNS names or IPs for the self-issued certificate (comma-separated)")
	fs.BoolVar(&s.InsecureHTTP, "insecure-http", false, "allow plain HTTP on a non-loopback address (never across a network you do not trust)")
	fs.IntVar(&s.RateLimit, "rate-limit", 5000, "requests per token per minute")
	fs.IntVar(&s.FailedAuthLimit, "failed-auth-limit", 100, "failed authentications per client address per minute; then 429 (valid tokens from that address are not affected)")
	fs.IntVar(&s.PublicLimit, "public-limit", 0, "requests per client address per minute to the routes that need no credentials (CRLs, console sign-in); 0: the same as --rate-limit")
	fs.IntVar(&s.DownloadLimit, "download-limit", 600, "requests to download links per client address per minute")
	fs.IntVar(&s.LinkLimit, "link-limit", 60, "downloads of one presigned download link per minute")
	fs.StringVar(&s.PublicURL, "public-url", "", "base URL clients reach dbtrust at, for the download links it hands out (default: the URL it serves on)")
	fs.DurationVar(&s.LinkTTL, "link-ttl", huaweicloud.DefaultLinkTTL, "lifetime of a presigned download link (1s to 168h)")
	fs.StringVar(&s.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&s.LogFormat, "log-format", "text", "log format: text (logfmt) or json (one JSON object a line)")
	fs.StringVar(&s.AccessLog, "access-log", "on", "the access log, one line a request at level info: on (buffered in memory, written every 200ms and at shutdown; lines the output cannot keep up with are dropped and counted) or off")
	fs.BoolVar(&s.Migrate, "migrate", true, "apply pending schema migrations on start; with --migrate=false the schema must be current (run 'dbtrust migrate')")
	fs.DurationVar(&s.RequestTimeout, "request-timeout", server.DefaultRequestTimeout, "deadline of one request, store calls included; a store that does not answer in time is a 503")
	fs.DurationVar(&s.AutoRotate, "auto-rotate-interval", time.Minute, "how often to apply instances' automatic rotation policies and publish due expiry notifications; 0 turns both off on this replica")
	fs.DurationVar(&s.WebhookEvery, "webhook-interval", time.Second, "how often this replica looks for webhook deliveries that are due")
	fs.BoolVar(&s.NoMetrics, "no-metrics", false, "do not serve Prometheus metrics at /metrics")
	fs.StringVar(&s.MetricsToken, "metrics-token", "", "bearer token /metrics requires; without it /metrics answers loopback clients only")
	fs.DurationVar(&s.AdoptionFlush, "adoption-flush", 10*time.Second, "how often this replica writes the bundle fetches it counted in memory (who holds which CA); a crash loses at most this much")
	fs.StringVar(&s.Clock, "clock", "real", "real, or emulated: start at the real time and let an admin move it forward with POST /v1/clock, to rehearse expiries and rotations in CI")
	fs.DurationVar(&s.CacheTTL, "cache-ttl", 5*time.Second, "longest a cached token or CA list is served; changes drop it at once, other replicas' changes when their notice arrives; negative turns the cache off")
	fs.IntVar(&s.CacheSize, "cache-size", dbtrust.DefaultCacheSize, "most entries each kind of cached read (tokens, CA lists, access keys, projects) holds; the least recently read go first")
	for name, env := range map[string]string{
		"addr": "DBTRUST_ADDR", "tls-cert": "DBTRUST_TLS_CERT", "tls-key": "DBTRUST_TLS_KEY", "https": "DBTRUST_HTTPS",
		"tls-hosts": "DBTRUST_TLS_HOSTS", "insecure-http": "DBTRUST_INSECURE_HTTP", "rate-limit": "DBTRUST_RATE_LIMIT",
		"failed-auth-limit": "DBTRUST_FAILED_AUTH_LIMIT", "public-limit": "DBTRUST_PUBLIC_LIMIT",
		"download-limit": "DBTRUST_DOWNLOAD_LIMIT", "link-limit": "DBTRUST_LINK_LIMIT",
		"public-url": "DBTRUST_PUBLIC_URL", "link-ttl": "DBTRUST_LINK_TTL", "log-level": "DBTRUST_LOG_LEVEL",
		"log-format": "DBTRUST_LOG_FORMAT", "access-log": "DBTRUST_ACCESS_LOG", "migrate": "DBTRUST_MIGRATE", "request-timeout": "DBTRUST_REQUEST_TIMEOUT",
		"auto-rotate-interval": "DBTRUST_AUTO_ROTATE_INTERVAL", "no-metrics": "DBTRUST_NO_METRICS",
		"metrics-token": "DBTRUST_METRICS_TOKEN", "cache-ttl": "DBTRUST_CACHE_TTL", "cache-size": "DBTRUST_CACHE_SIZE", "clock": "DBTRUST_CLOCK", "adoption-flush": "DBTRUST_ADOPTION_FLUSH",
		"webhook-interval": "DBTRUST_WEBHOOK_INTERVAL",
	} {
		withEnv(fs, name, env)
	}
}

// validate checks what the flag types do not. It runs for every command,
// so that a bad serve setting in the environment or the config file is
// found by any command, as it would be by serve.
func (s *serveConfig) validate() error {
	if s.LinkTTL < time.Second || s.LinkTTL > 7*24*time.Hour {
		return usageErrorf("link TTL %s: want 1s to 168h", s.LinkTTL)
	}
	if s.PublicURL != "" {
		u, err := neturl.Parse(s.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
			return usageErrorf("public URL %q: want an http:// or https:// URL with no path, such as https://dbtrust.example:8443", s.PublicURL)
		}
	}
	if (s.TLSCert == "") != (s.TLSKey == "") {
		return usageErrorf("--tls-cert and --tls-key go together")
	}
	for _, l := range []struct {
		name  string
		value int
	}{{"rate limit", s.RateLimit}, {"failed-auth limit", s.FailedAuthLimit}, {"download limit", s.DownloadLimit}, {"link limit", s.LinkLimit}} {
		if l.value < 1 {
			return usageErrorf("%s %d: want at least 1 request per minute", l.name, l.value)
		}
	}
	if s.PublicLimit < 0 {
		return usageErrorf("public limit %d: want at least 1 request per minute, or 0 for the same as --rate-limit", s.PublicLimit)
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, s.LogLevel) {
		return usageErrorf("log level %q: want debug, info, warn or error", s.LogLevel)
	}
	if s.WebhookEvery <= 0 {
		return usageErrorf("webhook interval %s: want a positive interval, such as 1s", s.WebhookEvery)
	}
	if s.AdoptionFlush <= 0 {
		return usageErrorf("adoption flush %s: want a positive interval, such as 10s", s.AdoptionFlush)
	}
	if s.Clock != "real" && s.Clock != "emulated" {
		return usageErrorf("clock %q: want real or emulated", s.Clock)
	}
	if s.LogFormat != "text" && s.LogFormat != "json" {
		return usageErrorf("log format %q: want text or json", s.LogFormat)
	}
	if s.AccessLog != "on" && s.AccessLog != "off" {
		return usageErrorf("access log %q: want on or off", s.AccessLog)
	}
	return nil
}

// serverConfig is what the HTTP server takes from serve's settings.
func (s *serveConfig) serverConfig(svc *dbtrust.Service, log *slog.Logger, publicURL string) server.Config {
	return server.Config{
		Service: svc, Logger: log, RateLimit: s.RateLimit, FailedAuthLimit: s.FailedAuthLimit, PublicLimit: s.PublicLimit,
		DownloadLimit: s.DownloadLimit, LinkLimit: s.LinkLimit, RequestTimeout: s.RequestTimeout,
		PublicURL: publicURL, LinkTTL: s.LinkTTL, NoMetrics: s.NoMetrics, MetricsToken: s.MetricsToken,
	}
}

func newServeCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server (creates its data folder, key and first account on first start)",
		Long: `Run the dbtrust server: the DigitalOcean, Huawei Cloud, Astra and native (/v1) APIs on one listener.

On first start it creates the data folder, an SQLite database, a key-encryption key (mode 0600)
and a first account with an owner token, which it prints once. Plain HTTP is served on loopback
addresses only; elsewhere dbtrust serves HTTPS with --tls-cert/--tls-key or a certificate it
issues itself (--https).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.serve(cmd.Context()) },
	}
	a.cfg.Serve.register(cmd.Flags())
	return cmd
}

func (a *app) serve(ctx context.Context) error {
	c, s := a.cfg, &a.cfg.Serve
	log := newLogger(a.stderr, s.LogLevel, s.LogFormat)
	d, err := a.openData(ctx, !s.Migrate)
	if err != nil {
		return err
	}
	defer d.store.Close()
	// The store closes only once every goroutine serve starts has ended, so
	// that nothing touches it, or the data folder, after serve returns.
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, stop := context.WithCancel(ctx) // ends those goroutines however serve returns
	defer stop()
	opts := c.serviceOptions(log)
	if s.Clock == "emulated" {
		opts.EmulatedClock = dbtrust.NewEmulatedClock(time.Now)
	}
	svc := dbtrust.NewService(d.store, d.sealer, opts)
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return dbtrust.Wrap(dbtrust.Unavailable, err, fmt.Sprintf("cannot listen on %s: is another server using it? pick another with --addr", s.Addr))
	}
	defer ln.Close()
	host, _, _ := net.SplitHostPort(s.Addr)
	ln, scheme, tlsState, err := a.serveTLS(ctx, ln, host, d)
	if err != nil {
		return err
	}

	// The first account is made only once the listener is ready, so that a
	// start that fails (a port in use, a bad certificate) never makes a
	// token it cannot print.
	acct, token, created, err := svc.Bootstrap(ctx)
	if err != nil {
		return fmt.Errorf("first start: %w", err)
	}
	url := scheme + "://" + displayAddr(ln.Addr())
	publicURL := s.PublicURL
	if publicURL == "" {
		publicURL = url
	}
	fmt.Fprintf(a.stdout, "dbtrust %s serving on %s\n", buildVersion(), url)
	fmt.Fprintf(a.stdout, "console:  %s/ui/ (sign in with a token)\n", url)
	fmt.Fprintf(a.stdout, "store:    %s\n", d.storeDesc)
	if opts.EmulatedClock != nil {
		fmt.Fprintf(a.stdout, "clock:    emulated, now %s (admins move it forward with POST /v1/clock; never use this in production)\n", opts.EmulatedClock.Now().Format(time.RFC3339))
	}
	if tlsState.servingCA != nil {
		fmt.Fprintf(a.stdout, "tls ca:   %s (trust this file to reach dbtrust over HTTPS)\n", tlsState.servingCA.CAPath)
		fmt.Fprintf(a.stdout, "tls ca sha256: %s (the same on every replica of this store)\n", tlsState.servingCA.Fingerprint)
	}
	printKeys(a.stdout, d)
	fmt.Fprintf(a.stdout, "account:  %s (%s), project %s\n", acct.Name, acct.ID, acct.ProjectID)
	if created {
		fmt.Fprintf(a.stdout, "token:    %s\n          (owner token, shown only now: keep it)\n", token)
	}

	scfg := s.serverConfig(svc, log, publicURL)
	scfg.AccessLog = newAccessLog(a.stderr, s)
	scfg.NoAccessLog = scfg.AccessLog == nil
	defer scfg.AccessLog.Close() // after the server has shut down: its last lines are written
	srv := &http.Server{
		Handler:           server.New(scfg),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	wg.Go(func() { reloadOnHUP(ctx, hup, log, func() { reload(ctx, log, c, d, tlsState.operatorCert) }) })
	wg.Go(func() { watchKEKs(ctx, log, c, d, kekWatchInterval) })
	return runServer(ctx, srv, ln, svc, log, s)
}

// newAccessLog returns the buffered access log serve writes to w (see
// httpx.AccessLog), or nil, for none: with --access-log off, or a log level
// above info (access lines are info).
func newAccessLog(w io.Writer, s *serveConfig) *httpx.AccessLog {
	if s.AccessLog == "off" || s.LogLevel == "warn" || s.LogLevel == "error" {
		return nil
	}
	return httpx.NewAccessLog(w, httpx.AccessLogOptions{JSON: s.LogFormat == "json"})
}

// tlsState is what serve's HTTPS is made of: the operator's certificate
// (reloaded on SIGHUP) or the internal serving CA.
type tlsState struct {
	operatorCert *selftls.KeyPair
	servingCA    *selftls.Issuer
}

// serveTLS wraps ln in TLS as chooseTLS decides, and returns the scheme.
func (a *app) serveTLS(ctx context.Context, ln net.Listener, host string, d *deps) (net.Listener, string, tlsState, error) {
	s := &a.cfg.Serve
	var st tlsState
	var err error
	tlsConfig := serverTLS()
	switch chooseTLS(host, s.TLSCert != "", s.HTTPS, s.InsecureHTTP) {
	case plainHTTP:
		return ln, "http", st, nil
	case operatorTLS:
		if st.operatorCert, err = selftls.LoadKeyPair(s.TLSCert, s.TLSKey); err != nil {
			return nil, "", st, err
		}
		tlsConfig.GetCertificate = st.operatorCert.GetCertificate
	case selfIssuedTLS:
		st.servingCA, err = selftls.Open(ctx, selftls.Config{
			Store: d.db, Dir: filepath.Join(a.cfg.Data, "tls"), Hosts: append(slices.Clone(s.TLSHosts), host), Sealer: d.sealer,
		})
		if err != nil {
			return nil, "", st, fmt.Errorf("self-issued TLS: %w", err)
		}
		tlsConfig.GetCertificate = st.servingCA.GetCertificate
	}
	return tls.NewListener(ln, tlsConfig), "https", st, nil
}

// runServer serves on ln until ctx ends, with the store watch and the
// background loops beside it, then shuts down gracefully: the listener first,
// then the loops, then a last write of what they counted. It returns only
// once every goroutine it started has ended.
func runServer(ctx context.Context, srv *http.Server, ln net.Listener, svc *dbtrust.Service, log *slog.Logger, s *serveConfig) error {
	ctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := svc.WatchStore(ctx); err != nil {
			log.Warn("store change watch stopped; cached reads now expire by TTL only", "err", err)
		}
	})
	if s.AutoRotate > 0 {
		wg.Go(func() { every(ctx, log, "automatic rotation and expiry notifications", s.AutoRotate, svc.RunTimers) })
	}
	wg.Go(func() { every(ctx, log, "recording bundle fetches", s.AdoptionFlush, svc.FlushAdoptions) })
	wg.Go(func() {
		every(ctx, log, "recording refused requests", dbtrust.DefaultRefusalInterval, func(ctx context.Context) error {
			svc.FlushRefusals(ctx)
			return nil
		})
	})
	wg.Go(func() {
		webhook.Loop(ctx, svc, webhook.New(), s.WebhookEvery, func(err error) { log.Error("webhook deliveries", "err", err) })
	})

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		log.Info("shutting down")
		err = shutdown(srv, errc, log)
	}
	stop()
	wg.Wait()
	flushCounts(svc, log)
	return err
}

// shutdownTimeout bounds how long shutdown waits for requests in flight.
const shutdownTimeout = 10 * time.Second

// shutdown stops srv gracefully, closing what is still open after
// shutdownTimeout, and waits for its Serve (which sends to served) to return.
func shutdown(srv *http.Server, served <-chan error, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(ctx)
	if err != nil {
		log.Error("requests still running after "+shutdownTimeout.String()+" of shutting down; closing their connections", "err", err)
		srv.Close()
	}
	<-served // http.ErrServerClosed
	return err
}

// flushCounts records what the last interval counted in memory.
func flushCounts(svc *dbtrust.Service, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := svc.FlushAdoptions(ctx); err != nil {
		log.Error("recording bundle fetches at shutdown", "err", err)
	}
	svc.FlushRefusals(ctx)
}

// newLogger returns the server's logger: logfmt text or JSON lines.
func newLogger(w io.Writer, level, format string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // checked by validate
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// tlsChoice is how serve protects its listener.
type tlsChoice int

const (
	plainHTTP     tlsChoice = iota // only on a loopback address, or when forced
	operatorTLS                    // --tls-cert/--tls-key
	selfIssuedTLS                  // a certificate from the internal CA in the data folder
)

// chooseTLS decides how to serve on host: the operator's certificate when
// given; else a self-issued one when asked for with --https or when the
// address is not loopback (unless plain HTTP is forced); else plain HTTP.
func chooseTLS(host string, operatorCert, https, insecureHTTP bool) tlsChoice {
	switch {
	case operatorCert:
		return operatorTLS
	case https || !isLoopback(host) && !insecureHTTP:
		return selfIssuedTLS
	}
	return plainHTTP
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// displayAddr is the bound address as a client would dial it.
func displayAddr(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	host := ta.IP.String()
	if ta.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.Itoa(ta.Port))
}

// every runs fn now and then every interval until ctx ends, logging its
// errors under what. Several replicas may run the same work at once: each
// step of it is a conditional change in the store.
func every(ctx context.Context, log *slog.Logger, what string, interval time.Duration, fn func(context.Context) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := fn(ctx); err != nil && ctx.Err() == nil {
			log.Error(what, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// serverTLS is the TLS configuration of the listener: TLS 1.2 or later, and
// under TLS 1.2 only ECDHE key exchange with AEAD ciphers (no CBC, no RSA key
// exchange). TLS 1.3 suites are all AEAD and are not configurable.
func serverTLS() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, CipherSuites: []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	}}
}

// printKeys says which KEK the process seals under, and when it made one.
func printKeys(w io.Writer, d *deps) {
	if d.kekCreated {
		fmt.Fprintf(w, "kek:      %s created, key ID %s (mode 0600; back it up: without it no key can be opened)\n", d.keys.PrimaryFrom, d.keys.Primary.ID())
	} else {
		fmt.Fprintf(w, "kek:      key ID %s (%s)\n", d.keys.Primary.ID(), d.keys.PrimaryFrom)
	}
	if d.sealer.SealingID() != d.keys.Primary.ID() {
		fmt.Fprintf(w, "kek:      sealing under the new key %s (%s)\n", d.sealer.SealingID(), d.keys.NewFrom)
	}
}

// reloadOnHUP calls reload on each SIGHUP until ctx ends.
func reloadOnHUP(ctx context.Context, hup <-chan os.Signal, log *slog.Logger, reload func()) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			log.Info("SIGHUP: reloading the TLS certificate and the key-encryption keys")
			reload()
		}
	}
}

// reload re-reads the operator's certificate and the KEK sources. Whatever
// fails to load is refused with a log line, and what was served so far stays.
func reload(ctx context.Context, log *slog.Logger, c *config, d *deps, cert *selftls.KeyPair) {
	if cert != nil {
		if err := cert.Reload(time.Now()); err != nil {
			log.Error("the new TLS certificate is refused; still serving the previous one", "err", err, "previous_not_after", cert.NotAfter())
		} else {
			log.Info("TLS certificate reloaded", "not_after", cert.NotAfter())
		}
	}
	if err := reloadKeys(ctx, &c.Keys, c.Data, d.db, d.sealer); err != nil {
		log.Error("the key-encryption keys did not reload; keeping the previous ones", "err", err, "sealing_key", d.sealer.SealingID())
		return
	}
	log.Info("key-encryption keys reloaded", "sealing_key", d.sealer.SealingID(), "keys", d.sealer.IDs())
}

// kekWatchInterval is how often serve looks for a KEK the store records that
// it does not hold.
const kekWatchInterval = 5 * time.Second

// watchKEKs notices a KEK the store records that this process does not hold
// (a rotation begun by another process) and re-reads the key sources, as
// SIGHUP would; while the key stays missing it says so in the log, at every
// look.
func watchKEKs(ctx context.Context, log *slog.Logger, c *config, d *deps, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		recs, err := d.db.KEKs(ctx)
		if err != nil {
			continue // the store's outage is reported by the requests that meet it
		}
		missing := ""
		for _, r := range recs {
			if d.sealer.Key(r.KeyID) == nil {
				missing = r.KeyID
			}
		}
		if missing == "" {
			continue
		}
		if err := reloadKeys(ctx, &c.Keys, c.Data, d.db, d.sealer); err != nil {
			log.Error("the store records key-encryption key "+missing+", which this replica does not hold, so values sealed under it do not open here: put the key where --new-kek-file (or --kek-file) points and send SIGHUP", "err", err)
			continue
		}
		log.Info("key-encryption keys reloaded: the store records a new key", "key", missing, "sealing_key", d.sealer.SealingID())
	}
}
