package astra

import (
	"sync"
	"time"
)

// renderCache keeps list items' JSON by record ID and revision. A
// credential's rendering depends on its stored fields alone (no clock, no
// key store), and every change to them takes a new revision, so an entry
// found for the revision read is right on any replica, for as long as it
// is kept.
type renderCache struct {
	mu sync.Mutex
	m  map[string]rendered
}

type rendered struct {
	rev  int64
	body []byte
}

// renderCacheMax bounds the entries (some 400 bytes each); when full the
// cache starts over, which costs one rendering per item listed again.
const renderCacheMax = 1 << 15

// get returns the JSON of record id at revision rev, made by render when
// not kept. The bytes are shared: callers must not change them.
func (c *renderCache) get(id string, rev int64, render func() ([]byte, error)) ([]byte, error) {
	if body, ok := c.lookup(id, rev); ok {
		return body, nil
	}
	body, err := render()
	if err != nil {
		return nil, err
	}
	c.put(id, rev, body)
	return body, nil
}

// lookup returns the JSON kept for record id at revision rev.
func (c *renderCache) lookup(id string, rev int64) ([]byte, bool) {
	c.mu.Lock()
	r, ok := c.m[id]
	c.mu.Unlock()
	return r.body, ok && r.rev == rev
}

func (c *renderCache) put(id string, rev int64, body []byte) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= renderCacheMax {
		c.m = make(map[string]rendered)
	}
	c.m[id] = rendered{rev: rev, body: body}
	c.mu.Unlock()
}

// pageCache keeps whole list answers by account and query string, with the
// version of the account's credentials they were made at
// (credential.Service.Version). While the version stays, the same query
// gets the same answer: the store changes the version in every write to
// the account's credentials, on any replica, and an answer depends on
// nothing else (the principal's account, not its subject, seals continue
// tokens). A kept answer also lives at most pageTTL, so that the continue
// tokens in it are never much older than ones sealed anew.
type pageCache struct {
	mu sync.Mutex
	m  map[string]keptPage
}

type keptPage struct {
	version int64
	body    []byte
	etag    string
	made    time.Time
}

const (
	pageCacheMax = 128
	pageMaxBody  = 128 << 10 // larger answers (whole lists) are not kept
	pageTTL      = 10 * time.Second
)

func (c *pageCache) lookup(key string, version int64, now time.Time) (keptPage, bool) {
	c.mu.Lock()
	p, ok := c.m[key]
	c.mu.Unlock()
	return p, ok && p.version == version && now.Sub(p.made) < pageTTL
}

func (c *pageCache) put(key string, p keptPage) {
	if len(p.body) > pageMaxBody {
		return
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= pageCacheMax {
		c.m = make(map[string]keptPage)
	}
	c.m[key] = p
	c.mu.Unlock()
}
