package dbtrust

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/dbtrust/dbtrust/internal/readcache"
)

// The kinds of cached reads a change can make stale, as change notices name
// them (Change.Kind). The key of each is the one the reads are cached by.
const (
	ChangeToken     = "token"     // key: token ID
	ChangeInstance  = "instance"  // key: instance ID (its CAs)
	ChangeProject   = "project"   // key: project ID (its account)
	ChangeAccessKey = "accesskey" // key: access key ID
)

// Change is what a change notice says changed: the cached reads of Kind
// under Key. The zero Change says anything may have changed.
type Change struct {
	Kind string
	Key  string
}

// ChangeWatcher is an optional Store capability: WatchChanges calls onChange
// soon after another process (a replica, or the CLI) commits a change to
// data the Service caches, until ctx is done. Stores that have it let the
// Service cache hot reads safely. WatchChanges calls onChange(Change{}) as
// soon as it is watching, so that a change committed before the watch was in
// place is not missed, and whenever it may have missed notices.
type ChangeWatcher interface {
	WatchChanges(ctx context.Context, onChange func(Change)) error
}

// DefaultCacheSize is how many entries each kind of cached read holds by
// default: the instances a busy server serves within a TTL, while the
// cache stays under a hundred megabytes (a CA list with its bundle and the
// bundle's encodings takes a few kilobytes) however many instances the
// store holds.
const DefaultCacheSize = 16384

// readCache holds the reads on every hot path: tokens by ID, an instance's
// CAs, and whatever the capability services beside the core keep in a Cache
// of theirs (access keys by AK, accounts by project). Each kind is bounded
// (size entries, evicting the least recently read) and entries live at most
// ttl. A change made through the Service drops the keys it touched; a change
// notice from the store drops the keys it names, or everything when the
// store cannot say what changed.
type readCache struct {
	ttl  time.Duration
	size int
	now  func() time.Time

	tokens *readcache.Cache[Token]
	cas    *readcache.Cache[caEntry]

	mu    sync.RWMutex
	kinds map[string]kindCache // every cache, by the Change.Kind that names its keys
}

// kindCache is a readcache.Cache of any value type.
type kindCache interface {
	Invalidate(key string, r readcache.Reason)
	InvalidateAll(r readcache.Reason)
	Stats() readcache.Stats
}

// caEntry is an instance's CAs with the bundle they make and the
// fingerprints of the CAs in it, built once, and the bundle's forms
// (BundleForm), built when first asked for.
type caEntry struct {
	accountID    string
	cas          []CA
	bundle       []byte
	fingerprints []string
	forms        *formSlots
}

func newCAEntry(cas []CA) caEntry {
	e := caEntry{cas: cas, bundle: Bundle(cas), forms: new(formSlots)}
	if len(cas) > 0 {
		e.accountID = cas[0].AccountID
	}
	for _, st := range servedOrder {
		for _, ca := range cas {
			if ca.State == st {
				e.fingerprints = append(e.fingerprints, ca.Fingerprint)
			}
		}
	}
	return e
}

func newReadCache(ttl time.Duration, size int, now func() time.Time) *readCache {
	c := &readCache{ttl: ttl, size: size, now: now, kinds: map[string]kindCache{}}
	if c.enabled() {
		c.tokens = readcache.New[Token](size, ttl, now)
		c.cas = readcache.New[caEntry](size, ttl, now)
		c.kinds[ChangeToken], c.kinds[ChangeInstance] = c.tokens, c.cas
	}
	return c
}

func (c *readCache) enabled() bool { return c != nil && c.ttl > 0 }

// invalidate drops what ch names: one key, every key of a kind (no Key),
// or everything (no Kind, or a kind this cache does not know).
func (c *readCache) invalidate(ch Change, r readcache.Reason) {
	if !c.enabled() {
		return
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	k, ok := c.kinds[ch.Kind]
	switch {
	case ok && ch.Key != "":
		k.Invalidate(ch.Key, r)
	case ok:
		k.InvalidateAll(r)
	case ch.Kind == "" || !knownKind(ch.Kind):
		for _, k := range c.kinds {
			k.InvalidateAll(r)
		}
	}
}

// knownKind reports whether kind is one the core names; a known kind no
// cache of this process holds needs no invalidation.
func knownKind(kind string) bool {
	switch kind {
	case ChangeToken, ChangeInstance, ChangeProject, ChangeAccessKey:
		return true
	}
	return false
}

// changedBy maps an audited change to the cached reads it may make stale.
// Its resource names the thing changed last ("instance/ID/token/ID" is a
// token); things no cache holds map to none. Deleting an instance deletes
// its node tokens too, whose IDs the change does not carry: every token.
func changedBy(action, resource string) []Change {
	parts := strings.Split(resource, "/")
	if len(parts) < 2 {
		return []Change{{}}
	}
	kind, key := parts[len(parts)-2], parts[len(parts)-1]
	switch kind {
	case "instance":
		if action == "instance.delete" {
			return []Change{{ChangeInstance, key}, {Kind: ChangeToken}}
		}
		return []Change{{ChangeInstance, key}}
	case "token":
		return []Change{{ChangeToken, key}}
	case "accesskey":
		return []Change{{ChangeAccessKey, key}}
	case "account": // cached by project ID, which the resource does not carry
		return []Change{{Kind: ChangeProject}}
	case "certificate", "session", "credential", "webhook":
		return nil // issued or uploaded certificates, sessions, credentials, webhooks: never cached
	}
	return []Change{{}}
}

// changed drops the cached reads an audited change may have made stale.
func (s *Service) changed(action, resource string) {
	for _, ch := range changedBy(action, resource) {
		s.cache.invalidate(ch, readcache.Change)
	}
}

// InvalidateCache drops every cached read.
func (s *Service) InvalidateCache() { s.cache.invalidate(Change{}, readcache.Unknown) }

// WatchStore keeps the cache coherent with changes made by other processes,
// when the store can report them, until ctx is done. Without such a store the
// cache's TTL bounds how stale a read can be.
func (s *Service) WatchStore(ctx context.Context) error {
	w, ok := s.store.(ChangeWatcher)
	if !ok || !s.cache.enabled() {
		return nil
	}
	return w.WatchChanges(ctx, func(ch Change) {
		r := readcache.Notice
		if ch.Kind == "" {
			r = readcache.Unknown
		}
		s.cache.invalidate(ch, r)
	})
}

// CacheStats are the counters of one kind of cached read.
type CacheStats struct {
	Kind string // a Change kind: token, instance, project, accesskey
	readcache.Stats
}

// InvalidationReasons name the reasons CacheStats.Invalidations is indexed by.
var InvalidationReasons = []string{readcache.Change.String(), readcache.Notice.String(), readcache.Unknown.String()}

// CacheStats returns the counters of every kind of cached read, for the
// metrics; none when the cache is off.
func (s *Service) CacheStats() []CacheStats {
	if !s.cache.enabled() {
		return nil
	}
	s.cache.mu.RLock()
	defer s.cache.mu.RUnlock()
	var out []CacheStats
	for kind, k := range s.cache.kinds {
		out = append(out, CacheStats{Kind: kind, Stats: k.Stats()})
	}
	return out
}

func (s *Service) getToken(ctx context.Context, id string) (Token, error) {
	if !s.cache.enabled() {
		return s.store.GetToken(ctx, id)
	}
	t, gen, ok := s.cache.tokens.Get(id)
	if ok {
		return t, nil
	}
	t, err := s.store.GetToken(ctx, id)
	if err == nil {
		s.cache.tokens.Put(id, t, gen)
	}
	return t, err
}

// listCAs returns the CAs of the account's instance. They are cached by
// instance ID (the key change notices carry); an entry answers only its own
// account. Empty lists are never cached, so a CA inserted for a new
// instance can make no entry stale (the change log skips such inserts).
func (s *Service) listCAs(ctx context.Context, accountID, instanceID string) (caEntry, error) {
	if !s.cache.enabled() {
		cas, err := s.store.ListCAs(ctx, accountID, instanceID)
		return newCAEntry(cas), err
	}
	e, gen, ok := s.cache.cas.Get(instanceID)
	if ok && e.accountID == accountID {
		return e, nil
	}
	cas, err := s.store.ListCAs(ctx, accountID, instanceID)
	if err != nil {
		return caEntry{}, err
	}
	e = newCAEntry(cas)
	if len(cas) > 0 {
		s.cache.cas.Put(instanceID, e, gen)
	}
	return e, nil
}

// Cache is a read cache of a capability service beside the core, held and
// dropped with the core's own: bounded like it, its entries live at most
// Options.CacheTTL, and a change or change notice of its kind drops the key
// it names. It is safe for concurrent use.
type Cache[K ~string, V any] struct {
	c *readcache.Cache[V]
}

// NewCache returns an empty Cache that s drops entries of when a change of
// kind (a Change kind: ChangeAccessKey, ChangeProject) names their key.
func NewCache[K ~string, V any](s *Service, kind string) *Cache[K, V] {
	if !s.cache.enabled() {
		return &Cache[K, V]{}
	}
	c := &Cache[K, V]{c: readcache.New[V](s.cache.size, s.cache.ttl, s.cache.now)}
	s.cache.mu.Lock()
	s.cache.kinds[kind] = c.c
	s.cache.mu.Unlock()
	return c
}

// Get returns the cached value of k, or calls load and keeps what it returns
// when it succeeds (unless a change of k came in meanwhile).
func (c *Cache[K, V]) Get(ctx context.Context, k K, load func(context.Context, K) (V, error)) (V, error) {
	if c.c == nil {
		return load(ctx, k)
	}
	v, gen, ok := c.c.Get(string(k))
	if ok {
		return v, nil
	}
	v, err := load(ctx, k)
	if err == nil {
		c.c.Put(string(k), v, gen)
	}
	return v, err
}
