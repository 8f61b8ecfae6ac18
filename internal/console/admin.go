package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dbtrust/dbtrust"
)

// auditData is one page of the audit log, newest first, with the filters
// that chose it: the core's (actor, action, resource, time range, paging)
// and the outcome, which narrows the page shown.
type auditData struct {
	Events        []dbtrust.AuditEvent
	Actor, Action string
	Resource      string
	Since, Until  string // YYYY-MM-DD, UTC days
	Outcome       string // "", "ok" or "refused"
	Limit         int
	Older         string // the query of the next (older) page; "" at the end
	Paged         bool   // this is not the newest page
	Fetched       int
	Actions       []string
}

// auditActions are offered as suggestions in the action field.
var auditActions = []string{"instance.create", "instance.delete", "rotation.start", "rotation.finish", "rotation.rollback",
	"rotation.retire", "certificate.issue", "certificate.revoke", "token.create", "token.revoke", "session.create",
	"session.delete", "auth.failed"}

func (c *console) audit(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	d := auditData{Actor: strings.TrimSpace(q.Get("actor")), Action: strings.TrimSpace(q.Get("action")),
		Resource: strings.TrimSpace(q.Get("resource")), Since: q.Get("since"), Until: q.Get("until"), Outcome: q.Get("outcome"), Actions: auditActions}
	f := dbtrust.AuditFilter{Actor: d.Actor, Action: d.Action, Resource: d.Resource}
	var err error
	if f.Limit, err = dbtrust.ParseAuditLimit(q.Get("limit")); err != nil {
		return err
	}
	d.Limit = f.Limit
	if f.Since, err = day(d.Since, "since"); err != nil {
		return err
	}
	if f.Until, err = day(d.Until, "until"); err != nil {
		return err
	}
	if !f.Until.IsZero() {
		f.Until = f.Until.AddDate(0, 0, 1) // through the end of that day
	}
	if v := q.Get("before"); v != "" {
		if f.BeforeID, err = strconv.ParseInt(v, 10, 64); err != nil || f.BeforeID < 1 {
			return dbtrust.FieldError("before", "this page link is damaged: go back to the newest events")
		}
		d.Paged = true
	}
	events, err := c.svc.Audit(r.Context(), s.P, f)
	if err != nil {
		return err
	}
	d.Fetched = len(events)
	if len(events) == f.Limit {
		older := url.Values{}
		for _, k := range []string{"actor", "action", "resource", "since", "until", "outcome", "limit"} {
			if v := q.Get(k); v != "" {
				older.Set(k, v)
			}
		}
		older.Set("before", strconv.FormatInt(events[len(events)-1].ID, 10))
		d.Older = "/ui/audit?" + older.Encode()
	}
	for _, e := range events {
		if d.Outcome == "" || (d.Outcome == "ok") == (e.Outcome == "ok") {
			d.Events = append(d.Events, e)
		}
	}
	return c.render(w, r, http.StatusOK, "audit", view{Title: "Audit log", Nav: "audit", S: s, CSRF: s.CSRF, Data: d})
}

// day reads a date input (YYYY-MM-DD) as the start of that UTC day.
func day(v, field string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse("2006-01-02", v)
	if err != nil {
		return time.Time{}, dbtrust.FieldError(field, "%s must be a date like 2026-11-30", field)
	}
	return t, nil
}
