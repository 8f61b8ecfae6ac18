package dbtrust

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/dbtrust/dbtrust/internal/pki"
)

// MaxImport bounds how many instances one ImportInstances call creates:
// one transaction's worth, which keeps a request's memory and the time the
// store's write lock is held small. A bigger fleet is imported in batches.
const MaxImport = 1000

// ImportConflict is what a store's CreateInstances wraps in its Conflict
// error when an instance of the batch is taken (its name in its account, or
// its ID): Index is the instance's position in the batch.
type ImportConflict struct{ Index int }

func (c *ImportConflict) Error() string {
	return fmt.Sprintf("instance %d of the batch already exists", c.Index)
}

// NewInstance is an instance with its first CA, as ImportInstances hands
// them to the store.
type NewInstance struct {
	Instance Instance
	CA       CA
}

// ImportInstances creates many instances at once, each exactly as
// CreateInstance would (same validation, defaults and first CA), for bulk
// onboarding. The CAs' keys are made on every core; the instances, their
// CAs and one instance.create audit event per instance are written in one
// transaction. It is all or nothing: a bad spec or a name (or ID) already
// taken fails the whole call, naming the item (items[i], counted from 0),
// and writes nothing. At most MaxImport specs per call.
func (s *Service) ImportInstances(ctx context.Context, p Principal, specs []InstanceSpec) ([]Instance, error) {
	if err := Require(p, RoleMember); err != nil {
		return nil, err
	}
	if len(specs) == 0 {
		return nil, FieldError("instances", "the import is empty: give at least one instance")
	}
	if len(specs) > MaxImport {
		return nil, Errorf(TooLarge, "%d instances in one import; at most %d: split the list into batches of %d", len(specs), MaxImport, MaxImport)
	}
	insts, kts, err := s.prepareImport(p, specs)
	if err != nil {
		return nil, err
	}
	batch, err := s.newCAs(ctx, insts, kts)
	if err != nil {
		return nil, err
	}
	events := make([]AuditEvent, len(batch))
	for i, n := range batch {
		events[i] = s.auditEvent(p, "instance.create", "instance/"+n.Instance.ID)
	}
	// New instances with their first CAs: no cached read can be stale (the
	// cache never holds an instance without CAs), so nothing is dropped.
	err = s.store.CreateInstances(ctx, batch, events)
	if err != nil {
		return nil, importTaken(err, specs, insts)
	}
	return insts, nil
}

// prepareImport validates every spec (prepareInstance), and refuses names
// or IDs given twice in the list.
func (s *Service) prepareImport(p Principal, specs []InstanceSpec) ([]Instance, []pki.KeyType, error) {
	insts := make([]Instance, len(specs))
	kts := make([]pki.KeyType, len(specs))
	names := make(map[string]int, len(specs))
	ids := make(map[string]int, len(specs))
	for i, spec := range specs {
		inst, kt, err := s.prepareInstance(p, spec)
		if err != nil {
			return nil, nil, itemError(i, spec.Name, err)
		}
		if j, dup := names[inst.Name]; dup {
			return nil, nil, itemError(i, spec.Name, Errorf(Conflict, "the name %q is given twice in the import (items[%d] too): names are unique in an account", inst.Name, j))
		}
		if j, dup := ids[inst.ID]; dup {
			return nil, nil, itemError(i, spec.Name, Errorf(Conflict, "the ID %s is given twice in the import (items[%d] too)", inst.ID, j))
		}
		names[inst.Name], ids[inst.ID] = i, i
		insts[i], kts[i] = inst, kt
	}
	return insts, kts, nil
}

// newCAs makes the first CA of every instance (newCA), spread over the
// cores: key generation and self-signing are nearly all of an import's CPU.
func (s *Service) newCAs(ctx context.Context, insts []Instance, kts []pki.KeyType) ([]NewInstance, error) {
	out := make([]NewInstance, len(insts))
	errs := make([]error, len(insts))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(insts)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(insts) && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				ca, err := s.newCA(insts[i], kts[i], CACurrent)
				out[i], errs[i] = NewInstance{Instance: insts[i], CA: ca}, err
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, Wrap(Unavailable, err, "the import was cancelled or timed out")
	}
	for i, err := range errs {
		if err != nil {
			return nil, itemError(i, insts[i].Name, err)
		}
	}
	return out, nil
}

// itemError names the item of an import that err is about, keeping its
// code: "items[3] (name "db-3"): name must be ...". A field error names
// the item's field (items[3].name).
func itemError(i int, name string, err error) error {
	what := fmt.Sprintf("items[%d]", i)
	if name != "" {
		what += fmt.Sprintf(" (name %q)", name)
	}
	field := ""
	if f := ErrorField(err); f != "" {
		field = fmt.Sprintf("items[%d].%s", i, f)
	}
	return &Error{Code: ErrorCode(err), Message: what + ": " + ErrorMessage(err), Field: field, Err: err}
}

// importTaken rewords the store's Conflict, which names the first taken
// instance by its index in the batch (ImportConflict), as CreateInstance
// words it, naming the item.
func importTaken(err error, specs []InstanceSpec, insts []Instance) error {
	var c *ImportConflict
	if !errors.As(err, &c) || c.Index < 0 || c.Index >= len(insts) {
		return Taken(err, "an instance of the import already exists (by name or ID): nothing was imported")
	}
	return itemError(c.Index, insts[c.Index].Name, Taken(err, "%s; nothing was imported", instanceTaken(specs[c.Index], insts[c.Index])))
}
