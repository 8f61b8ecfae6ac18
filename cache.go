package dbtrust

import (
	"context"
	"sync"
	"time"
)

// ChangeWatcher is an optional Store capability: WatchChanges calls onChange
// soon after another process (a replica, or the CLI) commits a change, until
// ctx is done. Stores that have it let the Service cache hot reads safely.
// WatchChanges also calls onChange once as soon as it is watching, so that a
// change committed before the watch was in place is not missed.
type ChangeWatcher interface {
	WatchChanges(ctx context.Context, onChange func()) error
}

// readCache holds the reads on every hot path: tokens by ID, an instance's
// CAs, and whatever the capability services beside the core keep in a Cache
// of theirs (access keys by AK). Entries live at most ttl. Every change made through the
// Service drops the whole cache, and so does every change notice from the
// store. The generation check keeps a read that raced with a change from
// storing what it read before the change.
type readCache struct {
	ttl time.Duration
	now func() time.Time

	mu     sync.RWMutex
	gen    uint64
	tokens map[string]cached[Token]
	cas    map[[2]string]cached[caEntry]
	others []func() // clear the maps of the Caches made by NewCache
}

// caEntry is an instance's CAs with the bundle they make and the
// fingerprints of the CAs in it, built once, and the bundle's forms
// (BundleForm), built when first asked for.
type caEntry struct {
	cas          []CA
	bundle       []byte
	fingerprints []string
	forms        *formSlots
}

func newCAEntry(cas []CA) caEntry {
	e := caEntry{cas: cas, bundle: Bundle(cas), forms: new(formSlots)}
	for _, st := range servedOrder {
		for _, ca := range cas {
			if ca.State == st {
				e.fingerprints = append(e.fingerprints, ca.Fingerprint)
			}
		}
	}
	return e
}

type cached[T any] struct {
	v       T
	expires time.Time
}

func newReadCache(ttl time.Duration, now func() time.Time) *readCache {
	return &readCache{ttl: ttl, now: now, tokens: map[string]cached[Token]{}, cas: map[[2]string]cached[caEntry]{}}
}

func (c *readCache) enabled() bool { return c != nil && c.ttl > 0 }

// invalidate drops every entry.
func (c *readCache) invalidate() {
	if !c.enabled() {
		return
	}
	c.mu.Lock()
	c.gen++
	clear(c.tokens)
	clear(c.cas)
	for _, f := range c.others {
		f()
	}
	c.mu.Unlock()
}

// lookup returns a live entry of m, or the generation to pass to store.
func lookup[K comparable, V any](c *readCache, m map[K]cached[V], k K) (V, uint64, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := m[k]
	if ok && c.now().Before(e.expires) {
		return e.v, c.gen, true
	}
	var zero V
	return zero, c.gen, false
}

// store keeps v unless the cache changed since gen was read.
func store[K comparable, V any](c *readCache, m map[K]cached[V], k K, v V, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		m[k] = cached[V]{v: v, expires: c.now().Add(c.ttl)}
	}
}

// InvalidateCache drops every cached read. Stores call it (through
// WatchChanges) when another process changed the data.
func (s *Service) InvalidateCache() { s.cache.invalidate() }

// WatchStore keeps the cache coherent with changes made by other processes,
// when the store can report them, until ctx is done. Without such a store the
// cache's TTL bounds how stale a read can be.
func (s *Service) WatchStore(ctx context.Context) error {
	w, ok := s.store.(ChangeWatcher)
	if !ok || !s.cache.enabled() {
		return nil
	}
	return w.WatchChanges(ctx, s.cache.invalidate)
}

func (s *Service) getToken(ctx context.Context, id string) (Token, error) {
	if !s.cache.enabled() {
		return s.store.GetToken(ctx, id)
	}
	t, gen, ok := lookup(s.cache, s.cache.tokens, id)
	if ok {
		return t, nil
	}
	t, err := s.store.GetToken(ctx, id)
	if err == nil {
		store(s.cache, s.cache.tokens, id, t, gen)
	}
	return t, err
}

func (s *Service) listCAs(ctx context.Context, accountID, instanceID string) (caEntry, error) {
	if !s.cache.enabled() {
		cas, err := s.store.ListCAs(ctx, accountID, instanceID)
		return newCAEntry(cas), err
	}
	k := [2]string{accountID, instanceID}
	e, gen, ok := lookup(s.cache, s.cache.cas, k)
	if ok {
		return e, nil
	}
	cas, err := s.store.ListCAs(ctx, accountID, instanceID)
	if err != nil {
		return caEntry{}, err
	}
	e = newCAEntry(cas)
	if len(cas) > 0 {
		store(s.cache, s.cache.cas, k, e, gen)
	}
	return e, nil
}

// Cache is a read cache of a capability service beside the core, held and
// dropped with the core's own: every change made through the Service, and
// every change notice from the store, empties it. It is safe for concurrent
// use. Entries live at most Options.CacheTTL.
type Cache[K comparable, V any] struct {
	c *readCache
	m map[K]cached[V]
}

// NewCache returns an empty Cache that s drops with its own cached reads.
func NewCache[K comparable, V any](s *Service) *Cache[K, V] {
	c := &Cache[K, V]{c: s.cache, m: map[K]cached[V]{}}
	if s.cache.enabled() {
		s.cache.mu.Lock()
		s.cache.others = append(s.cache.others, func() { clear(c.m) })
		s.cache.mu.Unlock()
	}
	return c
}

// Get returns the cached value of k, or calls load and keeps what it returns
// when it succeeds (unless the cache was dropped meanwhile).
func (c *Cache[K, V]) Get(ctx context.Context, k K, load func(context.Context, K) (V, error)) (V, error) {
	if !c.c.enabled() {
		return load(ctx, k)
	}
	v, gen, ok := lookup(c.c, c.m, k)
	if ok {
		return v, nil
	}
	v, err := load(ctx, k)
	if err == nil {
		store(c.c, c.m, k, v, gen)
	}
	return v, err
}
