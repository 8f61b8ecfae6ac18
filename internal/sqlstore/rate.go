package sqlstore

import (
	"context"
	"database/sql"
	"time"
)

// ReserveRate takes up to want of key's budget limit in the window that
// starts at window, for ratelimit.Shared: every replica over one database
// counts one budget. It locks the window's row (the first UPDATE), so that
// racing replicas take their shares one after the other, and when it makes
// a new window it drops those that start before expireBefore.
func (s *DB) ReserveRate(ctx context.Context, key string, window, expireBefore time.Time, want, limit int) (got, used int, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO rate_windows (key, window_start, used) VALUES ($1, $2, 0)
			ON CONFLICT (key, window_start) DO NOTHING`, key, us(window))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			if _, err := tx.ExecContext(ctx, `DELETE FROM rate_windows WHERE window_start < $1`, us(expireBefore)); err != nil {
				return err
			}
		}
		if err := tx.QueryRowContext(ctx, `UPDATE rate_windows SET used = used WHERE key = $1 AND window_start = $2 RETURNING used`,
			key, us(window)).Scan(&used); err != nil {
			return err
		}
		got = max(0, min(want, limit-used))
		if got == 0 {
			return nil
		}
		used += got
		_, err = tx.ExecContext(ctx, `UPDATE rate_windows SET used = $1 WHERE key = $2 AND window_start = $3`, used, key, us(window))
		return err
	})
	return got, used, err
}
