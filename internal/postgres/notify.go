package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/jackc/pgx/v5"
)

// ChangeChannel is the channel on which the triggers of migration 00014
// announce each committed change to a cached table, the payload naming it
// as "kind:key".
const ChangeChannel = "dbtrust_changes"

// WatchChanges reports what any replica (or the CLI, or a store copy)
// commits to the cached tables, until ctx is done; it makes the Service's
// read cache safe across replicas (dbtrust.ChangeWatcher). It LISTENs on its
// own connection, outside the pool. When that connection breaks it reports
// Change{} (notices may have been missed), reconnects with backoff, and
// reports Change{} again once it listens, so that a replica cut off from the
// database never keeps reads from before the cut.
func (s *Store) WatchChanges(ctx context.Context, onChange func(dbtrust.Change)) error {
	backoff := 100 * time.Millisecond
	for {
		listening, _ := s.listen(ctx, onChange)
		if ctx.Err() != nil {
			return nil
		}
		onChange(dbtrust.Change{})
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
func (s *Store) listen(ctx context.Context, onChange func(dbtrust.Change)) (listening bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, s.Pool.Config().ConnConfig.Copy())
	if err != nil {
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+ChangeChannel); err != nil {
		return false, err
	}
	onChange(dbtrust.Change{}) // whatever committed before the LISTEN took hold
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		onChange(parseNotice(n.Payload))
	}
}

// parseNotice reads a "kind:key" payload; any other (TRUNCATE's empty one,
// or a table name from a server older than migration 00014) says anything
// may have changed.
func parseNotice(payload string) dbtrust.Change {
	kind, key, ok := strings.Cut(payload, ":")
	if !ok || kind == "" || key == "" {
		return dbtrust.Change{}
	}
	return dbtrust.Change{Kind: kind, Key: key}
}
