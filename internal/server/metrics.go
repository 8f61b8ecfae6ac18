package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/dialect/huaweicloud"
	"github.com/dbtrust/dbtrust/internal/httpx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics is the server's Prometheus registry: request counters per dialect
// and status, and the expiry collector.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// The children of every dialect, found once rather than by label
	// lookup on every request.
	children [len(dialects)]dialectMetrics
}

// dialectMetrics are one dialect's request metrics: its duration histogram
// and its counters by status (100 to 599), each made on first use.
type dialectMetrics struct {
	duration prometheus.Observer
	byStatus [500]atomic.Pointer[prometheus.Counter]
}

// dialects are the values of the dialect label, which has a fixed, small
// set of values whatever the path.
var dialects = [...]string{"native", "digitalocean", "astra", "huaweicloud", "server", "other"}

func newMetrics(svc *dbtrust.Service, access *httpx.AccessLog) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dbtrust_http_requests_total",
			Help: "HTTP requests answered, by dialect and status code.",
		}, []string{"dialect", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "dbtrust_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by dialect.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"dialect"}),
	}
	for i, d := range dialects {
		m.children[i].duration = m.duration.WithLabelValues(d)
	}
	dropped := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "dbtrust_access_log_dropped_lines_total",
		Help: "Access log lines dropped because the log's buffer was full (the log's output did not keep up).",
	}, func() float64 {
		if access == nil {
			return 0
		}
		return float64(access.Dropped())
	})
	m.reg.MustRegister(m.requests, m.duration, dropped, expiryCollector{svc: svc}, adoptionCollector{svc: svc}, cacheCollector{svc: svc},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// dialectOf returns the index in dialects of the dialect that serves path.
func dialectOf(path string) int {
	switch {
	case strings.HasPrefix(path, "/v1/"):
		return 0
	case path == "/v2/databases" || strings.HasPrefix(path, "/v2/databases/"):
		return 1
	case strings.HasPrefix(path, "/accounts/"):
		return 2
	case strings.HasPrefix(path, "/v3/") || strings.HasPrefix(path, "/v2/"),
		strings.HasPrefix(path, "/"+huaweicloud.DDSBucket+"/"), strings.HasPrefix(path, "/"+huaweicloud.DCSBucket+"/"):
		return 3
	case path == "/healthz" || path == "/readyz" || path == "/metrics":
		return 4
	}
	return 5
}

// observe is the access log's hook: it counts each answered request.
func (m *metrics) observe(r *http.Request, status int, d time.Duration) {
	if status == 0 {
		status = http.StatusOK
	}
	i := dialectOf(r.URL.Path)
	c := &m.children[i]
	c.duration.Observe(d.Seconds())
	if status < 100 || status > 599 {
		m.requests.WithLabelValues(dialects[i], strconv.Itoa(status)).Inc()
		return
	}
	slot := &c.byStatus[status-100]
	p := slot.Load()
	if p == nil {
		counter := m.requests.WithLabelValues(dialects[i], strconv.Itoa(status))
		slot.CompareAndSwap(nil, &counter)
		p = slot.Load()
	}
	(*p).Inc()
}

// guardMetrics lets a request through to next when it carries the metrics
// token (compared in constant time) or, with no token configured, when it
// comes from a loopback address. Everyone else gets 401 or 403.
func guardMetrics(token string, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token != "" {
			got, _ := httpx.Bearer(r)
			sum := sha256.Sum256([]byte(got))
			if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="dbtrust metrics"`)
				writeError(w, r, http.StatusUnauthorized, dbtrust.Unauthorized, "the metrics token is missing or wrong")
				return
			}
		} else if host, _, err := net.SplitHostPort(r.RemoteAddr); err != nil || !net.ParseIP(host).IsLoopback() {
			writeError(w, r, http.StatusForbidden, dbtrust.Forbidden, "metrics are served to loopback clients only unless dbtrust runs with --metrics-token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Timeout: 10 * time.Second})
}

var (
	caExpiryDesc = prometheus.NewDesc("dbtrust_ca_expiry_seconds",
		"Seconds until the CA expires (negative once expired), for every CA that is not retired.",
		[]string{"instance_id", "ca_id", "state"}, nil)
	certExpiryDesc = prometheus.NewDesc("dbtrust_certificate_expiry_seconds",
		"Seconds until the issued certificate expires, for every unrevoked certificate that has not been expired for over a week.",
		[]string{"instance_id", "serial"}, nil)
	scrapeErrorDesc = prometheus.NewDesc("dbtrust_expiry_scrape_error",
		"1 when the store could not be read for the expiry gauges on this scrape.", nil, nil)
)

// expiryCollector reads the expiries from the store at each scrape, so the
// gauges are the same on every replica and nothing is kept in memory.
type expiryCollector struct{ svc *dbtrust.Service }

func (c expiryCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- caExpiryDesc
	ch <- certExpiryDesc
	ch <- scrapeErrorDesc
}

func (c expiryCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list, err := c.svc.Expiries(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(scrapeErrorDesc, prometheus.GaugeValue, 1)
		return
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrorDesc, prometheus.GaugeValue, 0)
	now := c.svc.Now()
	for _, e := range list {
		left := e.NotAfter.Sub(now).Seconds()
		switch e.Kind {
		case "ca":
			ch <- prometheus.MustNewConstMetric(caExpiryDesc, prometheus.GaugeValue, left, e.InstanceID, e.ID, e.State)
		case "certificate":
			ch <- prometheus.MustNewConstMetric(certExpiryDesc, prometheus.GaugeValue, left, e.InstanceID, e.ID)
		}
	}
}

var (
	adoptionDesc = prometheus.NewDesc("dbtrust_rotation_clients",
		"Known clients of the instance (principals that fetched its CA bundle) by whether their last bundle held the rotation's new CA: the next CA during a rotation, else the current one. From the store, so every replica reports the same, behind by at most one --adoption-flush.",
		[]string{"instance_id", "stage", "holds_new_ca"}, nil)
	adoptionErrorDesc = prometheus.NewDesc("dbtrust_rotation_scrape_error",
		"1 when the store could not be read for the rotation gauges on this scrape.", nil, nil)
)

// adoptionCollector reads the adoption counts from the store at each scrape.
type adoptionCollector struct{ svc *dbtrust.Service }

func (c adoptionCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- adoptionDesc
	ch <- adoptionErrorDesc
}

func (c adoptionCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list, err := c.svc.AdoptionCounts(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(adoptionErrorDesc, prometheus.GaugeValue, 1)
		return
	}
	ch <- prometheus.MustNewConstMetric(adoptionErrorDesc, prometheus.GaugeValue, 0)
	for _, a := range list {
		ch <- prometheus.MustNewConstMetric(adoptionDesc, prometheus.GaugeValue, float64(a.Holding), a.InstanceID, string(a.Stage), "true")
		ch <- prometheus.MustNewConstMetric(adoptionDesc, prometheus.GaugeValue, float64(a.Lacking), a.InstanceID, string(a.Stage), "false")
	}
}
