package server

import (
	"github.com/dbtrust/dbtrust"
	"github.com/prometheus/client_golang/prometheus"
)

var (
	cacheHitsDesc = prometheus.NewDesc("dbtrust_cache_hits_total",
		"Reads answered from the read cache, by kind (token, instance, project, accesskey).", []string{"kind"}, nil)
	cacheMissesDesc = prometheus.NewDesc("dbtrust_cache_misses_total",
		"Reads the read cache could not answer, which went to the store, by kind.", []string{"kind"}, nil)
	cacheEvictionsDesc = prometheus.NewDesc("dbtrust_cache_evictions_total",
		"Entries dropped to make room (--cache-size), by kind and whether they had expired (--cache-ttl).", []string{"kind", "expired"}, nil)
	cacheInvalidationsDesc = prometheus.NewDesc("dbtrust_cache_invalidations_total",
		"Entries dropped because their data changed, by kind and reason: change (made through this server), notice (the store's change notice named the key), unknown (the store could not say what changed: watch start, reconnection, missed notices).",
		[]string{"kind", "reason"}, nil)
	cacheEntriesDesc = prometheus.NewDesc("dbtrust_cache_entries",
		"Entries in the read cache, by kind.", []string{"kind"}, nil)
)

// cacheCollector reports the Service's read cache counters at each scrape.
type cacheCollector struct{ svc *dbtrust.Service }

func (c cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{cacheHitsDesc, cacheMissesDesc, cacheEvictionsDesc, cacheInvalidationsDesc, cacheEntriesDesc} {
		ch <- d
	}
}

func (c cacheCollector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	for _, st := range c.svc.CacheStats() {
		counter(cacheHitsDesc, st.Hits, st.Kind)
		counter(cacheMissesDesc, st.Misses, st.Kind)
		counter(cacheEvictionsDesc, st.Evictions, st.Kind, "false")
		counter(cacheEvictionsDesc, st.Expired, st.Kind, "true")
		for r, reason := range dbtrust.InvalidationReasons {
			counter(cacheInvalidationsDesc, st.Invalidations[r], st.Kind, reason)
		}
		ch <- prometheus.MustNewConstMetric(cacheEntriesDesc, prometheus.GaugeValue, float64(st.Entries), st.Kind)
	}
}
