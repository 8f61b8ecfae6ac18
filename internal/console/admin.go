package console

import (
	"net/http"
	"strings"

	"github.com/dbtrust/dbtrust"
)

type auditData struct {
	Events  []dbtrust.AuditEvent
	Action  string
	Actor   string
	Outcome string
	Limit   int
	Scanned int
}

func (c *console) audit(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	d := auditData{Action: strings.TrimSpace(q.Get("action")), Actor: strings.TrimSpace(q.Get("actor")), Outcome: q.Get("outcome"), Limit: 200}
	if v := q.Get("limit"); v != "" { // the core's rule: 1 to dbtrust.MaxAuditLimit
		n, err := dbtrust.ParseAuditLimit(v)
		if err != nil {
			return err
		}
		d.Limit = n
	}
	events, err := c.svc.Audit(r.Context(), s.P, dbtrust.AuditFilter{Limit: d.Limit})
	if err != nil {
		return err
	}
	d.Scanned = len(events)
	for _, e := range events {
		if strings.Contains(e.Action, d.Action) && strings.Contains(e.Actor, d.Actor) &&
			(d.Outcome == "" || d.Outcome == "ok" && e.Outcome == "ok" || d.Outcome == "failed" && e.Outcome != "ok") {
			d.Events = append(d.Events, e)
		}
	}
	return c.render(w, r, http.StatusOK, "audit", view{Title: "Audit log", Nav: "audit", S: s, CSRF: s.CSRF, Data: d})
}
