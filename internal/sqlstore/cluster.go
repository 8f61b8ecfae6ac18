package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/clustersettings"
)

// ---- cluster settings ----

const clusterSettingsCols = `instance_id, account_id, maintenance_day, maintenance_hour, autoscale_enabled, autoscale_threshold, autoscale_increment, firewall_rules`

// firewallRow is one stored firewall rule; created_at in Unix microseconds.
type firewallRow struct {
	UUID      string `json:"uuid"`
	Type      string `json:"type"`
	Value     string `json:"value"`
	CreatedAt int64  `json:"created_at"`
}

func scanClusterSettings(sc interface{ Scan(...any) error }) (clustersettings.Stored, error) {
	var st clustersettings.Stored
	var day, hour, rules sql.NullString
	var enabled sql.NullBool
	var threshold, increment sql.NullInt64
	if err := sc.Scan(&st.InstanceID, &st.AccountID, &day, &hour, &enabled, &threshold, &increment, &rules); err != nil {
		return st, err
	}
	if day.Valid && hour.Valid {
		st.Maintenance = &clustersettings.MaintenanceWindow{Day: day.String, Hour: hour.String}
	}
	if enabled.Valid {
		st.Autoscale = &clustersettings.StorageAutoscale{Enabled: enabled.Bool, ThresholdPercent: int(threshold.Int64), IncrementGiB: int(increment.Int64)}
	}
	if rules.Valid {
		var rows []firewallRow
		if err := json.Unmarshal([]byte(rules.String), &rows); err != nil {
			return st, fmt.Errorf("firewall_rules: %w", err)
		}
		st.Firewall = make([]clustersettings.FirewallRule, 0, len(rows))
		for _, r := range rows {
			st.Firewall = append(st.Firewall, clustersettings.FirewallRule{UUID: r.UUID, Type: r.Type, Value: r.Value, CreatedAt: fromUS(r.CreatedAt)})
		}
	}
	return st, nil
}

func (s *DB) ListClusterSettings(ctx context.Context, accountID string) ([]clustersettings.Stored, error) {
	return queryAll(ctx, s, scanClusterSettings, `SELECT `+clusterSettingsCols+` FROM cluster_settings WHERE account_id = $1`, accountID)
}

// setClause is one part of an UPDATE: columns with $1.. placeholders, and their values.
type setClause struct {
	sql  string
	args []any
}

// PutClusterSettings upserts the row and then sets each part given, in one
// transaction, so that two callers setting different parts both keep theirs.
func (s *DB) PutClusterSettings(ctx context.Context, st clustersettings.Stored) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM instances WHERE id = $1 AND account_id = $2`, st.InstanceID, st.AccountID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return dbtrust.Errorf(dbtrust.NotFound, "no such instance")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO cluster_settings (instance_id, account_id) VALUES ($1, $2) ON CONFLICT (instance_id) DO NOTHING`, st.InstanceID, st.AccountID); err != nil {
			return err
		}
		var sets []setClause
		if m := st.Maintenance; m != nil {
			sets = append(sets, setClause{`maintenance_day = $1, maintenance_hour = $2`, []any{m.Day, m.Hour}})
		}
		if a := st.Autoscale; a != nil {
			sets = append(sets, setClause{`autoscale_enabled = $1, autoscale_threshold = $2, autoscale_increment = $3`, []any{a.Enabled, a.ThresholdPercent, a.IncrementGiB}})
		}
		if st.Firewall != nil {
			rows := make([]firewallRow, 0, len(st.Firewall))
			for _, r := range st.Firewall {
				rows = append(rows, firewallRow{UUID: r.UUID, Type: r.Type, Value: r.Value, CreatedAt: us(r.CreatedAt)})
			}
			sets = append(sets, setClause{`firewall_rules = $1`, []any{jsonText(rows)}})
		}
		for _, set := range sets {
			args := append(set.args, st.InstanceID)
			q := fmt.Sprintf(`UPDATE cluster_settings SET %s WHERE instance_id = $%d`, set.sql, len(args))
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
		return nil
	})
}
