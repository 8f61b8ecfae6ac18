package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// ChangeChannel is the channel on which the triggers of migration 00005
// announce every committed change.
const ChangeChannel = "dbtrust_changes"

// WatchChanges calls onChange after any replica (or the CLI, or a store copy)
// commits a change, until ctx is done; it makes the Service's read cache safe
// across replicas (dbtrust.ChangeWatcher). It LISTENs on its own connection,
// outside the pool. When that connection breaks it calls onChange (notices may
// have been missed), reconnects with backoff, and calls onChange again once it
// listens, so that a replica cut off from the database never keeps reads from
// before the cut.
func (s *Store) WatchChanges(ctx context.Context, onChange func()) error {
	backoff := 100 * time.Millisecond
	for {
		listening, _ := s.listen(ctx, onChange)
		if ctx.Err() != nil {
			return nil
		}
		onChange()
		if listening {
			backoff = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// listen holds one LISTEN connection until it breaks or ctx is done;
// listening reports whether it got as far as listening.
func (s *Store) listen(ctx context.Context, onChange func()) (listening bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, s.Pool.Config().ConnConfig.Copy())
	if err != nil {
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+ChangeChannel); err != nil {
		return false, err
	}
	onChange() // whatever committed before the LISTEN took hold
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true, err
		}
		onChange()
	}
}
