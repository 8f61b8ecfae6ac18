package storetest

import (
	"context"
	"reflect"
	"sync"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/clustersettings"
)

// ClusterSettingsStore is what the clustersettings suite needs: a
// clustersettings.Store, and accounts and instances to hang settings on.
type ClusterSettingsStore interface {
	dbtrust.Store
	clustersettings.Store
}

// RunClusterSettings runs the conformance tests of clustersettings.Store
// against stores made by open.
func RunClusterSettings[S ClusterSettingsStore](t *testing.T, open func(*testing.T) S) {
	t.Run("ClusterSettings", func(t *testing.T) { testClusterSettings(t, open(t)) })
}

// testClusterSettings checks that each part is kept apart from the others,
// that parts set concurrently are all kept, and that settings follow their
// instance's account and are deleted with it.
func testClusterSettings(t *testing.T, s ClusterSettingsStore) {
	ctx := context.Background()
	a, _ := NewAccount(t, s, "alpha")
	b, _ := NewAccount(t, s, "beta")
	i, ca := NewInstance(a.ID, "backend")
	must(t, s.CreateInstance(ctx, i, ca))

	list, err := s.ListClusterSettings(ctx, a.ID)
	if err != nil || len(list) != 0 {
		t.Fatalf("ListClusterSettings(none) = %v, %v; want an empty list", list, err)
	}
	mw := &clustersettings.MaintenanceWindow{Day: "tuesday", Hour: "14:00:00"}
	as := &clustersettings.StorageAutoscale{Enabled: true, ThresholdPercent: 80, IncrementGiB: 10}
	fw := []clustersettings.FirewallRule{
		{UUID: "79f26d28-ea8a-41f2-8ad8-8cfcdd020095", Type: "ip_addr", Value: "192.0.2.0/24", CreatedAt: Later()},
		{UUID: "adfe81a8-0fa1-4e2d-973f-06aa5af19b44", Type: "tag", Value: "backend", CreatedAt: Later()},
	}
	// Three parts set at once by three callers: none overwrites another.
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for n, part := range []clustersettings.Stored{{Maintenance: mw}, {Autoscale: as}, {Firewall: fw}} {
		part.InstanceID, part.AccountID = i.ID, a.ID
		wg.Add(1)
		go func() { defer wg.Done(); errs[n] = s.PutClusterSettings(ctx, part) }()
	}
	wg.Wait()
	for _, err := range errs {
		must(t, err)
	}
	want := clustersettings.Stored{InstanceID: i.ID, AccountID: a.ID, Maintenance: mw, Autoscale: as, Firewall: fw}
	list, err = s.ListClusterSettings(ctx, a.ID)
	must(t, err)
	if len(list) != 1 || !reflect.DeepEqual(list[0], want) {
		t.Fatalf("ListClusterSettings = %+v, want [%+v]", list, want)
	}
	// An empty rule list is set, not absent.
	must(t, s.PutClusterSettings(ctx, clustersettings.Stored{InstanceID: i.ID, AccountID: a.ID, Firewall: []clustersettings.FirewallRule{}}))
	list, err = s.ListClusterSettings(ctx, a.ID)
	must(t, err)
	if len(list) != 1 || list[0].Firewall == nil || len(list[0].Firewall) != 0 || !reflect.DeepEqual(list[0].Maintenance, mw) {
		t.Fatalf("after clearing the rules: %+v", list)
	}

	foreign := clustersettings.Stored{InstanceID: i.ID, AccountID: b.ID, Maintenance: mw}
	wantCode(t, "PutClusterSettings(other account)", s.PutClusterSettings(ctx, foreign), dbtrust.NotFound)
	if list, err := s.ListClusterSettings(ctx, b.ID); err != nil || len(list) != 0 {
		t.Fatalf("ListClusterSettings(other account) = %v, %v; want none", list, err)
	}
	must(t, s.DeleteInstance(ctx, a.ID, i.ID))
	if list, err := s.ListClusterSettings(ctx, a.ID); err != nil || len(list) != 0 {
		t.Fatalf("ListClusterSettings after delete = %v, %v; want none", list, err)
	}
	wantCode(t, "PutClusterSettings(deleted)", s.PutClusterSettings(ctx, clustersettings.Stored{InstanceID: i.ID, AccountID: a.ID, Maintenance: mw}), dbtrust.NotFound)
}
