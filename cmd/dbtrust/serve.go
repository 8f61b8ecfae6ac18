package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/dialect/huaweicloud"
	"github.com/dbtrust/dbtrust/internal/selftls"
	"github.com/dbtrust/dbtrust/internal/server"
)

func cmdServe(ctx context.Context, args []string, env envFunc, stdout, stderr io.Writer) error {
	fs := newFlagSet("dbtrust serve", stderr)
	var c common
	c.register(fs, env, false)
	addr := fs.String("addr", env.or("DBTRUST_ADDR", "127.0.0.1:8080"), "listen address; port 0 picks a free port (env DBTRUST_ADDR)")
	tlsCert := fs.String("tls-cert", env("DBTRUST_TLS_CERT"), "serve HTTPS with this PEM certificate (chain) file (env DBTRUST_TLS_CERT)")
	tlsKey := fs.String("tls-key", env("DBTRUST_TLS_KEY"), "the PEM private key of --tls-cert (env DBTRUST_TLS_KEY)")
	https := fs.Bool("https", env("DBTRUST_HTTPS") == "true", "serve HTTPS with a certificate dbtrust issues itself from its internal CA in the data folder")
	tlsHosts := fs.String("tls-hosts", env("DBTRUST_TLS_HOSTS"), "extra comma-separated DNS names or IPs for the self-issued certificate")
	insecureHTTP := fs.Bool("insecure-http", false, "allow plain HTTP on a non-loopback address (never do this across a network you do not trust)")
	rateLimit := fs.Int("rate-limit", atoiOr(env("DBTRUST_RATE_LIMIT"), 5000), "requests per token per minute (env DBTRUST_RATE_LIMIT)")
	caValidity := fs.Duration("ca-validity", 10*365*24*time.Hour, "lifetime of a new instance CA")
	caKeyType := fs.String("ca-key-type", "ecdsa-p256", "key type of a new instance CA: ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096")
	dbDomain := fs.String("db-domain", env.or("DBTRUST_DB_DOMAIN", "db.internal"), "DNS suffix of instance host names")
	publicURL := fs.String("public-url", env("DBTRUST_PUBLIC_URL"), "base URL clients reach dbtrust at, for the download links it hands out (env DBTRUST_PUBLIC_URL; default: the URL it serves on)")
	linkTTL := fs.Duration("link-ttl", durationOr(env("DBTRUST_LINK_TTL"), huaweicloud.DefaultLinkTTL), "lifetime of a presigned download link (env DBTRUST_LINK_TTL)")
	logLevel := fs.String("log-level", env.or("DBTRUST_LOG_LEVEL", "info"), "log level: debug, info, warn, error")
	migrate := fs.Bool("migrate", env("DBTRUST_MIGRATE") != "false", "apply pending schema migrations on start; with --migrate=false (env DBTRUST_MIGRATE=false) the schema must be current (run 'dbtrust migrate')")
	requestTimeout := fs.Duration("request-timeout", durationOr(env("DBTRUST_REQUEST_TIMEOUT"), server.DefaultRequestTimeout), "deadline of one request, store calls included; a store that does not answer in time is a 503 (env DBTRUST_REQUEST_TIMEOUT)")
	crlBase := fs.String("crl-base-url", env("DBTRUST_CRL_BASE_URL"), "public base URL of this server; when set, issued certificates carry a CRL distribution point BASE/v1/cas/{ca_id}/crl (env DBTRUST_CRL_BASE_URL)")
	autoRotate := fs.Duration("auto-rotate-interval", time.Minute, "how often to apply instances' automatic rotation policies; 0 turns automatic rotation off on this replica")
	noMetrics := fs.Bool("no-metrics", false, "do not serve Prometheus metrics at /metrics")
	metricsToken := fs.String("metrics-token", env("DBTRUST_METRICS_TOKEN"), "bearer token /metrics requires; without it /metrics answers loopback clients only (env DBTRUST_METRICS_TOKEN)")
	cacheTTL := fs.Duration("cache-ttl", durationOr(env("DBTRUST_CACHE_TTL"), 0), "longest a cached token or CA list is served (default 5s); changes drop it at once, other replicas' changes when their notice arrives; negative turns the cache off (env DBTRUST_CACHE_TTL)")
	adoptionFlush := fs.Duration("adoption-flush", 10*time.Second, "how often this replica writes the bundle fetches it counted in memory (who holds which CA); a crash loses at most this much")
	clockKind := fs.String("clock", env.or("DBTRUST_CLOCK", "real"), "real, or emulated: start at the real time and let an admin move it forward with POST /v1/clock, to rehearse expiries and rotations in CI (env DBTRUST_CLOCK)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *adoptionFlush <= 0 {
		return errors.New("--adoption-flush must be positive, such as 10s")
	}
	c.noMigrate = !*migrate
	var emulated *dbtrust.EmulatedClock
	switch *clockKind {
	case "real":
	case "emulated":
		emulated = dbtrust.NewEmulatedClock(time.Now)
	default:
		return errors.New("--clock must be real or emulated")
	}
	if *linkTTL < time.Second || *linkTTL > 7*24*time.Hour {
		return errors.New("--link-ttl must be between 1s and 168h")
	}
	if *publicURL != "" {
		u, err := neturl.Parse(*publicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
			return errors.New("--public-url must be an http:// or https:// URL with no path, such as https://dbtrust.example:8443")
		}
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	log := newLogger(stderr, *logLevel)

	d, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer d.store.Close()
	svc := dbtrust.NewService(d.store, d.sealer, dbtrust.Options{
		CAValidity: *caValidity, CAKeyType: *caKeyType, DBDomain: *dbDomain, Logger: log, CRLBaseURL: *crlBase, CacheTTL: *cacheTTL,
		EmulatedClock: emulated,
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	host, _, _ := net.SplitHostPort(*addr)
	scheme := "http"
	var tlsConfig *tls.Config
	var servingCA *selftls.Issuer
	var operatorCert *selftls.KeyPair
	switch chooseTLS(host, *tlsCert != "", *https, *insecureHTTP) {
	case operatorTLS:
		if operatorCert, err = selftls.LoadKeyPair(*tlsCert, *tlsKey); err != nil {
			return err
		}
		tlsConfig = serverTLS()
		tlsConfig.GetCertificate = operatorCert.GetCertificate
	case selfIssuedTLS:
		servingCA, err = selftls.Open(ctx, selftls.Config{
			Store: d.db, Dir: filepath.Join(c.data, "tls"), Hosts: append(splitList(*tlsHosts), host), Sealer: d.sealer,
		})
		if err != nil {
			return fmt.Errorf("self-issued TLS: %w", err)
		}
		tlsConfig = serverTLS()
		tlsConfig.GetCertificate = servingCA.GetCertificate
	}
	if tlsConfig != nil {
		scheme = "https"
		ln = tls.NewListener(ln, tlsConfig)
	}

	// The first account is made only once the listener is ready, so that a
	// start that fails (a port in use, a bad certificate) never makes a
	// token it cannot print.
	acct, token, created, err := svc.Bootstrap(ctx)
	if err != nil {
		return fmt.Errorf("first start: %w", err)
	}
	url := scheme + "://" + displayAddr(ln.Addr())
	fmt.Fprintf(stdout, "dbtrust %s serving on %s\n", version, url)
	if *publicURL == "" {
		*publicURL = url
	}
	fmt.Fprintf(stdout, "console:  %s/ui/ (sign in with a token)\n", url)
	fmt.Fprintf(stdout, "store:    %s\n", d.storeDesc)
	if emulated != nil {
		fmt.Fprintf(stdout, "clock:    emulated, now %s (admins move it forward with POST /v1/clock; never use this in production)\n", emulated.Now().Format(time.RFC3339))
	}
	if servingCA != nil {
		fmt.Fprintf(stdout, "tls ca:   %s (trust this file to reach dbtrust over HTTPS)\n", servingCA.CAPath)
		fmt.Fprintf(stdout, "tls ca sha256: %s (the same on every replica of this store)\n", servingCA.Fingerprint)
	}
	printKeys(stdout, d)
	fmt.Fprintf(stdout, "account:  %s (%s), project %s\n", acct.Name, acct.ID, acct.ProjectID)
	if created {
		fmt.Fprintf(stdout, "token:    %s\n          (owner token, shown only now: keep it)\n", token)
	}

	srv := &http.Server{
		Handler: server.New(server.Config{
			Service: svc, Logger: log, RateLimit: *rateLimit, RequestTimeout: *requestTimeout,
			PublicURL: *publicURL, LinkTTL: *linkTTL, NoMetrics: *noMetrics, MetricsToken: *metricsToken,
			RealClock: time.Now,
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go reloadOnHUP(ctx, hup, log, func() {
		reload(ctx, log, &c, d, operatorCert)
	})
	go func() {
		if err := svc.WatchStore(ctx); err != nil {
			log.Warn("store change watch stopped; cached reads now expire by TTL only", "err", err)
		}
	}()
	if *autoRotate > 0 {
		go every(ctx, log, "automatic rotation", *autoRotate, func(ctx context.Context) error { return ignore(svc.AutoRotate(ctx)) })
	}
	go every(ctx, log, "recording bundle fetches", *adoptionFlush, svc.FlushAdoptions)
	defer func() { // what the last interval counted
		fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := svc.FlushAdoptions(fctx); err != nil {
			log.Error("recording bundle fetches at shutdown", "err", err)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return err
	}
	return nil
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

func durationOr(s string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(s); err == nil {
		return d
	}
	return def
}

func atoiOr(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return def
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
func reload(ctx context.Context, log *slog.Logger, c *common, d *deps, cert *selftls.KeyPair) {
	if cert != nil {
		if err := cert.Reload(time.Now()); err != nil {
			log.Error("the new TLS certificate is refused; still serving the previous one", "err", err, "previous_not_after", cert.NotAfter())
		} else {
			log.Info("TLS certificate reloaded", "not_after", cert.NotAfter())
		}
	}
	if err := reloadKeys(ctx, &c.keys, c.data, d.db, d.sealer); err != nil {
		log.Error("the key-encryption keys did not reload; keeping the previous ones", "err", err, "sealing_key", d.sealer.SealingID())
		return
	}
	log.Info("key-encryption keys reloaded", "sealing_key", d.sealer.SealingID(), "keys", d.sealer.IDs())
}

func ignore[T any](_ T, err error) error { return err }
