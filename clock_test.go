package dbtrust_test

import (
	"context"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/servicetest"
)

func TestEmulatedClock(t *testing.T) {
	real := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := dbtrust.NewEmulatedClock(func() time.Time { return real })
	se := servicetest.New(t, dbtrust.Options{EmulatedClock: clk})
	svc, owner, ctx := se.Service, se.Owner(), context.Background()
	viewer := dbtrust.Principal{AccountID: se.Account.ID, Role: dbtrust.RoleViewer, Subject: "token:v"}
	for _, tt := range []struct {
		name string
		p    dbtrust.Principal
		move dbtrust.ClockMove
		want time.Time
		code dbtrust.Code
	}{
		{"advance", owner, dbtrust.ClockMove{Advance: 720 * time.Hour}, real.Add(720 * time.Hour), ""},
		{"set forward", owner, dbtrust.ClockMove{Now: real.AddDate(1, 0, 0)}, real.AddDate(1, 0, 0), ""},
		{"set to now", owner, dbtrust.ClockMove{Now: real.AddDate(1, 0, 0)}, real.AddDate(1, 0, 0), ""},
		{"set backwards", owner, dbtrust.ClockMove{Now: real}, real.AddDate(1, 0, 0), dbtrust.Conflict},
		{"negative advance", owner, dbtrust.ClockMove{Advance: -time.Hour}, real.AddDate(1, 0, 0), dbtrust.Invalid},
		{"both", owner, dbtrust.ClockMove{Advance: time.Hour, Now: real.AddDate(2, 0, 0)}, real.AddDate(1, 0, 0), dbtrust.Invalid},
		{"neither", owner, dbtrust.ClockMove{}, real.AddDate(1, 0, 0), dbtrust.Invalid},
		{"viewer", viewer, dbtrust.ClockMove{Advance: time.Hour}, real.AddDate(1, 0, 0), dbtrust.Forbidden},
	} {
		_, err := svc.MoveClock(ctx, tt.p, tt.move)
		if dbtrust.ErrorCode(err) != tt.code {
			t.Errorf("%s: MoveClock(%+v) = %v, want code %q", tt.name, tt.move, err, tt.code)
		}
		if got := svc.Now(); !got.Equal(tt.want) {
			t.Errorf("%s: Now() = %s, want %s", tt.name, got, tt.want)
		}
	}
	// A CA made now is valid from the emulated time.
	inst, err := svc.CreateInstance(ctx, owner, dbtrust.InstanceSpec{Name: "orders", Engine: "pg"})
	if err != nil {
		t.Fatal(err)
	}
	cas, err := svc.InstanceCAs(ctx, owner, inst.ID)
	if err != nil || cas[0].NotBefore.Before(real.AddDate(1, 0, 0).Add(-time.Hour)) {
		t.Errorf("new CA NotBefore = %v (%v), want about %s", cas[0].NotBefore, err, real.AddDate(1, 0, 0))
	}

	plain := servicetest.New(t, dbtrust.Options{}).Service
	if _, err := plain.Clock(ctx, owner); dbtrust.ErrorCode(err) != dbtrust.NotFound {
		t.Errorf("Clock on a real-clock service = %v, want NotFound", err)
	}
}
