// Package clustersettings keeps the settings that managed-database APIs
// hold on a cluster beside its TLS trust (DigitalOcean's maintenance window,
// storage autoscale and firewall rules), with their rules, the narrow Store
// that keeps them, and defaults for the parts never set.
package clustersettings

import (
	"fmt"
	"hash/fnv"
	"time"
)

// Settings are the settings that managed-database APIs keep on a
// cluster beside its TLS trust: when maintenance may happen, how storage
// grows, and which sources its firewall admits. dbtrust stores them and
// hands them back to the tools that read them; it runs no maintenance,
// provisions no storage, and its own access rules do not depend on them.
type Settings struct {
	InstanceID  string
	AccountID   string
	Maintenance MaintenanceWindow
	Autoscale   StorageAutoscale
	Firewall    []FirewallRule // in the order they were set; never nil
}

// MaintenanceWindow is a weekly slot: Day is a lower-case English weekday,
// Hour is "HH:MM:SS" in UTC.
type MaintenanceWindow struct {
	Day  string
	Hour string
}

// StorageAutoscale says whether and how a cluster's storage grows. Zero
// ThresholdPercent or IncrementGiB means not set.
type StorageAutoscale struct {
	Enabled          bool
	ThresholdPercent int
	IncrementGiB     int
}

// FirewallRule admits one source to a cluster ("trusted source").
type FirewallRule struct {
	UUID      string
	Type      string // droplet, k8s, ip_addr, tag or app
	Value     string
	CreatedAt time.Time
}

// Stored is what a Store keeps: each part is nil until set.
type Stored struct {
	InstanceID  string
	AccountID   string
	Maintenance *MaintenanceWindow
	Autoscale   *StorageAutoscale
	Firewall    []FirewallRule // nil until set
}

var weekdays = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

// DefaultMaintenanceWindow is the window of a cluster nobody has set one for:
// a fixed slot derived from its ID, so that clusters are spread over the week
// and a cluster's window does not change from one read to the next.
func DefaultMaintenanceWindow(instanceID string) MaintenanceWindow {
	h := fnv.New32a()
	h.Write([]byte(instanceID))
	n := h.Sum32()
	return MaintenanceWindow{Day: weekdays[n%7], Hour: fmt.Sprintf("%02d:00:00", n/7%24)}
}

// resolve fills the parts never set with their defaults.
func (st Stored) resolve(instanceID, accountID string) Settings {
	c := Settings{InstanceID: instanceID, AccountID: accountID, Maintenance: DefaultMaintenanceWindow(instanceID), Firewall: []FirewallRule{}}
	if st.Maintenance != nil {
		c.Maintenance = *st.Maintenance
	}
	if st.Autoscale != nil {
		c.Autoscale = *st.Autoscale
	}
	if st.Firewall != nil {
		c.Firewall = st.Firewall
	}
	return c
}
