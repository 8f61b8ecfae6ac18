package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/httpx"
)

// contentSecurityPolicy lets a page load only what dbtrust serves under
// /ui/static/: no inline script or style, no frames, forms post to dbtrust only.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// secure sets the headers every console answer carries.
func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// session is a signed-in request: who acts, and the CSRF token its forms carry.
type session struct {
	P       dbtrust.Principal
	CSRF    string
	Expires time.Time
	secret  string
}

// can reports whether the signed-in role includes role.
func (s *session) Can(role string) bool { return s != nil && s.P.Role.AtLeast(dbtrust.Role(role)) }

type handler func(w http.ResponseWriter, r *http.Request, s *session) error

// sessionCookie names the session cookie: with the __Host- prefix over HTTPS,
// where browsers then insist on Secure, Path=/ and no Domain.
func sessionCookie(r *http.Request) (name, path string) {
	if r.TLS != nil {
		return "__Host-dbtrust_session", "/"
	}
	return "dbtrust_session", "/ui/"
}

// sessionSecret is the session cookie's value, "" without one.
func sessionSecret(r *http.Request) string {
	name, _ := sessionCookie(r)
	if ck, err := r.Cookie(name); err == nil {
		return ck.Value
	}
	return ""
}

func setCookie(w http.ResponseWriter, r *http.Request, value string, expires time.Time) {
	name, path := sessionCookie(r)
	c := &http.Cookie{Name: name, Value: value, Path: path, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.Expires, c.MaxAge = expires, max(1, int(time.Until(expires).Seconds()))
	}
	http.SetCookie(w, c)
}

// csrfToken is derived from the session secret, which only the browser's
// HttpOnly cookie and this request hold: another site can neither read it
// nor compute it.
func csrfToken(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("dbtrust console csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// auth runs h for a signed-in caller. Without a session a page asks to sign
// in; a form post must carry the session's CSRF token and come from this
// origin.
func (c *console) auth(h handler) http.Handler {
	return secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret := sessionSecret(r)
		p, sess, err := c.svc.SessionPrincipal(r.Context(), secret)
		if dbtrust.ErrorCode(err) == dbtrust.Unauthorized && r.Method == http.MethodGet {
			http.Redirect(w, r, "/ui/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		s := &session{P: p, CSRF: csrfToken(secret), Expires: sess.ExpiresAt, secret: secret}
		_, err = httpx.Admit(w, r, c.cfg.Limits, p, err)
		if err == nil && r.Method == http.MethodPost {
			err = checkForm(w, r, s.CSRF)
		}
		if err == nil {
			err = h(w, r, s)
		}
		if err != nil {
			c.fail(w, r, s, err)
		}
	}))
}

// public runs h for anyone (sign-in, not-found), limited per address.
func (c *console) public(h handler) http.Handler {
	return secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		if c.cfg.Limits != nil {
			_, err = httpx.Limit(w, r, c.cfg.Limits.Public, "ip:"+httpx.ClientAddr(r))
		}
		if err == nil {
			err = h(w, r, nil)
		}
		if err != nil {
			c.fail(w, r, nil, err)
		}
	}))
}

var errForged = dbtrust.Errorf(dbtrust.Forbidden, "this form was not sent from a console page of this session (its CSRF token does not match): reload the page and try again")

// checkForm parses a posted form (at most 1 MiB) and refuses it unless it
// carries want as its csrf field and, when the browser names an Origin, comes
// from this server.
func checkForm(w http.ResponseWriter, r *http.Request, want string) error {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		return dbtrust.Errorf(dbtrust.Invalid, "the form could not be read (is it larger than 1 MiB?)")
	}
	if o := r.Header.Get("Origin"); o != "" && !sameOrigin(r, o) {
		return errForged
	}
	got := r.PostForm.Get("csrf")
	if want == "" || !hmac.Equal([]byte(got), []byte(want)) {
		return errForged
	}
	return nil
}

func sameOrigin(r *http.Request, origin string) bool {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return strings.EqualFold(origin, scheme+"://"+r.Host)
}

// ---- sign-in and sign-out ----

// preSessionCookie carries the sign-in form's CSRF token (double submit):
// before sign-in there is no session to derive one from.
const preSessionCookie = "dbtrust_signin"

func (c *console) signInPage(w http.ResponseWriter, r *http.Request, _ *session) error {
	next := safeNext(r.URL.Query().Get("next"))
	if _, _, err := c.svc.SessionPrincipal(r.Context(), sessionSecret(r)); err == nil {
		http.Redirect(w, r, next, http.StatusSeeOther) // signed in already
		return nil
	}
	v := view{Title: "Sign in", Data: signInData{Next: next}}
	if r.URL.Query().Has("signedout") {
		v.Notice = "You are signed out: the session has ended on the server too."
	}
	b := make([]byte, 24)
	rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: preSessionCookie, Value: tok, Path: "/ui/signin", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	v.CSRF = tok
	return c.render(w, r, http.StatusOK, "signin", v)
}

type signInData struct {
	Next  string
	Error string
}

func (c *console) signIn(w http.ResponseWriter, r *http.Request, _ *session) error {
	ck, err := r.Cookie(preSessionCookie)
	want := ""
	if err == nil {
		want = ck.Value
	}
	if err := checkForm(w, r, want); err != nil {
		return err
	}
	next := safeNext(r.PostForm.Get("next"))
	sess, secret, err := c.svc.SignIn(r.Context(), strings.TrimSpace(r.PostForm.Get("token")), c.cfg.SessionTTL)
	switch dbtrust.ErrorCode(err) {
	case dbtrust.Unauthorized:
		return c.render(w, r, http.StatusUnauthorized, "signin", view{Title: "Sign in", CSRF: want,
			Data: signInData{Next: next, Error: "That token was not accepted: it is unknown, revoked or mistyped. Paste the whole token, starting with dbt_."}})
	case dbtrust.Forbidden:
		return c.render(w, r, http.StatusForbidden, "signin", view{Title: "Sign in", CSRF: want, Data: signInData{Next: next, Error: dbtrust.ErrorMessage(err)}})
	}
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: preSessionCookie, Path: "/ui/signin", MaxAge: -1})
	setCookie(w, r, secret, sess.ExpiresAt)
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// safeNext keeps a post-sign-in destination inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/ui/") || strings.HasPrefix(next, "/ui/signin") || strings.ContainsAny(next, "\\\r\n") {
		return "/ui/"
	}
	return next
}

func (c *console) signOut(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.svc.SignOut(r.Context(), s.secret); err != nil {
		return err
	}
	setCookie(w, r, "", time.Time{})
	http.Redirect(w, r, "/ui/signin?signedout=1", http.StatusSeeOther)
	return nil
}
