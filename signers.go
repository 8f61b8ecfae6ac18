package dbtrust

import (
	"bytes"
	"container/list"
	"crypto/x509"
	"sync"
)

// signerCacheSize bounds how many opened CA keys a Service keeps: one per
// instance that issues often, the least recently used dropped first.
const signerCacheSize = 1024

// signerCache keeps opened CA keys (parsed certificate and crypto.Signer) so
// that issuance and CRLs do not unseal and parse the key on every request.
// An entry is keyed by CA ID and holds the sealed bytes it was opened from:
// a key re-sealed under a new KEK no longer matches and is opened again.
// Rotation steps and instance deletion drop the instance's entries. The
// keys live in this process's memory only: never written, never logged.
type signerCache struct {
	max int

	mu sync.Mutex
	ll *list.List // of *openedCA, most recently used first
	m  map[string]*list.Element
}

// openedCA is a CA's certificate and key, opened from sealed.
type openedCA struct {
	caID, instanceID string
	sealed           []byte
	cert             *x509.Certificate
	key              signerKey
}

func newSignerCache(max int) *signerCache {
	return &signerCache{max: max, ll: list.New(), m: map[string]*list.Element{}}
}

// get returns ca's opened key when it was opened from the same sealed bytes.
func (c *signerCache) get(ca CA) (*openedCA, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[ca.ID]
	if !ok {
		return nil, false
	}
	o := el.Value.(*openedCA)
	if !bytes.Equal(o.sealed, ca.SealedKey) {
		c.removeLocked(el)
		return nil, false
	}
	c.ll.MoveToFront(el)
	return o, true
}

// put keeps o, dropping the least recently used entry when full.
func (c *signerCache) put(o *openedCA) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.m[o.caID]; ok {
		c.removeLocked(el)
	}
	c.m[o.caID] = c.ll.PushFront(o)
	for c.ll.Len() > c.max {
		c.removeLocked(c.ll.Back())
	}
}

// dropInstance forgets every opened key of the instance's CAs.
func (c *signerCache) dropInstance(instanceID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for el := c.ll.Front(); el != nil; {
		next := el.Next()
		if el.Value.(*openedCA).instanceID == instanceID {
			c.removeLocked(el)
		}
		el = next
	}
}

func (c *signerCache) removeLocked(el *list.Element) {
	c.ll.Remove(el)
	delete(c.m, el.Value.(*openedCA).caID)
}

// len returns the number of opened keys held.
func (c *signerCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
