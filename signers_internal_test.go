package dbtrust

import (
	"strconv"
	"testing"
)

// The signer cache holds at most its bound, drops the least recently used
// key first, misses a key re-sealed under other bytes (KEK rotation), and
// drops an instance's keys on request.
func TestSignerCacheBounds(t *testing.T) {
	c := newSignerCache(3)
	ca := func(i int) CA {
		return CA{ID: "ca-" + strconv.Itoa(i), InstanceID: "inst-" + strconv.Itoa(i%2), SealedKey: []byte("sealed-" + strconv.Itoa(i))}
	}
	for i := range 3 {
		c.put(&openedCA{caID: ca(i).ID, instanceID: ca(i).InstanceID, sealed: ca(i).SealedKey})
	}
	if _, ok := c.get(ca(0)); !ok { // ca-0 is now the most recently used
		t.Fatal("get(ca-0) missed, want a hit")
	}
	c.put(&openedCA{caID: ca(3).ID, instanceID: ca(3).InstanceID, sealed: ca(3).SealedKey})
	if n := c.len(); n != 3 {
		t.Fatalf("len = %d after four puts into a cache of three, want 3", n)
	}
	if _, ok := c.get(ca(1)); ok {
		t.Error("get(ca-1), the least recently used, hit; want it dropped")
	}
	resealed := ca(0)
	resealed.SealedKey = []byte("sealed-0 under a new KEK")
	if _, ok := c.get(resealed); ok {
		t.Error("get(ca-0 re-sealed) hit the key opened from the old sealed bytes")
	}
	c.dropInstance("inst-0") // ca-2 (ca-0 went with the re-seal)
	if _, ok := c.get(ca(2)); ok {
		t.Error("get(ca-2) hit after its instance's keys were dropped")
	}
	if _, ok := c.get(ca(3)); !ok {
		t.Error("get(ca-3) missed: dropping inst-0 dropped another instance's key")
	}
}
