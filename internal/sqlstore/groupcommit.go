package sqlstore

import (
	"context"
	"database/sql"
	"runtime"
	"sync/atomic"

	"github.com/dbtrust/dbtrust"
)

// Group commit of issued certificates. Concurrent InsertIssuedCert calls
// queue their rows; one committer goroutine per store writes what is queued
// in one transaction (one commit, one sync) and then answers each caller
// with its own result. Nobody is answered before the commit that holds its
// row. A row refused on its own (its CA or instance is gone) is answered
// with its error and left out; a row that breaks the batch's transaction
// (a constraint the checks could not foresee) makes every row of the batch
// go again, each in a transaction of its own, so that only it fails. The
// batch takes the audit chain's head once and chains its events in queue
// order, so that the chain keeps one order whatever the number of writers.

const (
	// maxBatch bounds the rows of one transaction.
	maxBatch = 64
	// issueQueue bounds the rows waiting for the committer; a caller that
	// finds it full waits for room (bounded by its context).
	issueQueue = 256
)

// issueJob is one queued InsertIssuedCert.
type issueJob struct {
	ctx  context.Context
	c    dbtrust.IssuedCertificate
	e    dbtrust.AuditEvent
	done chan error // buffered: the committer never blocks on a caller
}

// committer is a store's group-commit queue and the goroutine that drains it.
type committer struct {
	q       chan *issueJob
	stop    chan struct{} // closed by Close
	stopped chan struct{} // closed when the goroutine has returned
}

func newCommitter() *committer {
	return &committer{q: make(chan *issueJob, issueQueue), stop: make(chan struct{}), stopped: make(chan struct{})}
}

func (s *DB) InsertIssuedCert(ctx context.Context, c dbtrust.IssuedCertificate, e dbtrust.AuditEvent) error {
	s.startCommitter.Do(func() { go s.commitLoop() })
	j := &issueJob{ctx: ctx, c: c, e: e, done: make(chan error, 1)}
	select {
	case s.gc.q <- j:
	case <-s.gc.stopped:
		return dbtrust.Errorf(dbtrust.Unavailable, "the store is closed")
	case <-ctx.Done():
		return s.mapErr(ctx.Err())
	}
	select {
	case err := <-j.done:
		return err
	case <-s.gc.stopped:
		select { // answered just before the committer returned?
		case err := <-j.done:
			return err
		default:
			return dbtrust.Errorf(dbtrust.Unavailable, "the store is closed")
		}
	case <-ctx.Done():
		// Not answered: the certificate is not handed out, whether or not
		// the committer still writes it.
		return s.mapErr(ctx.Err())
	}
}

// commitLoop writes queued rows batch by batch until Close, then writes
// what is still queued and returns.
func (s *DB) commitLoop() {
	defer close(s.gc.stopped)
	for {
		var first *issueJob
		select {
		case first = <-s.gc.q:
		case <-s.gc.stop:
			for {
				select {
				case j := <-s.gc.q:
					s.writeBatch([]*issueJob{j})
				default:
					return
				}
			}
		}
		gather(s.gc.q)
		batch := []*issueJob{first}
	fill:
		for len(batch) < maxBatch {
			select {
			case j := <-s.gc.q:
				batch = append(batch, j)
			default:
				break fill
			}
		}
		s.writeBatch(batch)
	}
}

// gather lets the goroutines that are about to queue a row do so before a
// batch is taken: it yields the processor for as long as the queue grows
// (a few times at most). Without it, on a busy core the committer takes
// each row alone as soon as it is queued, ahead of the requests that would
// have joined it.
func gather(q chan *issueJob) {
	for range 8 {
		n := len(q)
		runtime.Gosched()
		if len(q) == n {
			return
		}
	}
}

// writeBatch writes the rows of batch whose callers still wait, and answers
// each caller.
func (s *DB) writeBatch(batch []*issueJob) {
	live := batch[:0]
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.done <- s.mapErr(err)
			continue
		}
		live = append(live, j)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := batchContext(live)
	defer cancel()
	if s.pipelines(live) && s.writePipelined(ctx, live) == nil {
		for _, j := range live {
			j.done <- nil
		}
		return
	}
	refused := map[*issueJob]error{}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		clear(refused)
		return s.insertCerts(ctx, tx, live, refused)
	})
	switch {
	case err == nil:
		for _, j := range live {
			j.done <- refused[j]
		}
	case len(live) == 1:
		live[0].done <- err
	default:
		for _, j := range live {
			j.done <- s.insertIssuedCert(j.ctx, j.c, j.e)
		}
	}
}

// pipelines reports whether jobs go through the pipelined path: the
// backend has one, and no job publishes webhook events (which that path
// does not write).
func (s *DB) pipelines(jobs []*issueJob) bool {
	if s.be.Pipeline == nil {
		return false
	}
	for _, j := range jobs {
		if len(j.e.Events) > 0 {
			return false
		}
	}
	return true
}

// batchContext is the context of a batch's transaction: done once every
// caller in it has given up (so that one caller's cancellation does not
// undo the others' rows).
func batchContext(jobs []*issueJob) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	left := int64(len(jobs))
	stops := make([]func() bool, 0, len(jobs))
	for _, j := range jobs {
		stops = append(stops, context.AfterFunc(j.ctx, func() {
			if atomic.AddInt64(&left, -1) == 0 {
				cancel()
			}
		}))
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}

// insertCerts writes the jobs' certificates and their audit events in tx.
// A job whose CA does not belong to its instance and account (any more) is
// refused (NotFound) and left out.
func (s *DB) insertCerts(ctx context.Context, tx *sql.Tx, jobs []*issueJob, refused map[*issueJob]error) error {
	known := map[[3]string]bool{}
	certs := make([]dbtrust.IssuedCertificate, 0, len(jobs))
	events := make([]dbtrust.AuditEvent, 0, len(jobs))
	for _, j := range jobs {
		k := [3]string{j.c.CAID, j.c.InstanceID, j.c.AccountID}
		ok, checked := known[k]
		if !checked {
			var err error
			if ok, err = s.caOf(ctx, tx, j.c); err != nil {
				return err
			}
			known[k] = ok
		}
		if !ok {
			refused[j] = dbtrust.Errorf(dbtrust.NotFound, "no such CA")
			continue
		}
		certs, events = append(certs, j.c), append(events, j.e)
	}
	if err := s.insertCertRows(ctx, tx, certs); err != nil {
		return err
	}
	return s.insertAudits(ctx, tx, events)
}

// insertIssuedCert records one certificate and its event in a transaction
// of its own.
func (s *DB) insertIssuedCert(ctx context.Context, c dbtrust.IssuedCertificate, e dbtrust.AuditEvent) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if ok, err := s.caOf(ctx, tx, c); err != nil {
			return err
		} else if !ok {
			return dbtrust.Errorf(dbtrust.NotFound, "no such CA")
		}
		if err := s.insertCertRows(ctx, tx, []dbtrust.IssuedCertificate{c}); err != nil {
			return err
		}
		return s.insertAudit(ctx, tx, e)
	})
}

// stopCommitter makes the committer write what is queued and return, and
// waits for it (Close).
func (s *DB) stopCommitter() {
	started := true
	s.startCommitter.Do(func() { started = false })
	select {
	case <-s.gc.stop:
	default:
		close(s.gc.stop)
	}
	if !started {
		close(s.gc.stopped)
		return
	}
	<-s.gc.stopped
}
