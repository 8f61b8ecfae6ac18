package dbtrust

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Adoption is what one principal last received when it fetched an
// instance's CA bundle, through any dialect: the SHA-256 fingerprints of the
// CAs in that bundle, and when.
type Adoption struct {
	AccountID    string
	InstanceID   string
	Subject      string   // Principal.Subject; a presigned link's requester
	Name         string   // Principal.Name at the time of the fetch, when it had one
	Via          string   // "link" when fetched through a presigned link, else ""
	Fingerprints []string // of the CAs in the bundle, in bundle order
	FetchedAt    time.Time
	Fetches      int64 // how many fetches this record counts (added up on each flush)
}

// adoptions aggregates bundle fetches in memory, so that a CA fetch costs a
// map update rather than a write. Service.FlushAdoptions writes them in one
// transaction; serve flushes every few seconds and on shutdown. A process
// that crashes loses the fetches made since its last flush: a client then
// shows its previous fetch (or is unknown) until it fetches again.
//
// A fetch is a map lookup and, for a client that fetched the same bundle
// before (the steady state), an update of two fields in place: the mutex is
// held for tens of nanoseconds, short enough that one lock for the process
// does not make CA fetches wait on each other.
type adoptions struct {
	mu      sync.Mutex
	pending map[[2]string]*Adoption // by instance ID and subject
	// rotating holds the instances among pending whose bundle held a next
	// CA: only their fetches can complete an adoption (adoptionEvents).
	rotating map[string]bool
}

// note records that p received the CAs with fingerprints fps of the
// instance at time at; withNext says the bundle held a next CA.
func (a *adoptions) note(p Principal, instanceID string, fps []string, at time.Time, withNext bool) {
	if p.Subject == "" || len(fps) == 0 {
		return
	}
	k := [2]string{instanceID, p.Subject}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pending == nil {
		a.pending, a.rotating = map[[2]string]*Adoption{}, map[string]bool{}
	}
	if withNext {
		a.rotating[instanceID] = true
	}
	prev := a.pending[k]
	if prev != nil && prev.AccountID == p.AccountID && prev.Name == p.Name && prev.Via == p.Via && sameStrings(prev.Fingerprints, fps) {
		prev.FetchedAt = at
		prev.Fetches++
		return
	}
	ad := &Adoption{AccountID: p.AccountID, InstanceID: k[0], Subject: p.Subject, Name: p.Name, Via: p.Via,
		Fingerprints: fps, FetchedAt: at, Fetches: 1}
	if prev != nil {
		ad.Fetches += prev.Fetches
	}
	a.pending[k] = ad
}

// sameStrings reports whether a and b hold the same strings; the slices of
// one cached bundle are the same slice, found at once.
func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) > 0 && &a[0] == &b[0] {
		return true
	}
	return slices.Equal(a, b)
}

// take empties the buffer and returns what it held, with the instances
// whose bundle held a next CA.
func (a *adoptions) take() ([]Adoption, map[string]bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Adoption, 0, len(a.pending))
	for _, ad := range a.pending {
		out = append(out, *ad)
	}
	rotating := a.rotating
	a.pending, a.rotating = nil, nil
	return out, rotating
}

// putBack returns records that could not be written, keeping any newer fetch
// made meanwhile and adding up the counts.
func (a *adoptions) putBack(list []Adoption, rotating map[string]bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pending == nil {
		a.pending, a.rotating = map[[2]string]*Adoption{}, map[string]bool{}
	}
	for id := range rotating {
		a.rotating[id] = true
	}
	for _, ad := range list {
		k := [2]string{ad.InstanceID, ad.Subject}
		if cur, ok := a.pending[k]; ok {
			cur.Fetches += ad.Fetches
		} else {
			a.pending[k] = &ad
		}
	}
}

// unflushed returns the buffered records of one instance.
func (a *adoptions) unflushed(instanceID string) []Adoption {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Adoption
	for k, ad := range a.pending {
		if k[0] == instanceID {
			out = append(out, *ad)
		}
	}
	return out
}

// noteBundle records that p received the bundle of e's instance.
func (s *Service) noteBundle(p Principal, e caEntry) {
	if len(e.cas) > 0 {
		s.adopt.note(p, e.cas[0].InstanceID, e.fingerprints, s.now(), hasNext(e.cas))
	}
}

// NoteCAsRead records that p received the given served CAs of its
// instances (as Astra's certificate reads hand them out one by one or as a
// list): per instance, as that principal's latest fetch, in bundle order.
func (s *Service) NoteCAsRead(p Principal, cas []CA) {
	by := map[string][]CA{}
	for _, ca := range cas {
		by[ca.InstanceID] = append(by[ca.InstanceID], ca)
	}
	for id, list := range by {
		s.adopt.note(p, id, newCAEntry(list).fingerprints, s.now(), hasNext(list))
	}
}

// hasNext reports whether cas hold a next CA: a rotation is started.
func hasNext(cas []CA) bool {
	return slices.ContainsFunc(cas, func(ca CA) bool { return ca.State == CANext })
}

// FlushAdoptions writes the bundle fetches aggregated since the last flush,
// in one transaction. On failure they are kept for the next flush.
func (s *Service) FlushAdoptions(ctx context.Context) error {
	list, rotating := s.adopt.take()
	if len(list) == 0 {
		return nil
	}
	if err := s.store.RecordAdoptions(ctx, list); err != nil {
		s.adopt.putBack(list, rotating)
		return err
	}
	// Only a fetch of a bundle that held a next CA can complete an
	// adoption: the others are not looked at again, so that a flush costs
	// no read per instance fetched.
	var started []Adoption
	for _, ad := range list {
		if rotating[ad.InstanceID] {
			started = append(started, ad)
		}
	}
	return s.adoptionEvents(ctx, started)
}

// RotationStage is where an instance stands in its CA rotation.
type RotationStage string

const (
	StageStable   RotationStage = "stable"   // one current CA, nothing in flight
	StageStarted  RotationStage = "started"  // a next CA is served beside current
	StageFinished RotationStage = "finished" // the new CA is current, the old one still served as previous
)

// Client is one principal that fetched an instance's bundle, as the rotation
// status shows it.
type Client struct {
	Adoption
	Kind      string // "token", "agent" (a node token), "accesskey", "operator" or "other"
	HoldsNext bool   // its last bundle held the rotation's new CA
}

// RotationStatus is an instance's rotation stage and which of its clients
// hold the rotation's new CA: the next CA while a rotation is started, the
// current one otherwise.
type RotationStatus struct {
	InstanceID string
	Stage      RotationStage
	CAs        map[CAState]CA // the served CAs
	NewCA      CA             // the CA clients must hold before the rotation can finish
	Clients    []Client       // most recent fetch first
	Holding    int
	Lacking    int
}

// RotationStatus returns the instance's rotation stage and its clients'
// adoption of the new CA (admins only: it names tokens and access keys).
func (s *Service) RotationStatus(ctx context.Context, p Principal, instanceID string) (RotationStatus, error) {
	by, err := s.casByState(ctx, p, instanceID)
	if err != nil {
		return RotationStatus{}, err
	}
	stored, err := s.store.ListAdoptions(ctx, p.AccountID, instanceID)
	if err != nil {
		return RotationStatus{}, err
	}
	names, err := s.principalNames(ctx, p.AccountID)
	if err != nil {
		return RotationStatus{}, err
	}
	return rotationStatus(instanceID, by, mergeAdoptions(stored, s.adopt.unflushed(instanceID)), names), nil
}

func rotationStatus(instanceID string, by map[CAState]CA, list []Adoption, names map[string]principalName) RotationStatus {
	st := RotationStatus{InstanceID: instanceID, Stage: StageStable, CAs: by, NewCA: by[CACurrent]}
	if next, ok := by[CANext]; ok {
		st.Stage, st.NewCA = StageStarted, next
	} else if _, ok := by[CAPrevious]; ok {
		st.Stage = StageFinished
	}
	for _, ad := range list {
		c := Client{Adoption: ad, HoldsNext: slices.Contains(ad.Fingerprints, st.NewCA.Fingerprint)}
		c.Kind = subjectKind(ad.Subject)
		if n, ok := names[ad.Subject]; ok {
			c.Name, c.Kind = n.name, n.kind
		}
		if c.HoldsNext {
			st.Holding++
		} else {
			st.Lacking++
		}
		st.Clients = append(st.Clients, c)
	}
	sort.Slice(st.Clients, func(i, j int) bool {
		a, b := st.Clients[i], st.Clients[j]
		if !a.FetchedAt.Equal(b.FetchedAt) {
			return a.FetchedAt.After(b.FetchedAt)
		}
		return a.Subject < b.Subject
	})
	return st
}

// mergeAdoptions overlays the unflushed records on the stored ones: the
// newer fetch wins, and the counts add up.
func mergeAdoptions(stored, pending []Adoption) []Adoption {
	by := map[string]int{}
	out := slices.Clone(stored)
	for i, ad := range out {
		by[ad.Subject] = i
	}
	for _, ad := range pending {
		i, ok := by[ad.Subject]
		if !ok {
			out = append(out, ad)
			continue
		}
		n := out[i].Fetches + ad.Fetches
		if ad.FetchedAt.After(out[i].FetchedAt) {
			out[i] = ad
		}
		out[i].Fetches = n
	}
	return out
}

type principalName struct{ name, kind string }

// principalNames names the account's tokens by subject, as they stand now
// (a presigned link's fetch carries only its requester's subject).
func (s *Service) principalNames(ctx context.Context, accountID string) (map[string]principalName, error) {
	toks, err := s.store.ListTokens(ctx, accountID)
	if err != nil {
		return nil, err
	}
	out := map[string]principalName{}
	for _, t := range toks {
		kind := "token"
		if t.InstanceID != "" {
			kind = "agent"
		}
		out["token:"+t.ID] = principalName{t.Name, kind}
	}
	return out, nil
}

func subjectKind(subject string) string {
	kind, _, _ := strings.Cut(subject, ":")
	switch kind {
	case "token", "accesskey", "operator":
		return kind
	}
	return "other"
}

// AdoptionCount is, for one instance, its rotation stage and how many of its
// known clients hold the new CA (see RotationStatus).
type AdoptionCount struct {
	AccountID, InstanceID string
	Stage                 RotationStage
	Holding, Lacking      int
}

// AdoptionCounts returns the adoption counts of every instance in a
// rotation (started or finished) of every account, from the store (what
// every replica has flushed), for metrics. Stable instances are left out:
// there is nothing for their clients to adopt, and a series each would grow
// with the fleet.
func (s *Service) AdoptionCounts(ctx context.Context) ([]AdoptionCount, error) {
	cas, err := s.store.ListRotatingCAs(ctx)
	if err != nil {
		return nil, err
	}
	states := map[string]map[CAState]CA{}
	var order []CA // the first CA of each instance, for its account and ID
	for _, ca := range cas {
		if states[ca.InstanceID] == nil {
			states[ca.InstanceID] = map[CAState]CA{}
			order = append(order, ca)
		}
		states[ca.InstanceID][ca.State] = ca
	}
	out := make([]AdoptionCount, 0, len(order))
	for _, ca := range order {
		list, err := s.store.ListAdoptions(ctx, ca.AccountID, ca.InstanceID)
		if err != nil {
			return nil, err
		}
		st := rotationStatus(ca.InstanceID, states[ca.InstanceID], list, nil)
		out = append(out, AdoptionCount{AccountID: ca.AccountID, InstanceID: ca.InstanceID, Stage: st.Stage, Holding: st.Holding, Lacking: st.Lacking})
	}
	return out, nil
}
