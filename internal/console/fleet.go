package console

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/dbtrust/dbtrust"
)

// stage is where an instance stands in a CA rotation.
type stage string

const (
	stageStable   = stage(dbtrust.StageStable)   // one current CA
	stageStarted  = stage(dbtrust.StageStarted)  // a next CA is published beside current
	stageFinished = stage(dbtrust.StageFinished) // the new CA is current; the old one is still served as previous
)

func stageOf(cas []dbtrust.CA) stage {
	st := stageStable
	for _, ca := range cas {
		switch ca.State {
		case dbtrust.CANext:
			return stageStarted
		case dbtrust.CAPrevious:
			st = stageFinished
		}
	}
	return st
}

func (s stage) Label() string {
	switch s {
	case stageStarted:
		return "rotation started"
	case stageFinished:
		return "rotation finished, old CA still served"
	}
	return "no rotation"
}

// fleetRow is one instance in the overview.
type fleetRow struct {
	Inst      dbtrust.Instance
	Endpoints []string
	Stage     stage
	Current   dbtrust.CA
	CAStates  []string
	NextCert  *dbtrust.IssuedCertificate // the live certificate that expires first
	LiveCerts int
	Urgency   string // of the soonest expiry: ok, warn (30 days), crit (7 days), expired
	Soonest   string // when Urgency is not ok: what expires, and when, in words
}

type fleetData struct {
	Rows     []fleetRow
	Total    int
	Q        string
	Engine   string
	Stage    string
	Engines  []string
	Timeline timeline
}

func (c *console) fleet(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	insts, err := c.svc.ListInstances(ctx, s.P, "")
	if err != nil {
		return err
	}
	now := c.svc.Now()
	q := r.URL.Query()
	d := fleetData{Total: len(insts), Q: strings.TrimSpace(q.Get("q")), Engine: q.Get("engine"), Stage: q.Get("stage")}
	for e := range dbtrust.Engines {
		d.Engines = append(d.Engines, string(e))
	}
	slices.Sort(d.Engines)
	var spans []span
	for _, inst := range insts {
		row, sp, err := c.fleetRow(r, s, inst, now)
		if err != nil {
			return err
		}
		if !d.matches(row) {
			continue
		}
		d.Rows = append(d.Rows, row)
		spans = append(spans, sp...)
	}
	d.Timeline = buildTimeline("Expiry of every served CA and live certificate", spans, now)
	return c.render(w, r, http.StatusOK, "fleet", view{Title: "Fleet", Nav: "fleet", S: s, CSRF: s.CSRF, Notice: notice(r), Data: d})
}

func (d fleetData) matches(row fleetRow) bool {
	if d.Engine != "" && string(row.Inst.Engine) != d.Engine || d.Stage != "" && string(row.Stage) != d.Stage {
		return false
	}
	if d.Q == "" {
		return true
	}
	q := strings.ToLower(d.Q)
	hay := append([]string{row.Inst.Name, row.Inst.ID, row.Inst.Region}, row.Inst.Tags...)
	hay = append(hay, row.Endpoints...)
	for _, h := range hay {
		if strings.Contains(strings.ToLower(h), q) {
			return true
		}
	}
	return false
}

func (c *console) fleetRow(r *http.Request, s *session, inst dbtrust.Instance, now time.Time) (fleetRow, []span, error) {
	cas, err := c.svc.InstanceCAs(r.Context(), s.P, inst.ID)
	if err != nil {
		return fleetRow{}, nil, err
	}
	certs, err := c.svc.ListIssuedCertificates(r.Context(), s.P, inst.ID)
	if err != nil {
		return fleetRow{}, nil, err
	}
	row := fleetRow{Inst: inst, Endpoints: c.endpoints(inst), Stage: stageOf(cas)}
	soonest := time.Time{}
	for _, ca := range cas {
		if ca.State == dbtrust.CACurrent {
			row.Current, soonest = ca, ca.NotAfter
		}
		if ca.State != dbtrust.CARetired {
			row.CAStates = append(row.CAStates, string(ca.State))
		}
	}
	for i, ct := range certs {
		if ct.RevokedAt != nil || !ct.NotAfter.After(now) {
			continue
		}
		row.LiveCerts++
		if row.NextCert == nil || ct.NotAfter.Before(row.NextCert.NotAfter) {
			row.NextCert = &certs[i]
		}
	}
	if row.NextCert != nil && row.NextCert.NotAfter.Before(soonest) {
		soonest = row.NextCert.NotAfter
	}
	row.Urgency = urgency(soonest.Sub(now))
	if row.Urgency != "ok" {
		what := "the CA"
		if row.NextCert != nil && row.NextCert.NotAfter.Equal(soonest) {
			what = row.NextCert.CommonName
		}
		row.Soonest = what + ": " + untilText(soonest.Sub(now))
	}
	return row, instanceSpans(inst, cas, certs, now, true), nil
}

func urgency(left time.Duration) string {
	switch {
	case left <= 0:
		return "expired"
	case left <= 7*24*time.Hour:
		return "crit"
	case left <= 30*24*time.Hour:
		return "warn"
	}
	return "ok"
}

// endpoints are the host:port clients reach the instance at.
func (c *console) endpoints(inst dbtrust.Instance) []string {
	var out []string
	for _, e := range c.svc.InstanceEndpoints(inst) {
		if e.Role != "" {
			out = append(out, e.Address()+" ("+e.Role+")")
		} else {
			out = append(out, e.Address())
		}
	}
	return out
}

func (c *console) createInstance(w http.ResponseWriter, r *http.Request, s *session) error {
	f := r.PostForm
	spec := dbtrust.InstanceSpec{Name: strings.TrimSpace(f.Get("name")), Engine: f.Get("engine"), Version: strings.TrimSpace(f.Get("version")),
		Region: strings.TrimSpace(f.Get("region")), Tags: splitNames(f.Get("tags"))}
	for _, e := range strings.Fields(f.Get("endpoints")) {
		ep, err := dbtrust.ParseEndpoint(e)
		if err != nil {
			return err
		}
		spec.Endpoints = append(spec.Endpoints, ep)
	}
	inst, err := c.svc.CreateInstance(r.Context(), s.P, spec)
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/ui/instances/"+inst.ID+"?done=created", http.StatusSeeOther)
	return nil
}
