package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/pki"
	"github.com/dbtrust/dbtrust/internal/servicetest"
)

// The browser tests drive the console in a real headless Chromium (Debian's
// chromium package; .ci/run installs it). Without one they are skipped,
// except under CI=true, where a missing browser fails them.

func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("DBTRUST_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH: .ci/run installs Debian's chromium package")
	}
	t.Skip("no chromium on PATH (apt-get install chromium, or set DBTRUST_TEST_CHROMIUM)")
	return ""
}

// browser is one tab of a fresh headless Chromium with its own profile.
type browser struct {
	t       *testing.T
	ctx     context.Context
	url     string
	dialogs atomic.Int32 // confirmations accepted
}

func newBrowser(t *testing.T, baseURL string) *browser {
	t.Helper()
	path := chromiumPath(t)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelT(); cancelB(); cancelA() })
	b := &browser{t: t, ctx: ctx, url: baseURL}
	b.do(chromedp.EmulateViewport(1280, 900))
	// The viewer is in Tokyo: the console shows times in their zone.
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Tokyo"}); err != nil {
		t.Fatal(err)
	}
	// Accept every confirmation the console asks for, as a user clicking OK.
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			b.dialogs.Add(1)
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return b
}

func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

func (b *browser) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.url+path), chromedp.WaitReady(chromedp.CSS("footer")))
}

// submit clicks sel (a button that posts a form or a link) and waits for the
// page that answers.
func (b *browser) submit(sel string) {
	b.t.Helper()
	eval[bool](b, `window.__old = true`)
	b.do(chromedp.Click(chromedp.CSS(sel)))
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		done, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`!window.__old && document.readyState === "complete"`))
		if err == nil && done {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.t.Fatalf("clicking %s led to no new page", sel)
}

func eval[T any](b *browser, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// text is the visible text of the first element sel matches ("" if none).
func (b *browser) text(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(document.querySelector(%q) || {innerText: ""}).innerText.trim()`, sel))
}

func (b *browser) count(sel string) int {
	b.t.Helper()
	return eval[int](b, fmt.Sprintf(`document.querySelectorAll(%q).length`, sel))
}

func (b *browser) wantText(sel, want string) {
	b.t.Helper()
	if got := b.text(sel); !strings.Contains(got, want) {
		b.t.Fatalf("%s reads %q, want it to contain %q (page %s)", sel, got, want, eval[string](b, "location.pathname"))
	}
}

// fitsWidth fails unless the page fits the viewport's width: wide tables
// and the timeline scroll inside their own boxes, the page never sideways.
func (b *browser) fitsWidth() {
	b.t.Helper()
	over := eval[string](b, `(() => {
		const w = document.documentElement.clientWidth;
		if (document.documentElement.scrollWidth <= w) return "";
		const out = [];
		document.querySelectorAll("body *").forEach(el => {
			const r = el.getBoundingClientRect();
			if (r.right > w + 1 && !el.closest(".table-wrap, .timeline-scroll")) out.push(el.tagName + "." + el.className + " " + Math.round(r.right));
		});
		return "page is " + document.documentElement.scrollWidth + "px wide in a " + w + "px viewport: " + out.slice(0, 5).join(", ");
	})()`)
	if over != "" {
		b.t.Errorf("%s: %s", eval[string](b, "location.pathname"), over)
	}
}

// screenshot saves the whole page at width as an artifact, and the first
// screen of it (at twice the pixel density) as name-screen.
func (b *browser) screenshot(name string, width, height int64) {
	b.t.Helper()
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(2)}
	if width < 600 { // a phone: overlay scroll bars, touch
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	b.do(chromedp.EmulateViewport(width, height, opts...))
	eval[bool](b, "(window.scrollTo(0, 0), true)")
	b.fitsWidth()
	screen, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	b.do(chromedp.EmulateViewport(width, height, opts[1:]...))
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	b.do(chromedp.EmulateViewport(1280, 900))
	dir := artifactDir(b.t)
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+"-screen.png"), screen, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", filepath.Join(dir, name+".png"))
}

// artifactDir is where the browser tests keep their screenshots:
// DBTRUST_TEST_ARTIFACTS, or a folder under the system's temporary one.
func artifactDir(t *testing.T) string {
	dir := os.Getenv("DBTRUST_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "dbtrust-console-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// sessionCookie is the browser's console session cookie, as a Go client
// would send it.
func (b *browser) sessionCookie() *http.Cookie {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.url + "/ui/"}})
	if err != nil {
		b.t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == "dbtrust_session" {
			if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict || c.Expires <= 0 {
				b.t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict and an expiry", c)
			}
			return &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	b.t.Fatal("no session cookie after sign-in")
	return nil
}

func (b *browser) signIn(token string) {
	b.t.Helper()
	b.open("/ui/")
	b.wantText("h1", "Sign in")
	b.do(chromedp.SendKeys(chromedp.CSS("#token"), token))
	b.submit("form[action='/ui/signin'] button")
}

func TestBrowser(t *testing.T) {
	e := startConsole(t)
	b := newBrowser(t, e.url)
	browseFleet(t, b, e)
	cas := rotateThroughButtons(t, b, e)
	serial := issueAndRevoke(t, b, e)
	trustStoreAndKeys(t, b, e)
	signOut(t, b, e, refuseForgedPosts(t, b, e, cas))
	viewerSeesNoWrites(t, b, e, serial)
}

// browseFleet signs in as the owner, reads the fleet and filters it.
func browseFleet(t *testing.T, b *browser, e *consoleEnv) {
	t.Helper()
	b.signIn(e.ownerToken)
	b.wantText("h1", "Fleet")
	b.wantText("#fleet-table", "orders")
	b.wantText("#fleet-table", "cache")
	if n := b.count("#fleet-table tbody tr"); n != 4 {
		t.Fatalf("fleet table has %d rows, want 4", n)
	}
	b.wantText("#fleet-table", e.svc.InstanceHost(e.orders))
	b.wantText("#fleet-table", "rotation started") // events
	b.wantText("#fleet-table", "cache-0.cache.internal: 5 days left")
	if n := b.count("svg.timeline-svg rect.bar"); n != 8 {
		t.Fatalf("fleet timeline draws %d bars, want 6 CAs and 2 certificates", n)
	}
	if n := b.count("svg.timeline-svg rect.bar-crit"); n != 1 {
		t.Fatalf("fleet timeline marks %d bars as expiring within 7 days, want 1", n)
	}
	// Times are in the viewer's zone, with UTC in the hover text.
	created := b.text("#fleet-table tbody tr td time")
	title := eval[string](b, `document.querySelector("#fleet-table tbody tr td time").title`)
	if !strings.Contains(created, "GMT+9") || !strings.HasSuffix(title, "UTC") {
		t.Fatalf("a time reads %q (hover %q), want Tokyo time with UTC on hover", created, title)
	}
	b.screenshot("fleet-desktop", 1280, 800)
	// Search narrows the list (the server filters; the script does as one types).
	b.do(chromedp.SendKeys(chromedp.CSS("#q"), "cache"))
	b.submit("form[role=search] button[type=submit]")
	if n := b.count("#fleet-table tbody tr"); n != 1 || !strings.Contains(b.text("#fleet-table tbody"), "cache") {
		t.Fatalf("search cache: %d rows (%q), want the cache instance only", n, b.text("#fleet-table tbody"))
	}
	b.screenshot("fleet-phone", 390, 844)
}

// rotateThroughButtons opens an instance and takes its CA through start
// and finish with the buttons, and returns its CAs afterwards.
func rotateThroughButtons(t *testing.T, b *browser, e *consoleEnv) []dbtrust.CA {
	t.Helper()
	ctx := context.Background()
	b.open("/ui/")
	b.submit("#fleet-table a[href='/ui/instances/" + e.orders.ID + "']")
	b.wantText("h1", "orders")
	b.wantText("#rotation-stage", "no rotation")
	b.submit("form[action$='/rotation/start'] button")
	b.wantText(".notice", "Rotation started")
	b.wantText("#rotation-stage", "rotation started")
	b.wantText("#rotation .todo", "Fetch the CA bundle again")
	// A client fetches the new bundle through the API: the page lists it as
	// holding the next CA.
	req, _ := http.NewRequest("GET", e.url+"/v1/instances/"+e.orders.ID+"/ca-bundle", nil)
	req.Header.Set("Authorization", "Bearer "+e.viewerToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET ca-bundle as the viewer: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	b.open("/ui/instances/" + e.orders.ID)
	b.wantText("#clients-summary", "1 of 1 client that fetched the bundle holds it")
	b.wantText(".clients table", "viewer")
	b.submit("form[action$='/rotation/finish'] button")
	b.wantText(".notice", "Rotation finished")
	b.wantText("#rotation-stage", "rotation finished")
	b.wantText("#rotation .todo", "Re-issue every node's certificate")
	cas, err := e.svc.InstanceCAs(ctx, e.owner, e.orders.ID)
	if err != nil {
		t.Fatal(err)
	}
	states := map[dbtrust.CAState]int{}
	for _, ca := range cas {
		states[ca.State]++
	}
	if states[dbtrust.CACurrent] != 1 || states[dbtrust.CAPrevious] != 1 || states[dbtrust.CANext] != 0 {
		t.Fatalf("after start and finish in the console the CAs are %v, want one current and one previous", states)
	}
	if n := b.dialogs.Load(); n != 2 {
		t.Fatalf("the console asked %d confirmations for start and finish, want 2", n)
	}
	b.screenshot("instance-desktop", 1280, 900)
	b.screenshot("instance-phone", 390, 844)
	return cas
}

// issueAndRevoke issues a certificate from a pasted CSR and revokes it,
// and returns its serial.
func issueAndRevoke(t *testing.T, b *browser, e *consoleEnv) string {
	t.Helper()
	ctx := context.Background()
	// Issue from a pasted CSR: the page shows the certificate, never a key.
	b.submit("a[href$='/issue']")
	b.screenshot("issue-desktop", 1280, 900)
	csr := servicetest.CSR(t, "db9.orders.internal")
	b.do(chromedp.SetValue(chromedp.CSS("#csr"), string(csr)))
	b.submit("form[action$='/issue'] button[type=submit]")
	b.wantText(".notice", "Certificate issued")
	b.wantText("#cert-state", "live")
	certPEM := b.text("#cert-pem")
	if strings.Contains(eval[string](b, "document.body.innerHTML"), "PRIVATE KEY") {
		t.Fatal("the issuance answer shows a private key")
	}
	certs, err := pki.ParseCertsPEM([]byte(certPEM))
	if err != nil {
		t.Fatalf("the page's certificate does not parse: %v\n%s", err, certPEM)
	}
	cur := currentCA(t, e, e.orders.ID)
	if err := certs[0].CheckSignatureFrom(cur); err != nil || certs[0].DNSNames[0] != "db9.orders.internal" {
		t.Fatalf("issued certificate %v (SANs %v) is not signed by the new current CA: %v", certs[0].Subject, certs[0].DNSNames, err)
	}
	serial := certs[0].SerialNumber.Text(16)

	// Revoke it.
	b.submit("form[action$='/revoke'] button")
	b.wantText(".notice", "Certificate revoked")
	b.wantText("#cert-state", "revoked")
	if c, err := e.svc.GetIssuedCertificate(ctx, e.owner, e.orders.ID, serial); err != nil || c.RevokedAt == nil {
		t.Fatalf("after revoking in the console, the certificate is %+v, %v; want revoked", c, err)
	}
	return serial
}

// trustStoreAndKeys changes a trust state, reads a credential, makes a
// token and an access key, and filters the audit log.
func trustStoreAndKeys(t *testing.T, b *browser, e *consoleEnv) {
	t.Helper()
	ctx := context.Background()
	// Trust store: change an uploaded certificate's trust; a credential
	// shows its name and type, never its secret.
	b.open("/ui/trust")
	b.submit("a[href='/ui/trust/certificates/" + e.trustCert.ID + "']")
	b.wantText("#trust-state", "trusted")
	b.submit("form[action$='/trust'] button")
	b.wantText(".notice", "Trust state changed")
	b.wantText("#trust-state", "untrusted")
	b.screenshot("trust-certificate-desktop", 1280, 900)
	b.open("/ui/trust/credentials/" + e.cred.ID)
	b.wantText("h1", "backup-s3")
	b.wantText("main", "s3")
	if html := eval[string](b, "document.documentElement.outerHTML"); strings.Contains(html, e.credSecret) || strings.Contains(html, "AKIAEXAMPLE") {
		t.Fatal("the credential page shows a secret of its key store")
	}

	// Tokens and access keys: the secret is shown once, on the answer.
	b.open("/ui/tokens")
	b.do(chromedp.SendKeys(chromedp.CSS("#key-name"), "ci-deploy"))
	b.submit("form[action='/ui/tokens'] button[type=submit]")
	tok := b.text("#new-secret")
	if p, err := e.svc.Authenticate(ctx, tok); err != nil || p.Role != dbtrust.RoleViewer {
		t.Fatalf("the token the console showed authenticates as %+v, %v; want a viewer", p, err)
	}
	b.open("/ui/tokens")
	if b.count("#new-secret") != 0 || strings.Contains(eval[string](b, "document.body.innerHTML"), tok) {
		t.Fatal("the tokens page shows the new token's secret again")
	}
	b.screenshot("tokens-desktop", 1280, 900)
	b.open("/ui/access-keys")
	b.do(chromedp.SendKeys(chromedp.CSS("#key-name"), "sdk"))
	b.submit("form[action='/ui/access-keys'] button[type=submit]")
	if ak, sk := b.text("#new-id"), b.text("#new-secret"); !strings.HasPrefix(ak, "DBTK") || len(sk) < 20 {
		t.Fatalf("the new access key reads AK %q, SK %q", ak, sk)
	}
	b.submit("form[action$='/revoke'] button")
	b.wantText(".notice", "Access key revoked")
	b.open("/ui/audit")
	b.do(chromedp.SendKeys(chromedp.CSS("#action"), "rotation.finish"))
	b.submit("form[role=search] button[type=submit]")
	b.wantText("#audit-table", "rotation.finish")
	if n := b.count("#audit-table tbody tr"); n != 2 { // catalog's in the setup, orders' through the buttons
		t.Fatalf("the audit log filtered on rotation.finish shows %d events, want 2:\n%s", n, b.text("#audit-table"))
	}
	b.screenshot("audit-desktop", 1280, 900)
}

// refuseForgedPosts posts without the CSRF token, from the page and from
// a client holding the cookie, and returns that cookie.
func refuseForgedPosts(t *testing.T, b *browser, e *consoleEnv, cas []dbtrust.CA) *http.Cookie {
	t.Helper()
	ctx := context.Background()
	// A POST without the CSRF token is refused, from the page itself and
	// from a client holding the session cookie.
	status := eval[int](b, fmt.Sprintf(`fetch("/ui/instances/%s/rotation/start", {method: "POST",
		body: new URLSearchParams({key_type: ""})}).then(r => r.status)`, e.orders.ID))
	if status != http.StatusForbidden {
		t.Fatalf("in-page POST without CSRF token = %d, want 403", status)
	}
	ownerCookie := b.sessionCookie()
	if code := post(t, e.url+"/ui/instances/"+e.orders.ID+"/rotation/start", ownerCookie, url.Values{"key_type": {""}}); code != http.StatusForbidden {
		t.Fatalf("forged POST with the session cookie but no CSRF token = %d, want 403", code)
	}
	if cas2, _ := e.svc.InstanceCAs(ctx, e.owner, e.orders.ID); len(cas2) != len(cas) {
		t.Fatalf("a refused POST changed the CAs: %d, want %d", len(cas2), len(cas))
	}
	return ownerCookie
}

// signOut signs out and checks that the old cookie no longer works.
func signOut(t *testing.T, b *browser, e *consoleEnv, ownerCookie *http.Cookie) {
	t.Helper()
	// Sign out: the session is gone, the cookie no longer works.
	b.submit("form[action='/ui/signout'] button")
	b.wantText("h1", "Sign in")
	b.wantText(".notice", "You are signed out")
	if code := get(t, e.url+"/ui/", ownerCookie); code != http.StatusSeeOther {
		t.Fatalf("GET /ui/ with a signed-out session = %d, want 303 to sign-in", code)
	}
}

// viewerSeesNoWrites signs in as a viewer: no write controls, and posts
// with a good CSRF token are still refused.
func viewerSeesNoWrites(t *testing.T, b *browser, e *consoleEnv, serial string) {
	t.Helper()
	// A viewer sees no write controls, and is refused when it posts anyway.
	b.signIn(e.viewerToken)
	b.wantText("h1", "Fleet")
	b.wantText(".who .role", "viewer")
	for _, path := range []string{"/ui/", "/ui/instances/" + e.orders.ID, "/ui/instances/" + e.orders.ID + "/certificates/" + serial} {
		b.open(path)
		if n := b.count("main form[method=post], main a[href$='/issue']"); n != 0 {
			t.Fatalf("a viewer sees %d write controls on %s, want none", n, path)
		}
		if n := b.count(".top a[href='/ui/tokens'], .top a[href='/ui/audit']"); n != 0 {
			t.Fatalf("a viewer sees %d admin links on %s, want none", n, path)
		}
	}
	b.open("/ui/instances/" + e.orders.ID)
	b.screenshot("instance-viewer-phone", 390, 844)
	csrf := eval[string](b, `document.querySelector("input[name=csrf]").value`)
	viewerCookie := b.sessionCookie()
	for _, form := range []struct {
		path string
		body url.Values
	}{
		{"/ui/instances/" + e.orders.ID + "/rotation/retire", url.Values{"force": {"on"}}},
		{"/ui/instances/" + e.orders.ID + "/issue", url.Values{"csr": {string(servicetest.CSR(t, "x.example"))}}},
		{"/ui/tokens", url.Values{"name": {"mine"}, "role": {"viewer"}}},
	} {
		form.body.Set("csrf", csrf)
		if code := post(t, e.url+form.path, viewerCookie, form.body); code != http.StatusForbidden {
			t.Errorf("viewer POST %s with a good CSRF token = %d, want 403", form.path, code)
		}
	}
	b.open("/ui/tokens")
	b.wantText("main", "needs the admin role")
}
