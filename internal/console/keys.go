package console

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/dbtrust/dbtrust"
)

// Tokens and access keys are both secrets bound to a role: listed, created
// (the secret shown once, on the answer to the form) and revoked the same
// way. keyKind says which.

type keyRow struct {
	ID        string
	Name      string
	Role      dbtrust.Role // as it acts ("node" for a node token)
	Guard     dbtrust.Role // the role needed to revoke it
	CreatedAt time.Time
	RevokedAt *time.Time
}

type keyKind struct {
	Title, Nav, Path, Notice string
	Noun, IDLabel, Secret    string // "token", "ID", "Token"; "access key", "Access key (AK)", "Secret key (SK)"
	Lede                     string
	list                     func(ctx context.Context, p dbtrust.Principal) ([]keyRow, error)
	create                   func(ctx context.Context, p dbtrust.Principal, name string, role dbtrust.Role) (keyRow, string, error)
	revoke                   func(ctx context.Context, p dbtrust.Principal, id string) error
}

func (c *console) tokenKind() keyKind {
	row := func(t dbtrust.Token) keyRow {
		return keyRow{ID: t.ID, Name: t.Name, Role: t.PrincipalRole(), Guard: t.Role, CreatedAt: t.CreatedAt, RevokedAt: t.RevokedAt}
	}
	return keyKind{Title: "Tokens", Nav: "tokens", Path: "/ui/tokens", Notice: "token", Noun: "token", IDLabel: "ID", Secret: "Token",
		Lede: "Bearer tokens for the APIs, the CLI and this console.",
		list: func(ctx context.Context, p dbtrust.Principal) ([]keyRow, error) {
			toks, err := c.svc.ListTokens(ctx, p)
			return mapRows(toks, row), err
		},
		create: func(ctx context.Context, p dbtrust.Principal, name string, role dbtrust.Role) (keyRow, string, error) {
			t, secret, err := c.svc.CreateToken(ctx, p, name, role)
			return row(t), secret, err
		},
		revoke: c.svc.RevokeToken,
	}
}

func (c *console) accessKeyKind() keyKind {
	return keyKind{Title: "Access keys", Nav: "keys", Path: "/ui/access-keys", Notice: "key", Noun: "access key",
		IDLabel: "Access key (AK)", Secret: "Secret key (SK)", Lede: "AK/SK pairs for Huawei Cloud's SDKs and request signing.",
		list: func(ctx context.Context, p dbtrust.Principal) ([]keyRow, error) {
			keys, err := c.cfg.AccessKeys.List(ctx, p)
			return mapRows(keys, accessKeyRow), err
		},
		create: func(ctx context.Context, p dbtrust.Principal, name string, role dbtrust.Role) (keyRow, string, error) {
			k, secret, err := c.cfg.AccessKeys.Create(ctx, p, name, role)
			return accessKeyRow(k), secret, err
		},
		revoke: c.cfg.AccessKeys.Revoke,
	}
}

func mapRows[T any](in []T, f func(T) keyRow) []keyRow {
	out := make([]keyRow, 0, len(in))
	for _, v := range in {
		out = append(out, f(v))
	}
	slices.Reverse(out) // newest first
	return out
}

type keysData struct {
	Kind keyKind
	Rows []keyRow
	// Created is the key just made, and Secret its secret: shown on this one
	// answer and never again.
	Created *keyRow
	Secret  string
	Name    string
	Error   string
}

func (c *console) keys(k keyKind) handler {
	return func(w http.ResponseWriter, r *http.Request, s *session) error {
		return c.renderKeys(w, r, s, http.StatusOK, keysData{Kind: k})
	}
}

func (c *console) renderKeys(w http.ResponseWriter, r *http.Request, s *session, status int, d keysData) error {
	rows, err := d.Kind.list(r.Context(), s.P)
	if err != nil {
		return err
	}
	d.Rows = rows
	return c.render(w, r, status, "keys", view{Title: d.Kind.Title, Nav: d.Kind.Nav, S: s, CSRF: s.CSRF, Notice: notice(r), Data: d})
}

// createKey answers with the page itself rather than a redirect: the secret
// is shown on this one answer (not cached) and is gone on reload.
func (c *console) createKey(k keyKind) handler {
	return func(w http.ResponseWriter, r *http.Request, s *session) error {
		name := strings.TrimSpace(r.PostForm.Get("name"))
		row, secret, err := k.create(r.Context(), s.P, name, dbtrust.Role(r.PostForm.Get("role")))
		if dbtrust.ErrorCode(err) == dbtrust.Invalid {
			return c.renderKeys(w, r, s, http.StatusBadRequest, keysData{Kind: k, Name: name, Error: dbtrust.ErrorMessage(err)})
		}
		if err != nil {
			return err
		}
		return c.renderKeys(w, r, s, http.StatusCreated, keysData{Kind: k, Created: &row, Secret: secret})
	}
}

func (c *console) revokeKey(k keyKind) handler {
	return func(w http.ResponseWriter, r *http.Request, s *session) error {
		if err := k.revoke(r.Context(), s.P, r.PathValue("id")); err != nil {
			return err
		}
		http.Redirect(w, r, k.Path+"?done="+k.Notice, http.StatusSeeOther)
		return nil
	}
}
