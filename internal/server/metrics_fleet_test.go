package server_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/server"
	"github.com/dbtrust/dbtrust/internal/servicetest"
)

// TestMetricsFleetBounded: with more CAs than dbtrust.MetricsExpiries, the
// expiry gauges show the soonest ones only (the CA the next rotation makes,
// expiring first, among them), and the rotation gauges show the instances
// in a rotation only, so that the series stay few however large the fleet.
func TestMetricsFleetBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := servicetest.New(t, dbtrust.Options{})
	p := dbtrust.Operator(env.Account.ID)
	specs := make([]dbtrust.InstanceSpec, dbtrust.MetricsExpiries+5)
	for i := range specs {
		specs[i] = dbtrust.InstanceSpec{Name: fmt.Sprintf("db-%d", i), Engine: "pg"}
	}
	insts, err := env.Service.ImportInstances(ctx, p, specs[:dbtrust.MaxImport])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Service.ImportInstances(ctx, p, specs[dbtrust.MaxImport:]); err != nil {
		t.Fatal(err)
	}
	rotating := insts[7].ID
	// The next CA of a rotation started later expires after the others: give it a
	// short life so that it is the soonest.
	short := serviceWithValidity(t, env, 24*time.Hour)
	cas, err := short.RotateStart(ctx, p, rotating, "")
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(server.New(server.Config{Service: env.Service}))
	defer ts.Close()
	m := scrape(t, ts.URL)
	caSeries, rotationSeries := 0, 0
	for k := range m {
		switch {
		case strings.HasPrefix(k, "dbtrust_ca_expiry_seconds{"):
			caSeries++
		case strings.HasPrefix(k, "dbtrust_rotation_clients{"):
			rotationSeries++
			if !strings.Contains(k, rotating) {
				t.Errorf("a rotation gauge for an instance not in a rotation: %s", k)
			}
		}
	}
	if caSeries != dbtrust.MetricsExpiries {
		t.Errorf("%d CA expiry series for %d CAs, want %d", caSeries, len(specs)+1, dbtrust.MetricsExpiries)
	}
	if rotationSeries != 2 {
		t.Errorf("%d rotation series, want 2 (holding and lacking, of the one rotating instance)", rotationSeries)
	}
	next := cas[len(cas)-1]
	for _, ca := range cas {
		if ca.State == dbtrust.CANext {
			next = ca
		}
	}
	if _, ok := m[`dbtrust_ca_expiry_seconds{ca_id="`+next.ID+`",instance_id="`+rotating+`",state="next"}`]; !ok {
		t.Errorf("the soonest CA to expire (the rotation's next, %s) has no expiry gauge", next.ID)
	}
}

// serviceWithValidity is a second Service over env's store and sealer with
// CAs valid for validity.
func serviceWithValidity(t *testing.T, env *servicetest.Env, validity time.Duration) *dbtrust.Service {
	t.Helper()
	return dbtrust.NewService(env.Service.Store(), env.Service.Sealer(), dbtrust.Options{CAValidity: validity})
}
