package astra

import "sync"

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
