package console_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/dbtrust/dbtrust/internal/server"
	"github.com/dbtrust/dbtrust/internal/servicetest"
)

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// client is a cookie-keeping client of the console, without a browser.
type client struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newClient(t *testing.T, base string, hc *http.Client) *client {
	t.Helper()
	if hc == nil {
		hc = &http.Client{}
	}
	jar := &cookieJar{m: map[string]*http.Cookie{}}
	c := *hc
	c.Jar, c.CheckRedirect = jar, func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &client{t: t, base: base, hc: &c}
}

// cookieJar keeps every cookie whatever its path, so that tests can look
// at exactly what the server set.
type cookieJar struct{ m map[string]*http.Cookie }

func (j *cookieJar) SetCookies(_ *url.URL, cs []*http.Cookie) {
	for _, c := range cs {
		if c.MaxAge < 0 {
			delete(j.m, c.Name)
		} else {
			j.m[c.Name] = c
		}
	}
}

func (j *cookieJar) Cookies(*url.URL) []*http.Cookie {
	var out []*http.Cookie
	for _, c := range j.m {
		out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	return out
}

func (c *client) req(method, path string, form url.Values, hdr ...string) (*http.Response, string) {
	c.t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, _ := http.NewRequest(method, c.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp, b.String()
}

// signIn posts token on the sign-in form and returns the answer.
func (c *client) signIn(token, next string) *http.Response {
	c.t.Helper()
	_, page := c.req("GET", "/ui/signin", nil)
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		c.t.Fatalf("the sign-in page has no CSRF field:\n%s", page)
	}
	resp, _ := c.req("POST", "/ui/signin", url.Values{"csrf": {m[1]}, "token": {token}, "next": {next}})
	return resp
}

func (c *client) csrf(path string) string {
	c.t.Helper()
	_, page := c.req("GET", path, nil)
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		c.t.Fatalf("%s has no CSRF field", path)
	}
	return m[1]
}

func TestSecurityHeaders(t *testing.T) {
	e := startConsole(t)
	c := newClient(t, e.url, nil)
	if r := c.signIn(e.ownerToken, "/ui/"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in = %d, want 303", r.StatusCode)
	}
	for _, path := range []string{"/ui/signin", "/ui/", "/ui/instances/" + e.orders.ID, "/ui/tokens", "/ui/static/console.css", "/ui/no-such-page", "/ui/instances/" + e.orders.ID + "/bundle.pem"} {
		resp, _ := c.req("GET", path, nil)
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("GET %s: CSP %q allows inline or eval", path, csp)
		}
		if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: X-Frame-Options %q, X-Content-Type-Options %q", path, h.Get("X-Frame-Options"), h.Get("X-Content-Type-Options"))
		}
	}
	if resp, body := c.req("GET", "/ui/static/", nil); resp.StatusCode != http.StatusNotFound || strings.Contains(body, "console.js") {
		t.Errorf("GET /ui/static/ = %d, want 404 without a listing", resp.StatusCode)
	}
	// The root redirects to the console.
	if resp, _ := c.req("GET", "/", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/" {
		t.Errorf("GET / = %d to %q, want 303 to /ui/", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestSessionCookie(t *testing.T) {
	e := startConsole(t)
	c := newClient(t, e.url, nil)
	resp := c.signIn(e.ownerToken, "/ui/")
	var sess *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "dbtrust_session" {
			sess = ck
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Path != "/ui/" || sess.MaxAge <= 0 || sess.Expires.IsZero() || sess.Secure {
		t.Fatalf("session cookie over HTTP = %+v, want HttpOnly, SameSite=Strict, Path=/ui/, expiring, not Secure", sess)
	}
	if strings.Contains(sess.Value, e.ownerToken) || strings.Contains(e.ownerToken, sess.Value) {
		t.Fatal("the session cookie carries the token")
	}

	// Over HTTPS the cookie is Secure, with the __Host- prefix.
	env := startConsole(t)
	ts := httptest.NewTLSServer(server.New(server.Config{Service: env.svc}))
	t.Cleanup(ts.Close)
	tc := newClient(t, ts.URL, &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ts.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}}})
	resp = tc.signIn(env.ownerToken, "/ui/")
	sess = nil
	for _, ck := range resp.Cookies() {
		if ck.Name == "__Host-dbtrust_session" {
			sess = ck
		}
	}
	if sess == nil || !sess.Secure || !sess.HttpOnly || sess.Path != "/" || sess.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie over HTTPS = %+v, want __Host-, Secure, HttpOnly, Path=/, SameSite=Strict", sess)
	}
	if r, page := tc.req("GET", "/ui/", nil); r.StatusCode != http.StatusOK || !strings.Contains(page, "orders") {
		t.Fatalf("fleet over HTTPS = %d", r.StatusCode)
	}
	if r, _ := tc.req("GET", "/ui/", nil); r.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no Strict-Transport-Security over HTTPS")
	}
}

func TestSignIn(t *testing.T) {
	e := startConsole(t)
	tests := []struct {
		name, token, next string
		status            int
		location          string
	}{
		{"owner", e.ownerToken, "/ui/instances/" + e.orders.ID, http.StatusSeeOther, "/ui/instances/" + e.orders.ID},
		{"bad token", "dbt_0000000000000000_" + strings.Repeat("A", 43), "/ui/", http.StatusUnauthorized, ""},
		{"not a token", "hello", "/ui/", http.StatusUnauthorized, ""},
		{"off-site next", e.ownerToken, "//evil.example/ui/", http.StatusSeeOther, "/ui/"},
		{"scheme next", e.ownerToken, "https://evil.example/", http.StatusSeeOther, "/ui/"},
		{"backslash next", e.ownerToken, "/ui/\\evil.example", http.StatusSeeOther, "/ui/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, e.url, nil)
			resp := c.signIn(tt.token, tt.next)
			if resp.StatusCode != tt.status || resp.Header.Get("Location") != tt.location {
				t.Fatalf("sign-in = %d to %q, want %d to %q", resp.StatusCode, resp.Header.Get("Location"), tt.status, tt.location)
			}
		})
	}
	// Signed in already, the sign-in page sends the browser on.
	c := newClient(t, e.url, nil)
	c.signIn(e.ownerToken, "/ui/")
	if resp, _ := c.req("GET", "/ui/signin?next=/ui/tokens", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/tokens" {
		t.Fatalf("sign-in page while signed in = %d to %q, want 303 to /ui/tokens", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Without the sign-in page's cookie (a form posted from elsewhere) the
	// sign-in is refused before the token is looked at.
	c = newClient(t, e.url, nil)
	if resp, _ := c.req("POST", "/ui/signin", url.Values{"csrf": {"x"}, "token": {e.ownerToken}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-in without the form's cookie = %d, want 403", resp.StatusCode)
	}
}

func TestForgedPosts(t *testing.T) {
	e := startConsole(t)
	c := newClient(t, e.url, nil)
	c.signIn(e.ownerToken, "/ui/")
	good := c.csrf("/ui/")
	start := "/ui/instances/" + e.orders.ID + "/rotation/start"
	tests := []struct {
		name   string
		form   url.Values
		hdr    []string
		status int
	}{
		{"no CSRF token", url.Values{}, nil, http.StatusForbidden},
		{"wrong CSRF token", url.Values{"csrf": {strings.Repeat("A", len(good))}}, nil, http.StatusForbidden},
		{"another origin", url.Values{"csrf": {good}}, []string{"Origin", "http://evil.example"}, http.StatusForbidden},
		{"good", url.Values{"csrf": {good}}, []string{"Origin", e.url}, http.StatusSeeOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if resp, _ := c.req("POST", start, tt.form, tt.hdr...); resp.StatusCode != tt.status {
				t.Fatalf("POST %s = %d, want %d", start, resp.StatusCode, tt.status)
			}
		})
	}
	// No session at all: 401, and a GET goes to the sign-in page.
	anon := newClient(t, e.url, nil)
	if resp, _ := anon.req("POST", start, url.Values{"csrf": {good}}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("POST without a session = %d, want 401", resp.StatusCode)
	}
	if resp, _ := anon.req("GET", "/ui/tokens", nil); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/ui/signin?next=%2Fui%2Ftokens") {
		t.Fatalf("GET without a session = %d to %q, want the sign-in page", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestReadableWithoutScript reads the pages as a client without JavaScript:
// everything is in the HTML the server sends.
func TestReadableWithoutScript(t *testing.T) {
	e := startConsole(t)
	c := newClient(t, e.url, nil)
	c.signIn(e.ownerToken, "/ui/")
	pages := []struct{ path, want string }{
		{"/ui/", "orders"},
		{"/ui/?engine=redis", "cache"},
		{"/ui/instances/" + e.orders.ID, "sslmode=verify-full"},
		{"/ui/instances/" + e.orders.ID, "db1.orders.internal"},
		{"/ui/instances/" + e.orders.ID, "Automatic rotation: off"},
		{"/ui/instances/" + e.orders.ID + "?state=revoked", "No certificate matches this filter"},
		{"/ui/trust", "backup-s3"},
		{"/ui/audit?action=instance.create", "instance.create"},
	}
	for _, p := range pages {
		resp, body := c.req("GET", p.path, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, p.want) {
			t.Errorf("GET %s = %d, want 200 with %q", p.path, resp.StatusCode, p.want)
		}
	}
	if _, body := c.req("GET", "/ui/?engine=redis", nil); strings.Contains(body, ">orders<") {
		t.Error("the engine filter shows a pg instance")
	}
	resp, body := c.req("GET", "/ui/instances/"+e.orders.ID+"/bundle.pem", nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "-----BEGIN CERTIFICATE-----") || !strings.Contains(resp.Header.Get("Content-Disposition"), "orders-ca.pem") {
		t.Errorf("bundle download = %d %q", resp.StatusCode, resp.Header.Get("Content-Disposition"))
	}
	if resp, body := c.req("GET", "/ui/instances/5b2c8f62-3f0e-4a7e-9d59-0c1b6f1e2a33", nil); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "Back to the fleet") {
		t.Errorf("unknown instance = %d, want the 404 page", resp.StatusCode)
	}
}

// TestRotationAndIssueForms posts the forms a user without JavaScript
// would: every rotation step, a bad step, and issuance with bad input.
func TestRotationAndIssueForms(t *testing.T) {
	e := startConsole(t)
	c := newClient(t, e.url, nil)
	c.signIn(e.ownerToken, "/ui/")
	csrf := c.csrf("/ui/")
	base := "/ui/instances/" + e.orders.ID
	steps := []struct {
		step   string
		form   url.Values
		status int
		stage  string // what the instance page says afterwards
	}{
		{"finish", nil, http.StatusConflict, "no rotation"},
		{"start", url.Values{"key_type": {"ecdsa-p384"}}, http.StatusSeeOther, "rotation started"},
		{"finish", nil, http.StatusSeeOther, "rotation finished, old CA still served"},
		{"rollback", nil, http.StatusSeeOther, "rotation started"},
		{"finish", nil, http.StatusSeeOther, "rotation finished, old CA still served"},
		{"retire", nil, http.StatusConflict, "rotation finished, old CA still served"}, // a live certificate depends on the old CA
		{"retire", url.Values{"force": {"on"}}, http.StatusSeeOther, "no rotation"},
		{"explode", nil, http.StatusNotFound, "no rotation"},
	}
	for _, st := range steps {
		form := url.Values{"csrf": {csrf}}
		for k, v := range st.form {
			form[k] = v
		}
		resp, body := c.req("POST", base+"/rotation/"+st.step, form)
		if resp.StatusCode != st.status {
			t.Fatalf("POST rotation/%s = %d, want %d\n%s", st.step, resp.StatusCode, st.status, body)
		}
		if _, page := c.req("GET", base, nil); !strings.Contains(page, `id="rotation-stage">`+st.stage+`<`) {
			t.Fatalf("after %s the page does not say %q", st.step, st.stage)
		}
	}

	// Issuance: a refused form comes back with what was pasted and says why.
	for _, tt := range []struct{ name, csr, dns, ttl, field string }{
		{"no CSR", "", "", "90", "csr"},
		{"not a CSR", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----", "", "90", "csr"},
		{"bad DNS name", string(servicetest.CSR(t, "db1.example")), "not a name!", "90", "dns_names"},
		{"bad validity", string(servicetest.CSR(t, "db1.example")), "", "ninety", "ttl_days"},
	} {
		resp, body := c.req("POST", base+"/issue", url.Values{"csrf": {csrf}, "csr": {tt.csr}, "dns_names": {tt.dns}, "ttl_days": {tt.ttl}})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `class="error" role="alert"`) ||
			!regexp.MustCompile(`id="`+tt.field+`"[^>]*aria-invalid="true"`).MatchString(body) {
			t.Errorf("issue with %s = %d; want 400 with the error and %s marked invalid", tt.name, resp.StatusCode, tt.field)
		}
		if tt.csr != "" && !strings.Contains(body, strings.Split(tt.csr, "\n")[1][:4]) {
			t.Errorf("issue with %s: the pasted CSR is gone from the form", tt.name)
		}
		if strings.Contains(body, "PRIVATE KEY") {
			t.Errorf("issue with %s: the answer shows a private key", tt.name)
		}
	}
}

func TestAuditPages(t *testing.T) {
	e := startConsole(t)
	c := newClient(t, e.url, nil)
	c.signIn(e.ownerToken, "/ui/")
	// A refused request is in the log too.
	v := newClient(t, e.url, nil)
	v.signIn(e.viewerToken, "/ui/")
	if resp, _ := v.req("POST", "/ui/instances/"+e.orders.ID+"/rotation/start", url.Values{"csrf": {v.csrf("/ui/")}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("viewer rotation start = %d, want 403", resp.StatusCode)
	}
	rows := regexp.MustCompile(`<tr><th scope="row">`)
	ids := regexp.MustCompile(`before=(\d+)`)
	_, page1 := c.req("GET", "/ui/audit?limit=3", nil)
	m := ids.FindStringSubmatch(page1)
	if n := len(rows.FindAllString(page1, -1)); n != 3 || m == nil {
		t.Fatalf("first page of 3: %d rows, older link %v", n, m)
	}
	_, page2 := c.req("GET", "/ui/audit?limit=3&before="+m[1], nil)
	if n := len(rows.FindAllString(page2, -1)); n != 3 || !strings.Contains(page2, "Newest events") || page2 == page1 {
		t.Fatalf("second page: %d rows, want 3 older ones and a link back", n)
	}
	if _, body := c.req("GET", "/ui/audit?outcome=refused", nil); !strings.Contains(body, "forbidden") || strings.Contains(body, `pill-ok">ok<`) {
		t.Error("the refused filter does not show the viewer's refused request alone")
	}
	for _, bad := range []string{"since=yesterday", "until=2026-13-01", "before=x", "limit=0", "limit=5000"} {
		if resp, _ := c.req("GET", "/ui/audit?"+bad, nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET /ui/audit?%s = %d, want 400", bad, resp.StatusCode)
		}
	}
	if resp, body := c.req("GET", "/ui/audit?action=instance.create&since=2000-01-01&until=2999-12-31", nil); resp.StatusCode != http.StatusOK || len(rows.FindAllString(body, -1)) != 4 {
		t.Errorf("instance.create events over all time: %d rows, want the 4 instances", len(rows.FindAllString(body, -1)))
	}
}
