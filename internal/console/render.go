package console

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/httpx"
)

// errorTable maps every core Code to the status of the console's error page.
var errorTable = map[dbtrust.Code]int{
	dbtrust.Invalid:            http.StatusBadRequest,
	dbtrust.NotFound:           http.StatusNotFound,
	dbtrust.Conflict:           http.StatusConflict,
	dbtrust.Unauthorized:       http.StatusUnauthorized,
	dbtrust.Forbidden:          http.StatusForbidden,
	dbtrust.PreconditionFailed: http.StatusPreconditionFailed,
	dbtrust.TooLarge:           http.StatusRequestEntityTooLarge,
	dbtrust.RateLimited:        http.StatusTooManyRequests,
	dbtrust.Unavailable:        http.StatusServiceUnavailable,
	dbtrust.Internal:           http.StatusInternalServerError,
}

// view is what every page template gets.
type view struct {
	Title  string
	Nav    string // the active navigation entry
	S      *session
	CSRF   string
	Notice string // a confirmation of what the last action did
	Data   any
}

type pageTemplate = template.Template

// parsePages parses each page template together with the layout.
func parsePages() map[string]*pageTemplate {
	funcs := template.FuncMap{
		"time":  timeTag,
		"fp":    fingerprint,
		"join":  strings.Join,
		"split": strings.Fields,
		"add":   func(a, b float64) float64 { return a + b },
		"days":  days,
		"roles": func() []dbtrust.Role {
			return []dbtrust.Role{dbtrust.RoleViewer, dbtrust.RoleMember, dbtrust.RoleAdmin, dbtrust.RoleOwner}
		},
		"reasons": revocationReasons,
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*pageTemplate{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if strings.HasPrefix(name, "_") {
			continue
		}
		pages[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/_*.html", n))
	}
	return pages
}

// render writes page name with v, buffered so that a template failure never
// sends half a page.
func (c *console) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) error {
	t, ok := c.pages[name]
	if !ok {
		return dbtrust.Errorf(dbtrust.Internal, "no page %q", name)
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", v); err != nil {
		return dbtrust.Wrap(dbtrust.Internal, err, "the page could not be drawn")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b.Bytes())
	return nil
}

type errorData struct {
	Status  int
	Message string
	Request string
}

// fail answers with the error page: the core's client-safe message and what
// to do next; internals go to the log only.
func (c *console) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	code := dbtrust.ErrorCode(err)
	status, ok := errorTable[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if code == dbtrust.Internal || code == dbtrust.Unavailable {
		c.cfg.Log.Error("console request failed", "request_id", httpx.RequestID(r), "path", r.URL.Path, "err", err)
	}
	if code == dbtrust.Unauthorized {
		s = nil
	}
	msg := dbtrust.ErrorMessage(err)
	if code == dbtrust.Unavailable {
		msg += ": try again in a moment"
	}
	v := view{Title: http.StatusText(status), S: s, Data: errorData{Status: status, Message: msg, Request: httpx.RequestID(r)}}
	if s != nil {
		v.CSRF = s.CSRF
	}
	if rerr := c.render(w, r, status, "error", v); rerr != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

func (c *console) notFound(w http.ResponseWriter, r *http.Request, _ *session) error {
	return dbtrust.Errorf(dbtrust.NotFound, "there is no console page at this address")
}

// staticFiles serves the embedded stylesheet and script; they change only
// with the binary.
func staticFiles(fsys fs.FS) http.Handler {
	fileServer := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") { // no folder listings
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fileServer.ServeHTTP(w, r)
	})
}

// timeTag shows t as UTC; the console's script rewrites it into the
// viewer's zone and keeps UTC in the hover text.
func timeTag(t time.Time) template.HTML {
	if t.IsZero() {
		return "—"
	}
	u := t.UTC()
	return template.HTML(fmt.Sprintf(`<time datetime="%s" title="%s">%s</time>`,
		u.Format(time.RFC3339), u.Format("2006-01-02 15:04:05 UTC"), u.Format("2006-01-02 15:04 UTC")))
}

// fingerprint writes a hex SHA-256 as colon-separated pairs.
func fingerprint(hex string) string {
	var b strings.Builder
	for i := 0; i+1 < len(hex); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strings.ToUpper(hex[i : i+2]))
	}
	return b.String()
}

// days writes a duration in whole days, or in hours when shorter than two days.
func days(d time.Duration) string {
	if d < 48*time.Hour {
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

func revocationReasons() []string {
	return []string{"unspecified", "key_compromise", "ca_compromise", "affiliation_changed", "superseded", "cessation_of_operation", "privilege_withdrawn"}
}
