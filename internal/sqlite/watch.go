package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/dbtrust/dbtrust"
)

// WatchInterval is how often WatchChanges looks for other processes' commits.
const WatchInterval = 100 * time.Millisecond

// changeLogLimit is how many logged changes one poll reads; a watcher
// further behind drops everything instead.
const changeLogLimit = 1000

// WatchChanges reports what other connections or processes (the CLI, say)
// commit to the cached tables, until ctx is done. It polls SQLite's
// data_version, which changes exactly when another connection commits, and
// then reads the change log (migration 00014) past the last row it saw,
// reporting each row's key. It reports Change{} (anything may have changed)
// once its first poll is done, since a commit made before the watch began
// has no data_version change left to notice, and whenever it cannot tell
// what changed: the log was pruned past its last row, or could not be read.
// Commits to tables no cache reads log nothing, and so report nothing.
func (s *Store) WatchChanges(ctx context.Context, onChange func(dbtrust.Change)) error {
	conn, err := s.SQL().Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	log := changeLog{conn: conn, last: -1}
	var version int64 = -1
	t := time.NewTicker(WatchInterval)
	defer t.Stop()
	for {
		var v int64
		if err := conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if v != version { // version is -1 on the first poll
			log.report(ctx, onChange)
		}
		version = v
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// changeLog reads the change log on the watcher's connection.
type changeLog struct {
	conn *sql.Conn
	last int64 // the sequence of the last row reported; -1 before the first read
}

// report calls onChange for every row logged since the last report, or
// once with Change{} when it cannot know what changed.
func (l *changeLog) report(ctx context.Context, onChange func(dbtrust.Change)) {
	if l.last < 0 {
		l.last = l.newest(ctx)
		onChange(dbtrust.Change{})
		return
	}
	changes, last, err := l.since(ctx)
	switch {
	case err != nil:
		l.last = -1 // start again from the newest row at the next commit
		onChange(dbtrust.Change{})
	case len(changes) == changeLogLimit || len(changes) > 0 && last-int64(len(changes)) != l.last:
		// Too far behind, or rows after l.last were pruned (the sequence
		// has no gaps of its own: AUTOINCREMENT, one writer at a time).
		l.last = l.newest(ctx)
		onChange(dbtrust.Change{})
	default:
		for _, ch := range changes {
			onChange(ch)
		}
		if len(changes) > 0 {
			l.last = last
		}
	}
}

// newest returns the sequence of the newest row, or -1 when the log cannot
// be read (a database not yet migrated to 00014: every commit then reports
// Change{}).
func (l *changeLog) newest(ctx context.Context) int64 {
	var seq int64
	if err := l.conn.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM change_log`).Scan(&seq); err != nil {
		return -1
	}
	return seq
}

// since returns the changes logged after l.last, oldest first, and the
// sequence of the newest of them.
func (l *changeLog) since(ctx context.Context) ([]dbtrust.Change, int64, error) {
	rows, err := l.conn.QueryContext(ctx, `SELECT seq, kind, key FROM change_log WHERE seq > $1 ORDER BY seq LIMIT $2`, l.last, changeLogLimit)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []dbtrust.Change
	var seq int64
	for rows.Next() {
		var ch dbtrust.Change
		if err := rows.Scan(&seq, &ch.Kind, &ch.Key); err != nil {
			return nil, 0, err
		}
		out = append(out, ch)
	}
	return out, seq, rows.Err()
}
