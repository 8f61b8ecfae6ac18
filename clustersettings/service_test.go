package clustersettings_test

import (
	"context"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/clustersettings"
	"github.com/dbtrust/dbtrust/internal/servicetest"
)

// newService returns the settings service over a fresh SQLite store, its
// account's owner and one instance of that account.
func newService(t *testing.T) (*clustersettings.Service, dbtrust.Principal, dbtrust.Instance) {
	t.Helper()
	env := servicetest.New(t, dbtrust.Options{})
	inst, err := env.Service.CreateInstance(context.Background(), env.Owner(), dbtrust.InstanceSpec{Name: "backend", Engine: "pg"})
	if err != nil {
		t.Fatal(err)
	}
	return clustersettings.New(env.Service, env.Store), env.Owner(), inst
}

func TestClusterSettingsDefaultsAndRules(t *testing.T) {
	ctx := context.Background()
	svc, owner, inst := newService(t)

	got, err := svc.Get(ctx, owner, inst)
	if err != nil {
		t.Fatal(err)
	}
	def := clustersettings.DefaultMaintenanceWindow(inst.ID)
	if got[0].Maintenance != def || got[0].Autoscale.Enabled || got[0].Firewall == nil || len(got[0].Firewall) != 0 {
		t.Fatalf("ClusterSettings(new) = %+v, want the default window %+v, autoscale off, no rules", got[0], def)
	}

	cases := []struct {
		name string
		set  func() error
		want dbtrust.Code
	}{
		{"window", func() error {
			return svc.SetMaintenanceWindow(ctx, owner, inst.ID, clustersettings.MaintenanceWindow{Day: "Tuesday", Hour: "14:00"})
		}, ""},
		{"window bad day", func() error {
			return svc.SetMaintenanceWindow(ctx, owner, inst.ID, clustersettings.MaintenanceWindow{Day: "someday", Hour: "14:00"})
		}, dbtrust.Invalid},
		{"window bad hour", func() error {
			return svc.SetMaintenanceWindow(ctx, owner, inst.ID, clustersettings.MaintenanceWindow{Day: "monday", Hour: "24:00"})
		}, dbtrust.Invalid},
		{"autoscale", func() error {
			return svc.SetStorageAutoscale(ctx, owner, inst.ID, clustersettings.StorageAutoscale{Enabled: true, ThresholdPercent: 80, IncrementGiB: 10})
		}, ""},
		{"autoscale threshold", func() error {
			return svc.SetStorageAutoscale(ctx, owner, inst.ID, clustersettings.StorageAutoscale{Enabled: true, ThresholdPercent: 99})
		}, dbtrust.Invalid},
		{"autoscale increment", func() error {
			return svc.SetStorageAutoscale(ctx, owner, inst.ID, clustersettings.StorageAutoscale{Enabled: true, IncrementGiB: 5})
		}, dbtrust.Invalid},
		{"firewall bad ip", func() error {
			_, err := svc.SetFirewallRules(ctx, owner, inst.ID, []clustersettings.FirewallRule{{Type: "ip_addr", Value: "300.1.1.1"}})
			return err
		}, dbtrust.Invalid},
		{"firewall bad type", func() error {
			_, err := svc.SetFirewallRules(ctx, owner, inst.ID, []clustersettings.FirewallRule{{Type: "vpc", Value: "x"}})
			return err
		}, dbtrust.Invalid},
		{"firewall bad droplet", func() error {
			_, err := svc.SetFirewallRules(ctx, owner, inst.ID, []clustersettings.FirewallRule{{Type: "droplet", Value: "abc"}})
			return err
		}, dbtrust.Invalid},
		{"unknown instance", func() error {
			return svc.SetMaintenanceWindow(ctx, owner, "9cc10173-e9ea-4176-9dbc-a4cee4c4ff30", clustersettings.MaintenanceWindow{Day: "monday", Hour: "01:00"})
		}, dbtrust.NotFound},
	}
	for _, c := range cases {
		if err := c.set(); dbtrust.ErrorCode(err) != c.want && !(c.want == "" && err == nil) {
			t.Errorf("%s: error %v, want code %q", c.name, err, c.want)
		}
	}
	got, err = svc.Get(ctx, owner, inst)
	if err != nil {
		t.Fatal(err)
	}
	want := clustersettings.MaintenanceWindow{Day: "tuesday", Hour: "14:00:00"}
	if got[0].Maintenance != want || got[0].Autoscale != (clustersettings.StorageAutoscale{Enabled: true, ThresholdPercent: 80, IncrementGiB: 10}) {
		t.Fatalf("after the valid sets: %+v, want window %+v and autoscale on at 80%%/10 GiB (the rejected ones wrote nothing)", got[0], want)
	}
}

func TestFirewallRulesKeepTheirIdentity(t *testing.T) {
	ctx := context.Background()
	svc, owner, inst := newService(t)
	first, err := svc.SetFirewallRules(ctx, owner, inst.ID, []clustersettings.FirewallRule{{Type: "ip_addr", Value: "192.0.2.0/24"}, {Type: "tag", Value: "web"}})
	if err != nil || len(first) != 2 || first[0].UUID == "" || first[0].UUID == first[1].UUID {
		t.Fatalf("SetFirewallRules = %+v, %v; want two rules with their own UUIDs", first, err)
	}
	// Sent back with one kept (by UUID), one new, and a forged UUID.
	second, err := svc.SetFirewallRules(ctx, owner, inst.ID, []clustersettings.FirewallRule{
		{UUID: first[1].UUID, Type: "tag", Value: "web"},
		{Type: "k8s", Value: "ff2a6c52-5a44-4b63-b99c-0e98e7a63d61"},
		{UUID: "79f26d28-ea8a-41f2-8ad8-8cfcdd020095", Type: "droplet", Value: "163973392"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if second[0].UUID != first[1].UUID || !second[0].CreatedAt.Equal(first[1].CreatedAt) {
		t.Fatalf("kept rule = %+v, want UUID %s created %v", second[0], first[1].UUID, first[1].CreatedAt)
	}
	if second[2].UUID == "79f26d28-ea8a-41f2-8ad8-8cfcdd020095" {
		t.Fatal("a UUID that names no current rule was kept; want a new one")
	}
	got, err := svc.Get(ctx, owner, inst)
	if err != nil || len(got[0].Firewall) != 3 {
		t.Fatalf("ClusterSettings = %+v, %v; want the three rules", got, err)
	}

	// A viewer reads but does not write; another account sees nothing.
	viewer := owner
	viewer.Role = dbtrust.RoleViewer
	if _, err := svc.SetFirewallRules(ctx, viewer, inst.ID, nil); dbtrust.ErrorCode(err) != dbtrust.Forbidden {
		t.Fatalf("SetFirewallRules as viewer: %v, want forbidden", err)
	}
	stranger := dbtrust.Principal{AccountID: "6f1c1f39-4a1e-4f0e-9a57-5b8d7d0d2a11", Role: dbtrust.RoleOwner, Subject: "token:x"}
	if _, err := svc.Get(ctx, stranger, inst); dbtrust.ErrorCode(err) != dbtrust.NotFound {
		t.Fatalf("ClusterSettings by another account: %v, want not_found", err)
	}
	if _, err := svc.SetFirewallRules(ctx, stranger, inst.ID, nil); dbtrust.ErrorCode(err) != dbtrust.NotFound {
		t.Fatalf("SetFirewallRules by another account: %v, want not_found", err)
	}
}
