package dbtrust

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dbtrust/dbtrust/internal/pki"
)

// Staged CA rotation. An instance's CAs move through these states:
//
//	start:    a new CA is created as next.         bundle: current, next, previous
//	finish:   previous -> retired (if any),
//	          current -> previous, next -> current. bundle: current (new), previous (old)
//	rollback: current -> next, previous -> current. bundle: current (old), next (new)
//	retire:   previous -> retired.                  bundle: current (+ next)
//
// Rollback undoes a finish: the instance is back where it was between start
// and finish, so a second finish promotes the same new CA again. A CA that
// the finish retired stays retired (retirement is final). Every step is one
// conditional store transaction, so two callers (or two replicas) racing on
// the same step change the states once; the other gets Conflict.

// casByState returns the instance's served CAs by state (admins only).
func (s *Service) casByState(ctx context.Context, p Principal, instanceID string) (map[CAState]CA, error) {
	if err := Require(p, RoleAdmin); err != nil {
		return nil, err
	}
	e, err := s.instanceCAs(ctx, p, instanceID)
	if err != nil {
		return nil, err
	}
	by := map[CAState]CA{}
	for _, ca := range e.cas {
		if ca.State != CARetired {
			by[ca.State] = ca
		}
	}
	return by, nil
}

// RotateStart creates the instance's next CA (admins only), of keyType or,
// when it is empty, of the current CA's key type. From now on the bundle
// holds current and next: clients that fetch it trust both.
func (s *Service) RotateStart(ctx context.Context, p Principal, instanceID, keyType string) ([]CA, error) {
	by, err := s.casByState(ctx, p, instanceID)
	if err != nil {
		return nil, err
	}
	if next, ok := by[CANext]; ok {
		return nil, Errorf(Conflict, "a rotation is already in progress (next CA %s): finish it first", next.ID)
	}
	if keyType == "" {
		keyType = by[CACurrent].KeyType
	}
	kt, err := pki.ParseKeyType(keyType)
	if err != nil {
		return nil, FieldError("key_type", "%s", err.Error())
	}
	inst, err := s.store.GetInstance(ctx, p.AccountID, instanceID)
	if err != nil {
		return nil, err
	}
	ca, err := s.newCA(inst, kt, CANext)
	if err != nil {
		return nil, err
	}
	resource := "instance/" + instanceID + "/ca/" + ca.ID
	err = s.store.AddCA(ctx, ca, s.changeEvent(p, "rotation.start", resource,
		s.rotationEvent(p, instanceID, "start", StageStarted, ca.ID)))
	if ErrorCode(err) == Conflict {
		err = Errorf(Conflict, "a rotation is already in progress: finish it first")
	}
	s.afterChange(ctx, p, "rotation.start", resource, err)
	if err != nil {
		return nil, err
	}
	return s.store.ListCAs(ctx, p.AccountID, instanceID)
}

// RotateFinish promotes the next CA to current (admins only); the current CA
// becomes previous and stays in the bundle; an older previous CA is retired.
// New certificates are signed by the new current CA from now on.
//
// It returns, as a warning, the known clients whose last bundle lacked the
// next CA (see RotationStatus). Unless force is set it refuses (Conflict)
// while any agent of the instance (a node token) has not installed the next
// CA, as the agent's node would then serve a certificate its peers cannot
// verify, or fail to verify the new one.
func (s *Service) RotateFinish(ctx context.Context, p Principal, instanceID string, force bool) ([]CA, []Client, error) {
	st, err := s.RotationStatus(ctx, p, instanceID)
	if err != nil {
		return nil, nil, err
	}
	if st.Stage != StageStarted {
		return nil, nil, Errorf(Conflict, "no rotation in progress: run rotate start first")
	}
	var lacking, agents []Client
	for _, c := range st.Clients {
		if !c.HoldsNext {
			lacking = append(lacking, c)
			if c.Kind == "agent" {
				agents = append(agents, c)
			}
		}
	}
	if len(agents) > 0 && !force {
		return nil, lacking, Errorf(Conflict, "%d agent(s) of the instance have not installed the next CA yet (%s): wait for them to fetch the bundle, or finish with force", len(agents), clientNames(agents))
	}
	cas, err := s.moveCAs(ctx, p, instanceID, "rotation.finish", []CAMove{
		{From: CAPrevious, To: CARetired, Optional: true},
		{From: CACurrent, To: CAPrevious},
		{From: CANext, To: CACurrent},
	})
	return cas, lacking, err
}

// clientNames lists clients by name (or subject) for a message, at most five.
func clientNames(cs []Client) string {
	var names []string
	for i, c := range cs {
		if i == 5 {
			names = append(names, fmt.Sprintf("and %d more", len(cs)-5))
			break
		}
		n := c.Subject
		if c.Name != "" {
			n = c.Name + " (" + c.Subject + ")"
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}

// RotateRollback undoes a finish (admins only): the previous CA is current
// again and the current one goes back to next, still in the bundle.
func (s *Service) RotateRollback(ctx context.Context, p Principal, instanceID string) ([]CA, error) {
	by, err := s.casByState(ctx, p, instanceID)
	if err != nil {
		return nil, err
	}
	if _, ok := by[CANext]; ok {
		return nil, Errorf(Conflict, "a rotation is in progress and not finished: there is no finish to roll back")
	}
	if _, ok := by[CAPrevious]; !ok {
		return nil, Errorf(Conflict, "there is no previous CA to roll back to (it was retired, or no rotation has finished)")
	}
	return s.moveCAs(ctx, p, instanceID, "rotation.rollback", []CAMove{
		{From: CACurrent, To: CANext},
		{From: CAPrevious, To: CACurrent},
	})
}

// RotateRetire drops the previous CA from the bundle (admins only). Unless
// force is set it refuses while certificates issued by that CA are still
// unexpired and unrevoked: their clients would stop verifying them.
func (s *Service) RotateRetire(ctx context.Context, p Principal, instanceID string, force bool) ([]CA, error) {
	by, err := s.casByState(ctx, p, instanceID)
	if err != nil {
		return nil, err
	}
	prev, ok := by[CAPrevious]
	if !ok {
		return nil, Errorf(Conflict, "there is no previous CA to retire")
	}
	if !force {
		no := false
		live, err := s.store.ListIssuedCerts(ctx, p.AccountID, CertFilter{CAID: prev.ID, Revoked: &no})
		if err != nil {
			return nil, err
		}
		now := s.now()
		n := 0
		for _, c := range live {
			if c.NotAfter.After(now) {
				n++
			}
		}
		if n > 0 {
			return nil, Errorf(Conflict, "the previous CA still has %d unexpired, unrevoked certificate(s): re-issue them from the current CA (or revoke them), or retire with force", n)
		}
	}
	return s.moveCAs(ctx, p, instanceID, "rotation.retire", []CAMove{{From: CAPrevious, To: CARetired}})
}

// stageAfter is the stage a rotation step leaves the instance in.
var stageAfter = map[string]RotationStage{"finish": StageFinished, "rollback": StageStarted, "retire": StageStable}

// moveCAs applies a rotation step's moves, with its audit event and its
// rotation.stage_changed event in the same transaction.
func (s *Service) moveCAs(ctx context.Context, p Principal, instanceID, action string, moves []CAMove) ([]CA, error) {
	step := strings.TrimPrefix(action, "rotation.")
	resource := "instance/" + instanceID
	err := s.store.MoveCAs(ctx, p.AccountID, instanceID, moves, s.changeEvent(p, action, resource,
		s.rotationEvent(p, instanceID, step, stageAfter[step], "")))
	if ErrorCode(err) == Conflict {
		err = Wrap(Conflict, err, "the instance's CAs changed meanwhile (a concurrent rotation step?): look at them and try again")
	}
	s.afterChange(ctx, p, action, resource, err)
	if err != nil {
		return nil, err
	}
	// The CAs changed state: the opened keys of the instance go, so that
	// the next certificate is signed by the key of the new current CA.
	if id, err := parseID(instanceID); err == nil {
		s.signers.dropInstance(id)
	}
	return s.store.ListCAs(ctx, p.AccountID, instanceID)
}

// ---- automatic rotation ----

// RotationPolicySpec is what a caller sets as an instance's policy.
type RotationPolicySpec struct {
	Enabled     bool
	StartBefore time.Duration // start when the current CA expires within this; default 90 days
	FinishAfter time.Duration // finish this long after the start; default 7 days
	RetireAfter time.Duration // retire the previous CA this long after the finish; default 7 days
	KeyType     string        // "" keeps the current CA's key type
}

// DefaultRotationPolicy is the policy of an instance that has none: disabled,
// with the default timings that SetRotationPolicy also fills in for each
// timing left zero.
func DefaultRotationPolicy(accountID, instanceID string) RotationPolicy {
	return RotationPolicy{InstanceID: instanceID, AccountID: accountID,
		StartBefore: 90 * 24 * time.Hour, FinishAfter: 7 * 24 * time.Hour, RetireAfter: 7 * 24 * time.Hour}
}

// SetRotationPolicy sets the instance's automatic rotation policy (admins only).
func (s *Service) SetRotationPolicy(ctx context.Context, p Principal, instanceID string, spec RotationPolicySpec) (RotationPolicy, error) {
	if err := Require(p, RoleAdmin); err != nil {
		return RotationPolicy{}, err
	}
	instanceID, err := parseID(instanceID)
	if err != nil {
		return RotationPolicy{}, err
	}
	dp := DefaultRotationPolicy(p.AccountID, instanceID)
	def := func(d *time.Duration, v time.Duration, field string) error {
		if *d == 0 {
			*d = v
		}
		if *d < time.Minute {
			return FieldError(field, "%s must be at least one minute", field)
		}
		return nil
	}
	for _, f := range []struct {
		d     *time.Duration
		v     time.Duration
		field string
	}{{&spec.StartBefore, dp.StartBefore, "start_before"}, {&spec.FinishAfter, dp.FinishAfter, "finish_after"}, {&spec.RetireAfter, dp.RetireAfter, "retire_after"}} {
		if err := def(f.d, f.v, f.field); err != nil {
			return RotationPolicy{}, err
		}
	}
	if spec.StartBefore >= s.opt.CAValidity {
		return RotationPolicy{}, FieldError("start_before", "start_before must be shorter than the lifetime of a new CA (%s), or every new CA would start the next rotation at once", s.opt.CAValidity)
	}
	if spec.KeyType != "" {
		if _, err := pki.ParseKeyType(spec.KeyType); err != nil {
			return RotationPolicy{}, FieldError("key_type", "%s", err.Error())
		}
	}
	pol := RotationPolicy{InstanceID: instanceID, AccountID: p.AccountID, Enabled: spec.Enabled, StartBefore: spec.StartBefore,
		FinishAfter: spec.FinishAfter, RetireAfter: spec.RetireAfter, KeyType: spec.KeyType, UpdatedAt: s.now()}
	actx, done := s.Audited(ctx, p, "rotation.policy", "instance/"+instanceID)
	err = done(s.store.PutRotationPolicy(actx, pol))
	if err != nil {
		return RotationPolicy{}, err
	}
	return pol, nil
}

// GetRotationPolicy returns the instance's policy; an instance without one
// has a disabled policy with the defaults.
func (s *Service) GetRotationPolicy(ctx context.Context, p Principal, instanceID string) (RotationPolicy, error) {
	if err := Require(p, RoleViewer); err != nil {
		return RotationPolicy{}, err
	}
	instanceID, err := parseID(instanceID)
	if err != nil {
		return RotationPolicy{}, err
	}
	pol, err := s.store.GetRotationPolicy(ctx, p.AccountID, instanceID)
	if ErrorCode(err) == NotFound {
		if _, err := s.store.GetInstance(ctx, p.AccountID, instanceID); err != nil {
			return RotationPolicy{}, err
		}
		return DefaultRotationPolicy(p.AccountID, instanceID), nil
	}
	return pol, err
}

// AutoRotation is one step AutoRotate took.
type AutoRotation struct {
	InstanceID string
	Step       string // "start", "finish" or "retire"
}

// AutoRotate takes, for every enabled policy, the rotation step that is due:
// start when the current CA expires within StartBefore (and the previous
// rotation is over: no next, no previous CA), finish FinishAfter
// after the next CA was created, retire the previous CA RetireAfter after
// the finish (measured as FinishAfter+RetireAfter from the current CA's
// creation) and only once no live certificate depends on it. It is safe to
// run on several replicas at once: each step is conditional in the store,
// and a step another replica took first is skipped.
func (s *Service) AutoRotate(ctx context.Context) ([]AutoRotation, error) {
	now := s.now()
	pols, err := s.store.DueRotationPolicies(ctx, now)
	if err != nil {
		return nil, err
	}
	var done []AutoRotation
	for _, pol := range pols {
		p := Principal{AccountID: pol.AccountID, Role: RoleOwner, Subject: "system:auto-rotation"}
		cas, err := s.store.ListCAs(ctx, pol.AccountID, pol.InstanceID)
		if err != nil {
			return done, err
		}
		by := map[CAState]CA{}
		for _, ca := range cas {
			if ca.State != CARetired {
				by[ca.State] = ca
			}
		}
		cur, hasCur := by[CACurrent]
		next, hasNext := by[CANext]
		_, hasPrev := by[CAPrevious]
		var step string
		switch {
		case !hasCur:
			continue
		case hasNext && !now.Before(next.CreatedAt.Add(pol.FinishAfter)):
			step, err = "finish", ignore2(s.RotateFinish(ctx, p, pol.InstanceID, false))
		case !hasNext && !hasPrev && cur.NotAfter.Sub(now) <= pol.StartBefore:
			step, err = "start", ignore(s.RotateStart(ctx, p, pol.InstanceID, pol.KeyType))
		case hasPrev && !now.Before(cur.CreatedAt.Add(pol.FinishAfter+pol.RetireAfter)):
			step, err = "retire", ignore(s.RotateRetire(ctx, p, pol.InstanceID, false))
		default:
			continue
		}
		switch ErrorCode(err) {
		case "":
			done = append(done, AutoRotation{InstanceID: pol.InstanceID, Step: step})
			s.log.Info("automatic rotation", "instance", pol.InstanceID, "step", step)
		case Conflict, NotFound: // another replica went first, a certificate still depends on the CA, or the instance is gone
			s.log.Debug("automatic rotation skipped", "instance", pol.InstanceID, "step", step, "err", err)
		default:
			return done, fmt.Errorf("automatic rotation of %s (%s): %w", pol.InstanceID, step, err)
		}
	}
	return done, nil
}

func ignore[T any](_ T, err error) error { return err }

func ignore2[T, U any](_ T, _ U, err error) error { return err }
