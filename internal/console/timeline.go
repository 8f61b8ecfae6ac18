package console

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/dbtrust/dbtrust"
)

// A timeline is drawn on the server as SVG: one row per CA or certificate,
// a bar from notBefore to notAfter on a shared time axis, today marked, and
// the 30- and 7-day windows ahead of today shaded.

// span is one thing that expires, as the timeline shows it.
type span struct {
	Label     string // e.g. "orders · CA current"
	Kind      string // "ca" or "cert"
	State     string // the CA's state, or "issued"
	NotBefore time.Time
	NotAfter  time.Time
	Href      string // where the row's label links to; "" for none
}

// Timeline geometry, in SVG user units (the picture scales to its box).
const (
	tlWidth    = 960
	tlLabelW   = 250
	tlRowH     = 22
	tlTop      = 28
	tlBottom   = 26
	tlMaxRows  = 40
	tlPastDays = 14
)

type timeline struct {
	Title, Desc     string
	Width, Height   int
	AxisX0, AxisX1  float64
	AxisY           int
	Today           float64
	Warn, Crit      shade // the 30-day and 7-day windows
	Ticks           []tick
	Rows            []tlRow
	Hidden          int // rows left out (over tlMaxRows)
	Start, End, Now time.Time
}

type shade struct{ X, W float64 }

type tick struct {
	X     float64
	Label string
}

type tlRow struct {
	Y, TextY       int
	X, W           float64
	Label, Href    string
	Class, Title   string
	ClippedEnd     bool // the bar goes on past the axis
	EndLabel       string
	EndLabelX      float64
	EndLabelAnchor string
	EndLabelIn     bool // drawn inside the bar's end, in the bar's contrast colour
}

// buildTimeline lays out spans, soonest expiry first, on an axis from two
// weeks before now to the latest expiry, but at least 60 days and at most
// 400 days ahead, so that certificates stay visible next to ten-year CAs.
func buildTimeline(title string, spans []span, now time.Time) timeline {
	sort.SliceStable(spans, func(i, j int) bool { return spans[i].NotAfter.Before(spans[j].NotAfter) })
	start := now.AddDate(0, 0, -tlPastDays)
	end := now.AddDate(0, 0, 60)
	for _, s := range spans {
		if s.NotAfter.After(end) {
			end = s.NotAfter
		}
	}
	if lim := now.AddDate(0, 0, 400); end.After(lim) {
		end = lim
	}
	t := timeline{Title: title, Width: tlWidth, AxisX0: tlLabelW, AxisX1: tlWidth - 10, Start: start, End: end, Now: now}
	x := func(at time.Time) float64 {
		f := float64(at.Sub(start)) / float64(end.Sub(start))
		return t.AxisX0 + min(max(f, 0), 1)*(t.AxisX1-t.AxisX0)
	}
	t.Today = x(now)
	t.Warn = shade{X: x(now), W: x(now.AddDate(0, 0, 30)) - x(now)}
	t.Crit = shade{X: x(now), W: x(now.AddDate(0, 0, 7)) - x(now)}
	if len(spans) > tlMaxRows {
		t.Hidden, spans = len(spans)-tlMaxRows, spans[:tlMaxRows]
	}
	for i, s := range spans {
		t.Rows = append(t.Rows, t.row(i, s, now, x))
	}
	t.AxisY = tlTop + len(spans)*tlRowH + 4
	t.Height = t.AxisY + tlBottom
	t.Ticks = monthTicks(start, end, x)
	t.Desc = fmt.Sprintf("%d bars from %s to %s; today is %s. Shaded: the next 30 days, and darker, the next 7.",
		len(spans), start.Format("2006-01-02"), end.Format("2006-01-02"), now.Format("2006-01-02"))
	return t
}

func (t timeline) row(i int, s span, now time.Time, x func(time.Time) float64) tlRow {
	y := tlTop + i*tlRowH
	r := tlRow{Y: y + 4, TextY: y + 15, Label: shorten(s.Label, 36), Href: s.Href, X: x(s.NotBefore)}
	r.W = max(x(s.NotAfter)-r.X, 2)
	left := s.NotAfter.Sub(now)
	urgency := "ok"
	switch {
	case left <= 0:
		urgency = "expired"
	case left <= 7*24*time.Hour:
		urgency = "crit"
	case left <= 30*24*time.Hour:
		urgency = "warn"
	}
	r.Class = "bar bar-" + s.Kind + " bar-" + s.State + " bar-" + urgency
	r.Title = fmt.Sprintf("%s: valid %s to %s (%s)", s.Label, s.NotBefore.UTC().Format("2006-01-02"), s.NotAfter.UTC().Format("2006-01-02"), untilText(left))
	r.EndLabel = s.NotAfter.UTC().Format("2006-01-02")
	r.ClippedEnd = s.NotAfter.After(t.End)
	if r.ClippedEnd {
		r.EndLabel = "→ " + r.EndLabel
	}
	// The date sits right of the bar, or inside its end when there is no room.
	r.EndLabelX, r.EndLabelAnchor = r.X+r.W+4, "start"
	if r.EndLabelX > t.AxisX1-80 {
		r.EndLabelX, r.EndLabelAnchor, r.EndLabelIn = r.X+r.W-4, "end", true
	}
	return r
}

// monthTicks marks the first of each month (every few months on long axes).
func monthTicks(start, end time.Time, x func(time.Time) float64) []tick {
	months := int(end.Sub(start).Hours()/24/30) + 1
	step := 1
	for months/step > 8 {
		step++
	}
	var out []tick
	m := time.Date(start.Year(), start.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0)
	for i := 0; m.Before(end); i++ {
		if i%step == 0 {
			out = append(out, tick{X: x(m), Label: m.Format("Jan 2006")})
		}
		m = m.AddDate(0, 1, 0)
	}
	return out
}

// untilText says how long until (or since) an expiry, in days, rounded to
// the nearest day.
func untilText(d time.Duration) string {
	days := int(math.Round(math.Abs(d.Hours()) / 24))
	switch {
	case d <= 0 && days == 0:
		return "expired today"
	case d <= 0:
		return fmt.Sprintf("expired %d days ago", days)
	case d < 24*time.Hour:
		return "expires within a day"
	case days == 1:
		return "1 day left"
	}
	return fmt.Sprintf("%d days left", days)
}

// instanceSpans are an instance's served CAs and its unrevoked certificates
// that expired no more than two weeks ago.
func instanceSpans(inst dbtrust.Instance, cas []dbtrust.CA, certs []dbtrust.IssuedCertificate, now time.Time, withName bool) []span {
	prefix, href := "", ""
	if withName {
		prefix, href = inst.Name+" · ", "/ui/instances/"+inst.ID
	}
	var out []span
	for _, ca := range cas {
		if ca.State != dbtrust.CARetired {
			out = append(out, span{Label: prefix + "CA " + string(ca.State), Kind: "ca", State: string(ca.State), NotBefore: ca.NotBefore, NotAfter: ca.NotAfter, Href: href})
		}
	}
	for _, c := range certs {
		if c.RevokedAt == nil && c.NotAfter.After(now.AddDate(0, 0, -tlPastDays)) {
			out = append(out, span{Label: prefix + c.CommonName, Kind: "cert", State: "issued", NotBefore: c.NotBefore, NotAfter: c.NotAfter, Href: href})
		}
	}
	return out
}

// shorten cuts a label to n characters, marking the cut; the bar's hover text
// keeps it whole.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
