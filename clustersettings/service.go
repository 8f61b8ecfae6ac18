package clustersettings

import (
	"context"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/google/uuid"
)

// Service holds the rules of cluster settings. It is safe for concurrent use.
type Service struct {
	core  *dbtrust.Service
	store Store
}

// New returns a Service keeping settings in store, under the core's roles,
// clock and audit log.
func New(core *dbtrust.Service, store Store) *Service {
	return &Service{core: core, store: store}
}

// Get returns the settings of each of insts, in order, with
// defaults for the parts never set. insts are instances p has read (from
// GetInstance or ListInstances); one of another account is NotFound.
func (s *Service) Get(ctx context.Context, p dbtrust.Principal, insts ...dbtrust.Instance) ([]Settings, error) {
	for _, inst := range insts { // a node token reads its own instance's settings
		if err := dbtrust.RequireInstance(p, dbtrust.RoleFor(dbtrust.ActionReadInstance), inst.ID); err != nil {
			return nil, err
		}
		if inst.AccountID != p.AccountID {
			return nil, dbtrust.Errorf(dbtrust.NotFound, "no such instance")
		}
	}
	if len(insts) == 0 {
		return []Settings{}, nil
	}
	stored, err := s.store.ListClusterSettings(ctx, p.AccountID)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]Stored, len(stored))
	for _, st := range stored {
		byID[st.InstanceID] = st
	}
	out := make([]Settings, 0, len(insts))
	for _, inst := range insts {
		out = append(out, byID[inst.ID].resolve(inst.ID, inst.AccountID))
	}
	return out, nil
}

var hourRE = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$`)

// SetMaintenanceWindow sets when maintenance may happen (members).
func (s *Service) SetMaintenanceWindow(ctx context.Context, p dbtrust.Principal, instanceID string, w MaintenanceWindow) error {
	day := strings.ToLower(w.Day)
	if !slices.Contains(weekdays, day) {
		return dbtrust.FieldError("day", "day must be a weekday such as monday")
	}
	if !hourRE.MatchString(w.Hour) {
		return dbtrust.FieldError("hour", "hour must be HH:MM or HH:MM:SS in 24-hour UTC, such as 14:00")
	}
	hour := w.Hour
	if len(hour) == 5 {
		hour += ":00"
	}
	return s.putSettings(ctx, p, instanceID, "instance.maintenance", Stored{Maintenance: &MaintenanceWindow{Day: day, Hour: hour}})
}

// SetStorageAutoscale sets how storage grows (members). Ranges are
// DigitalOcean's: a threshold of 15-95 percent, increments of 10-500 GiB.
func (s *Service) SetStorageAutoscale(ctx context.Context, p dbtrust.Principal, instanceID string, a StorageAutoscale) error {
	if a.ThresholdPercent != 0 && (a.ThresholdPercent < 15 || a.ThresholdPercent > 95) {
		return dbtrust.FieldError("threshold_percent", "threshold_percent must be between 15 and 95")
	}
	if a.IncrementGiB != 0 && (a.IncrementGiB < 10 || a.IncrementGiB > 500) {
		return dbtrust.FieldError("increment_gib", "increment_gib must be between 10 and 500")
	}
	return s.putSettings(ctx, p, instanceID, "instance.autoscale", Stored{Autoscale: &a})
}

// maxFirewallRules bounds the rules of one cluster.
const maxFirewallRules = 100

// SetFirewallRules replaces the cluster's firewall rules (members) and
// returns them as stored. A rule keeps its UUID and creation time when its
// UUID names one of the current rules; any other rule gets new ones.
func (s *Service) SetFirewallRules(ctx context.Context, p dbtrust.Principal, instanceID string, rules []FirewallRule) ([]FirewallRule, error) {
	if len(rules) > maxFirewallRules {
		return nil, dbtrust.FieldError("rules", "at most %d rules", maxFirewallRules)
	}
	inst, err := s.core.GetInstance(ctx, p, instanceID)
	if err != nil {
		return nil, err
	}
	cur, err := s.Get(ctx, p, inst)
	if err != nil {
		return nil, err
	}
	old := map[string]FirewallRule{}
	for _, r := range cur[0].Firewall {
		old[r.UUID] = r
	}
	out := make([]FirewallRule, 0, len(rules))
	seen := map[string]bool{}
	for _, r := range rules {
		if err := validFirewallRule(r); err != nil {
			return nil, err
		}
		if prev, ok := old[r.UUID]; ok && !seen[r.UUID] {
			r.CreatedAt = prev.CreatedAt
		} else {
			r.UUID, r.CreatedAt = uuid.NewString(), s.core.Now().Truncate(time.Second)
		}
		seen[r.UUID] = true
		out = append(out, r)
	}
	if err := s.putSettings(ctx, p, instanceID, "instance.firewall", Stored{Firewall: out}); err != nil {
		return nil, err
	}
	return out, nil
}

var firewallValueRE = map[string]*regexp.Regexp{
	"droplet": regexp.MustCompile(`^[0-9]{1,20}$`),
	"k8s":     regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`),
	"app":     regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`),
	"tag":     regexp.MustCompile(`^[A-Za-z0-9_:-]{1,255}$`), // dbtrust's tags
}

func validFirewallRule(r FirewallRule) error {
	if r.Type == "ip_addr" {
		if _, err := netip.ParseAddr(r.Value); err == nil {
			return nil
		}
		if _, err := netip.ParsePrefix(r.Value); err == nil {
			return nil
		}
		return dbtrust.FieldError("value", "an ip_addr rule's value must be an IP address or a CIDR range such as 192.0.2.0/24")
	}
	re, ok := firewallValueRE[r.Type]
	if !ok {
		return dbtrust.FieldError("type", "type must be one of droplet, k8s, ip_addr, tag, app")
	}
	if !re.MatchString(r.Value) {
		return dbtrust.FieldError("value", "%q is not a valid %s value", r.Value, r.Type)
	}
	return nil
}

// putSettings writes the parts set in st for one of p's instances.
func (s *Service) putSettings(ctx context.Context, p dbtrust.Principal, instanceID, action string, st Stored) error {
	if err := dbtrust.Authorize(p, dbtrust.ActionSetClusterSettings); err != nil {
		return err
	}
	id, ok := dbtrust.ParseInstanceID(instanceID)
	if !ok {
		return dbtrust.Errorf(dbtrust.NotFound, "no such instance")
	}
	st.InstanceID, st.AccountID = id, p.AccountID
	actx, done := s.core.Audited(ctx, p, action, "instance/"+id)
	return done(s.store.PutClusterSettings(actx, st))
}
