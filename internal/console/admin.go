package console

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/dbtrust/dbtrust"
)

type tokensData struct {
	Tokens []dbtrust.Token
	// Created is the token just made, and Secret its full string: shown on
	// this one answer and never again.
	Created *dbtrust.Token
	Secret  string
	Name    string
	Error   string
}

func (c *console) tokens(w http.ResponseWriter, r *http.Request, s *session) error {
	return c.renderTokens(w, r, s, http.StatusOK, tokensData{})
}

func (c *console) renderTokens(w http.ResponseWriter, r *http.Request, s *session, status int, d tokensData) error {
	toks, err := c.svc.ListTokens(r.Context(), s.P)
	if err != nil {
		return err
	}
	slices.Reverse(toks) // newest first
	d.Tokens = toks
	return c.render(w, r, status, "tokens", view{Title: "Tokens", Nav: "tokens", S: s, CSRF: s.CSRF, Notice: notice(r), Data: d})
}

// createToken answers with the page itself rather than a redirect: the
// secret is shown on this one answer (not cached) and is gone on reload.
func (c *console) createToken(w http.ResponseWriter, r *http.Request, s *session) error {
	name := strings.TrimSpace(r.PostForm.Get("name"))
	tok, secret, err := c.svc.CreateToken(r.Context(), s.P, name, dbtrust.Role(r.PostForm.Get("role")))
	if dbtrust.ErrorCode(err) == dbtrust.Invalid {
		return c.renderTokens(w, r, s, http.StatusBadRequest, tokensData{Name: name, Error: dbtrust.ErrorMessage(err)})
	}
	if err != nil {
		return err
	}
	return c.renderTokens(w, r, s, http.StatusCreated, tokensData{Created: &tok, Secret: secret})
}

func (c *console) revokeToken(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.svc.RevokeToken(r.Context(), s.P, r.PathValue("id")); err != nil {
		return err
	}
	http.Redirect(w, r, "/ui/tokens?done=token", http.StatusSeeOther)
	return nil
}

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
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 && n <= 1000 {
		d.Limit = n
	}
	events, err := c.svc.Audit(r.Context(), s.P, d.Limit)
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
