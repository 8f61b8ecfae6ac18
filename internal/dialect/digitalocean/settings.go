package digitalocean

import (
	"net/http"
	"slices"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/clustersettings"
	"github.com/dbtrust/dbtrust/internal/httpx"
)

// The sub-resources that doctl, the Terraform provider and pydo read or write
// around a cluster. Maintenance window, storage autoscale and firewall rules
// are stored (the clustersettings capability) and read back; none of them changes
// who may reach dbtrust. Users, databases and pools are not managed by a
// trust service: they are answered with the one user and database the
// cluster's connection names, and no pools; writes to them are refused with a
// 422 that says so.

const clusterID = "database_cluster_uuid"

// decode reads a JSON request body within the dialect's size limit.
func (a api) decode(w http.ResponseWriter, r *http.Request, v any) error {
	return httpx.DecodeJSON(w, r, v, httpx.DecodeOptions{Limit: a.cfg.MaxBody})
}

type maintenanceWindow struct {
	Day         string   `json:"day"`
	Hour        string   `json:"hour"`
	Pending     bool     `json:"pending"`
	Description []string `json:"description"`
}

func (a api) putMaintenance(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	var req struct {
		Day  *string `json:"day"`
		Hour *string `json:"hour"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	if req.Day == nil || req.Hour == nil {
		return dbtrust.FieldError("day", "day and hour are required, such as {\"day\":\"tuesday\",\"hour\":\"14:00\"}")
	}
	if err := a.settings.SetMaintenanceWindow(r.Context(), p, r.PathValue(clusterID), clustersettings.MaintenanceWindow{Day: *req.Day, Hour: *req.Hour}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// storageAutoscale is godo's DatabaseStorageAutoscale and the spec's
// database_storage_autoscale_params: threshold and increment only when set.
type storageAutoscale struct {
	Enabled          *bool `json:"enabled"`
	ThresholdPercent *int  `json:"threshold_percent,omitempty"`
	IncrementGiB     *int  `json:"increment_gib,omitempty"`
}

func wireAutoscale(s clustersettings.StorageAutoscale) storageAutoscale {
	out := storageAutoscale{Enabled: &s.Enabled}
	if s.ThresholdPercent != 0 {
		out.ThresholdPercent = &s.ThresholdPercent
	}
	if s.IncrementGiB != 0 {
		out.IncrementGiB = &s.IncrementGiB
	}
	return out
}

func (a api) getAutoscale(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	st, err := a.clusterSettings(r, p)
	if err != nil {
		return err
	}
	type autoscale struct {
		Storage storageAutoscale `json:"storage"`
	}
	httpx.WriteJSON(w, http.StatusOK, contentType, map[string]autoscale{"autoscale": {Storage: wireAutoscale(st.Autoscale)}})
	return nil
}

func (a api) putAutoscale(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	var req struct {
		Storage *storageAutoscale `json:"storage"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	if req.Storage == nil || req.Storage.Enabled == nil {
		return dbtrust.FieldError("storage", "storage.enabled is required, such as {\"storage\":{\"enabled\":true,\"threshold_percent\":80,\"increment_gib\":10}}")
	}
	s := clustersettings.StorageAutoscale{Enabled: *req.Storage.Enabled}
	if v := req.Storage.ThresholdPercent; v != nil {
		if *v == 0 {
			return dbtrust.FieldError("threshold_percent", "threshold_percent must be between 15 and 95")
		}
		s.ThresholdPercent = *v
	}
	if v := req.Storage.IncrementGiB; v != nil {
		if *v == 0 {
			return dbtrust.FieldError("increment_gib", "increment_gib must be between 10 and 500")
		}
		s.IncrementGiB = *v
	}
	if err := a.settings.SetStorageAutoscale(r.Context(), p, r.PathValue(clusterID), s); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// firewallRule is the spec's firewall_rule. On PUT, cluster_uuid and
// created_at are read-only and ignored, as godo sends them back unchanged.
type firewallRule struct {
	UUID        string `json:"uuid"`
	ClusterUUID string `json:"cluster_uuid"`
	Type        string `json:"type"`
	Value       string `json:"value"`
	CreatedAt   string `json:"created_at"`
}

func wireRules(instanceID string, rules []clustersettings.FirewallRule) []firewallRule {
	out := make([]firewallRule, 0, len(rules))
	for _, f := range rules {
		out = append(out, firewallRule{UUID: f.UUID, ClusterUUID: instanceID, Type: f.Type, Value: f.Value, CreatedAt: f.CreatedAt.UTC().Format(time.RFC3339)})
	}
	return out
}

func (a api) getFirewall(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	st, err := a.clusterSettings(r, p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, contentType, map[string][]firewallRule{"rules": wireRules(st.InstanceID, st.Firewall)})
	return nil
}

func (a api) putFirewall(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	var req struct {
		Rules *[]struct {
			UUID  string  `json:"uuid"`
			Type  *string `json:"type"`
			Value *string `json:"value"`
		} `json:"rules"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	if req.Rules == nil {
		return dbtrust.FieldError("rules", "rules is required: the whole list of rules, [] for none")
	}
	rules := make([]clustersettings.FirewallRule, 0, len(*req.Rules))
	for _, rr := range *req.Rules {
		if rr.Type == nil || rr.Value == nil {
			return dbtrust.FieldError("rules", "every rule needs a type and a value")
		}
		rules = append(rules, clustersettings.FirewallRule{UUID: rr.UUID, Type: *rr.Type, Value: *rr.Value})
	}
	if _, err := a.settings.SetFirewallRules(r.Context(), p, r.PathValue(clusterID), rules); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// doSettings is the spec's do_settings: the cluster's custom DNS names, which
// are subject alternative names of its certificates (see clustersettings).
type doSettings struct {
	ServiceCnames []string `json:"service_cnames"`
}

func (a api) getDOSettings(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	inst, err := a.svc.GetInstance(r.Context(), p, r.PathValue(clusterID))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, contentType, map[string]doSettings{"do_settings": {ServiceCnames: clustersettings.ServiceNames(inst)}})
	return nil
}

// putDOSettings sets the custom DNS names; a missing or empty list clears them.
func (a api) putDOSettings(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	var req struct {
		DOSettings *doSettings `json:"do_settings"`
	}
	if err := a.decode(w, r, &req); err != nil {
		return err
	}
	if req.DOSettings == nil {
		return dbtrust.FieldError("do_settings", "do_settings is required, such as {\"do_settings\":{\"service_cnames\":[\"db.example.com\"]}}")
	}
	if _, err := a.settings.SetServiceNames(r.Context(), p, r.PathValue(clusterID), req.DOSettings.ServiceCnames); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// clusterSettings reads the cluster of the request's path and its settings.
func (a api) clusterSettings(r *http.Request, p dbtrust.Principal) (clustersettings.Settings, error) {
	inst, err := a.svc.GetInstance(r.Context(), p, r.PathValue(clusterID))
	if err != nil {
		return clustersettings.Settings{}, err
	}
	st, err := a.settings.Get(r.Context(), p, inst)
	if err != nil {
		return clustersettings.Settings{}, err
	}
	return st[0], nil
}

// ---- users, databases, pools: what the cluster's connection names ----

type user struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

func (a api) listUsers(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	inst, err := a.svc.GetInstance(r.Context(), p, r.PathValue(clusterID))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, contentType, map[string][]user{"users": clusterUsers(inst)})
	return nil
}

func (a api) getUser(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	inst, err := a.svc.GetInstance(r.Context(), p, r.PathValue(clusterID))
	if err != nil {
		return err
	}
	for _, u := range clusterUsers(inst) {
		if u.Name == r.PathValue("username") {
			httpx.WriteJSON(w, http.StatusOK, contentType, map[string]user{"user": u})
			return nil
		}
	}
	return dbtrust.Errorf(dbtrust.NotFound, "no such user")
}

type db struct {
	Name string `json:"name"`
}

func (a api) listDBs(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	inst, err := a.svc.GetInstance(r.Context(), p, r.PathValue(clusterID))
	if err != nil {
		return err
	}
	out := []db{}
	for _, n := range dbNames(inst) {
		out = append(out, db{Name: n})
	}
	httpx.WriteJSON(w, http.StatusOK, contentType, map[string][]db{"dbs": out})
	return nil
}

func (a api) getDB(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	inst, err := a.svc.GetInstance(r.Context(), p, r.PathValue(clusterID))
	if err != nil {
		return err
	}
	if name := r.PathValue("database_name"); slices.Contains(dbNames(inst), name) {
		httpx.WriteJSON(w, http.StatusOK, contentType, map[string]db{"db": {Name: name}})
		return nil
	}
	return dbtrust.Errorf(dbtrust.NotFound, "no such database")
}

func (a api) listPools(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	if _, err := a.svc.GetInstance(r.Context(), p, r.PathValue(clusterID)); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, contentType, map[string][]struct{}{"pools": {}})
	return nil
}

// notManaged refuses writes to users, databases and pools of a cluster that
// exists: a trust service keeps the cluster's certificates, not its accounts.
func (a api) notManaged(what string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
		if _, err := a.svc.GetInstance(r.Context(), p, r.PathValue(clusterID)); err != nil {
			return err
		}
		return dbtrust.Errorf(dbtrust.Invalid, "dbtrust keeps this cluster's TLS trust and does not manage its %s: manage them on the database server itself", what)
	}
}

// clusterUsers is the cluster's one known user: the one its connection names.
func clusterUsers(inst dbtrust.Instance) []user {
	return []user{{Name: engineConn[inst.Engine].user, Role: "primary"}}
}

// dbNames are the databases the cluster's connection names (none for
// engines without databases).
func dbNames(inst dbtrust.Instance) []string {
	if d := engineConn[inst.Engine].database; d != "" {
		return []string{d}
	}
	return []string{}
}
