package console

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
)

func TestErrorTableHasEveryCode(t *testing.T) {
	for _, c := range dbtrust.Codes {
		if _, ok := errorTable[c]; !ok {
			t.Errorf("errorTable has no row for %q", c)
		}
	}
}

func TestTimeline(t *testing.T) {
	now := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	spans := []span{
		{Label: "CA current", Kind: "ca", State: "current", NotBefore: now.Add(-30 * day), NotAfter: now.Add(3650 * day)},
		{Label: "db1", Kind: "cert", State: "issued", NotBefore: now.Add(-80 * day), NotAfter: now.Add(5 * day)},
		{Label: "db2", Kind: "cert", State: "issued", NotBefore: now.Add(-10 * day), NotAfter: now.Add(20 * day)},
		{Label: "old", Kind: "cert", State: "issued", NotBefore: now.Add(-100 * day), NotAfter: now.Add(-2 * day)},
	}
	tl := buildTimeline("t", spans, now)

	// The axis runs from two weeks ago to at most 400 days ahead.
	if !tl.Start.Equal(now.Add(-14*day)) || !tl.End.Equal(now.AddDate(0, 0, 400)) {
		t.Fatalf("axis %s to %s, want two weeks ago to 400 days ahead", tl.Start, tl.End)
	}
	x := func(at time.Time) float64 {
		return tl.AxisX0 + float64(at.Sub(tl.Start))/float64(tl.End.Sub(tl.Start))*(tl.AxisX1-tl.AxisX0)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 0.01 }
	if !near(tl.Today, x(now)) || !near(tl.Warn.W, x(now.Add(30*day))-x(now)) || !near(tl.Crit.W, x(now.Add(7*day))-x(now)) {
		t.Fatalf("today at %.1f, shades %.1f and %.1f wide; want %.1f, %.1f, %.1f", tl.Today, tl.Warn.W, tl.Crit.W, x(now), x(now.Add(30*day))-x(now), x(now.Add(7*day))-x(now))
	}
	// Rows come soonest expiry first, each coloured by how soon it expires.
	want := []struct{ label, class string }{
		{"old", "bar bar-cert bar-issued bar-expired"},
		{"db1", "bar bar-cert bar-issued bar-crit"},
		{"db2", "bar bar-cert bar-issued bar-warn"},
		{"CA current", "bar bar-ca bar-current bar-ok"},
	}
	if len(tl.Rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(tl.Rows), len(want))
	}
	for i, w := range want {
		r := tl.Rows[i]
		if r.Label != w.label || r.Class != w.class {
			t.Errorf("row %d = %q %q, want %q %q", i, r.Label, r.Class, w.label, w.class)
		}
		if r.X < tl.AxisX0 || r.X+r.W > tl.AxisX1+0.01 {
			t.Errorf("row %q drawn from %.1f to %.1f, outside the axis %.1f-%.1f", r.Label, r.X, r.X+r.W, tl.AxisX0, tl.AxisX1)
		}
	}
	// Bars that start before the axis are cut at its start; one that ends
	// after it says so.
	if r := tl.Rows[0]; !near(r.X, tl.AxisX0) {
		t.Errorf("a bar that started before the axis starts at %.1f, want %.1f", r.X, tl.AxisX0)
	}
	if r := tl.Rows[3]; !r.ClippedEnd || r.EndLabel != "→ "+now.Add(3650*day).Format("2006-01-02") {
		t.Errorf("a CA past the axis: clipped %v, label %q", r.ClippedEnd, r.EndLabel)
	}
	if len(tl.Ticks) == 0 || len(tl.Ticks) > 9 {
		t.Errorf("%d ticks, want 1 to 9", len(tl.Ticks))
	}

	// Over the row limit, the rows that expire first are drawn and the rest counted.
	var many []span
	for i := range tlMaxRows + 5 {
		many = append(many, span{Label: fmt.Sprint(i), Kind: "cert", State: "issued", NotBefore: now, NotAfter: now.Add(time.Duration(tlMaxRows+5-i) * day)})
	}
	tl = buildTimeline("t", many, now)
	if len(tl.Rows) != tlMaxRows || tl.Hidden != 5 || tl.Rows[0].Label != fmt.Sprint(tlMaxRows+4) {
		t.Errorf("%d rows, %d hidden, first %q; want %d, 5, the soonest", len(tl.Rows), tl.Hidden, tl.Rows[0].Label, tlMaxRows)
	}
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{5*day - time.Minute, "5 days left"}, {36 * time.Hour, "2 days left"}, {30 * time.Hour, "1 day left"},
		{time.Hour, "expires within a day"}, {-time.Hour, "expired today"}, {-3 * day, "expired 3 days ago"},
	} {
		if got := untilText(tt.d); got != tt.want {
			t.Errorf("untilText(%s) = %q, want %q", tt.d, got, tt.want)
		}
	}
	if got := shorten("a-very-long-certificate-name.with.many.labels.example", 12); got != "a-very-long…" {
		t.Errorf("shorten = %q", got)
	}
	// With nothing far off, the axis still shows 60 days ahead.
	if tl = buildTimeline("t", spans[1:2], now); !tl.End.Equal(now.AddDate(0, 0, 60)) {
		t.Errorf("axis ends %s, want 60 days ahead", tl.End)
	}
}
