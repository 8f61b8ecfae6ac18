package dbtrust

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"
)

// The audit log is a hash chain. Every event carries its position (Seq) and
// the hash of the event before it (PrevHash); its own Hash is the SHA-256 of
// a canonical encoding of every field but ID and Hash. Editing, deleting,
// inserting or reordering an event breaks the chain at that event, which
// VerifyAudit names. The store appends each event in the transaction of the
// change it records, taking the chain's head in that transaction, so that
// the chain has one order however many replicas write.

// auditHashVersion starts every encoded event, so that a later encoding can
// be told apart.
const auditHashVersion = "dbtrust-audit-v1"

// AuditHash returns the hex SHA-256 of e's canonical encoding: each field,
// in a fixed order, as a big-endian 8-byte length followed by its bytes;
// Time as Unix microseconds in decimal (the precision stores keep).
func AuditHash(e AuditEvent) string {
	h := sha256.New()
	var n [8]byte
	for _, f := range []string{
		auditHashVersion,
		strconv.FormatInt(e.Seq, 10),
		e.PrevHash,
		strconv.FormatInt(e.Time.UnixMicro(), 10),
		e.AccountID, e.Actor, e.Action, e.Resource, e.Outcome,
		strconv.FormatInt(e.Count, 10),
		e.Source,
	} {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ChainAudit makes e the event after (prevSeq, prevHash): it sets Seq,
// PrevHash and Hash. Stores call it with the head they hold locked.
func ChainAudit(e AuditEvent, prevSeq int64, prevHash string) AuditEvent {
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	if e.Count == 0 {
		e.Count = 1
	}
	e.Seq, e.PrevHash = prevSeq+1, prevHash
	e.Hash = AuditHash(e)
	return e
}

type auditCtxKey struct{}

// pendingAudit is the event a write must record, and whether it did.
type pendingAudit struct {
	e        AuditEvent
	recorded atomic.Bool
}

// WithAudit returns a context under which a Store write records e in its
// own transaction: the change and its event are committed together, or
// neither is (see Store).
func WithAudit(ctx context.Context, e AuditEvent) context.Context {
	return context.WithValue(ctx, auditCtxKey{}, &pendingAudit{e: e})
}

// PendingAudit returns the event a write under ctx must record, if any.
func PendingAudit(ctx context.Context) (AuditEvent, bool) {
	p, ok := ctx.Value(auditCtxKey{}).(*pendingAudit)
	if !ok {
		return AuditEvent{}, false
	}
	return p.e, true
}

// MarkAuditRecorded tells the Service that the write under ctx appended its
// event (stores call it inside the transaction, before committing).
func MarkAuditRecorded(ctx context.Context) {
	if p, ok := ctx.Value(auditCtxKey{}).(*pendingAudit); ok {
		p.recorded.Store(true)
	}
}

func auditRecorded(ctx context.Context) bool {
	p, ok := ctx.Value(auditCtxKey{}).(*pendingAudit)
	return ok && p.recorded.Load()
}

// Audited returns the context for a store write in which p does action on
// resource, and the function to call with the write's result: the store
// appends the event in the write's transaction (WithAudit), and done drops
// the cached reads of resource and returns err. Every change of the core, and of the
// capability services beside it, passes through it:
//
//	actx, done := core.Audited(ctx, p, "accesskey.create", "accesskey/"+k.ID)
//	err = done(store.CreateAccessKey(actx, k))
func (s *Service) Audited(ctx context.Context, p Principal, action, resource string) (context.Context, func(error) error) {
	ctx = WithAudit(ctx, s.auditEvent(p, action, resource))
	return ctx, func(err error) error {
		s.changed(action, resource)
		if err == nil && !auditRecorded(ctx) {
			// A store that does not honour WithAudit: the change is made,
			// its event is not. Say so loudly; it is a bug.
			s.log.Error("a change was committed without its audit event", "action", action, "resource", resource)
		}
		return err
	}
}

// auditEvent describes a change p makes.
func (s *Service) auditEvent(p Principal, action, resource string) AuditEvent {
	return AuditEvent{Time: s.now(), AccountID: p.AccountID, Actor: p.Subject, Action: action, Resource: resource, Outcome: "ok", Count: 1}
}

// AuditFilter selects audit events. Empty fields select everything; Since is
// inclusive, Until exclusive. BeforeID pages: the next page of a listing
// starts before the ID of the last event of the previous one.
type AuditFilter struct {
	AccountID string
	Actor     string
	Action    string
	Resource  string
	Since     time.Time
	Until     time.Time
	BeforeID  int64
	Limit     int // default DefaultAuditLimit, at most MaxAuditLimit
}

// How many audit events one read returns: DefaultAuditLimit when the caller
// does not say, at most MaxAuditLimit.
const (
	DefaultAuditLimit = 100
	MaxAuditLimit     = 1000
)

// ParseAuditLimit reads an audit limit as a client writes it: "" is
// DefaultAuditLimit; anything else must be a number from 1 to MaxAuditLimit
// (Invalid otherwise), the rule Audit applies.
func ParseAuditLimit(s string) (int, error) {
	if s == "" {
		return DefaultAuditLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		n = -1
	}
	return n, checkAuditLimit(n)
}

func checkAuditLimit(n int) error {
	if n < 1 || n > MaxAuditLimit {
		return FieldError("limit", "limit must be a number from 1 to %d", MaxAuditLimit)
	}
	return nil
}

func (f AuditFilter) normalized() AuditFilter {
	if f.Limit <= 0 {
		f.Limit = DefaultAuditLimit
	}
	f.Limit = min(f.Limit, MaxAuditLimit)
	return f
}

// Audit returns the audit events of p's account that match f, newest first
// (admins only; f.AccountID is p's account whatever it says).
func (s *Service) Audit(ctx context.Context, p Principal, f AuditFilter) ([]AuditEvent, error) {
	if err := Require(p, RoleAdmin); err != nil {
		return nil, err
	}
	f.AccountID = p.AccountID
	return s.store.ListAudit(ctx, f.normalized())
}

// ListAuditEvents returns the events of every account (or of f.AccountID)
// that match f, newest first. Only the operator (CLI) calls it.
func (s *Service) ListAuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, error) {
	return s.store.ListAudit(ctx, f.normalized())
}

// AuditReport is the outcome of VerifyAudit.
type AuditReport struct {
	Events   int64  // chained events checked
	HeadSeq  int64  // the chain's last position, as the head records it
	HeadHash string // the chain's last hash: record it elsewhere to anchor the chain
	// Broken names the first event that does not verify; nil when the
	// whole chain does.
	Broken *AuditBreak
}

// AuditBreak is where a chain stops verifying.
type AuditBreak struct {
	Seq    int64  // the position of the first bad (or missing) event
	ID     int64  // its row ID; 0 when it is missing
	Reason string // what is wrong, in plain words
}

// VerifyAudit walks the whole audit chain in order and checks every link:
// positions without gaps, each PrevHash equal to the hash before it, each
// Hash equal to AuditHash of the event's contents, and the last event equal
// to the head. Only the operator (CLI) calls it.
func (s *Service) VerifyAudit(ctx context.Context) (AuditReport, error) {
	headSeq, headHash, err := s.store.AuditHead(ctx)
	if err != nil {
		return AuditReport{}, err
	}
	r := AuditReport{HeadSeq: headSeq, HeadHash: headHash}
	var prevSeq int64
	var prevHash string
	for {
		page, err := s.store.AuditChain(ctx, prevSeq, MaxAuditLimit)
		if err != nil {
			return r, err
		}
		for _, e := range page {
			if b := checkLink(e, prevSeq, prevHash); b != nil {
				r.Broken = b
				return r, nil
			}
			prevSeq, prevHash = e.Seq, e.Hash
			r.Events++
		}
		if len(page) < MaxAuditLimit {
			break
		}
	}
	switch {
	case prevSeq < headSeq:
		r.Broken = &AuditBreak{Seq: prevSeq + 1, Reason: fmt.Sprintf("events %d to %d are missing: the chain ends at %d but its head records %d", prevSeq+1, headSeq, prevSeq, headSeq)}
	case prevSeq > headSeq || prevHash != headHash:
		r.Broken = &AuditBreak{Seq: prevSeq, Reason: "the last event does not match the chain's head: it was added or changed outside dbtrust"}
	}
	return r, nil
}

// checkLink checks that e follows (prevSeq, prevHash) and that its hash
// covers its contents.
func checkLink(e AuditEvent, prevSeq int64, prevHash string) *AuditBreak {
	switch {
	case e.Seq != prevSeq+1:
		return &AuditBreak{Seq: prevSeq + 1, Reason: fmt.Sprintf("event %d is missing: event %d (id %d) follows event %d", prevSeq+1, e.Seq, e.ID, prevSeq)}
	case e.PrevHash != prevHash:
		return &AuditBreak{Seq: e.Seq, ID: e.ID, Reason: fmt.Sprintf("event %d (id %d) does not follow event %d: its predecessor hash differs (one of the two was altered, or an event was put in between)", e.Seq, e.ID, prevSeq)}
	case AuditHash(e) != e.Hash:
		return &AuditBreak{Seq: e.Seq, ID: e.ID, Reason: fmt.Sprintf("event %d (id %d) was altered: its contents do not match its hash", e.Seq, e.ID)}
	}
	return nil
}

// AuditChainPage returns at most limit chained events after position
// afterSeq, in chain order, of every account: the operator's export.
func (s *Service) AuditChainPage(ctx context.Context, afterSeq int64, limit int) ([]AuditEvent, error) {
	return s.store.AuditChain(ctx, afterSeq, min(max(limit, 1), MaxAuditLimit))
}
