package huaweicloud_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/accesskey"
	"github.com/dbtrust/dbtrust/internal/dialect/huaweicloud"
	"github.com/dbtrust/dbtrust/internal/seal"
	"github.com/dbtrust/dbtrust/internal/server"
	"github.com/dbtrust/dbtrust/internal/sqlite"
)

// clock is a settable clock shared by the server and the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time                 { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration)            { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newClock() *clock                          { return &clock{t: time.Now().UTC().Truncate(time.Second)} }
func (c *clock) sdkDate(d time.Duration) string { return c.Now().Add(d).Format("20060102T150405Z") }

// env is a running dbtrust with two accounts, their instances and keys.
type env struct {
	t        testing.TB
	url      string
	clk      *clock
	svc      *dbtrust.Service
	keys     *accesskey.Service
	store    interface{ Close() error }
	a, b     dbtrust.Account
	ownerTok string
	key      key              // member AK/SK of account a
	viewer   key              // viewer AK/SK of account a
	bKey     key              // member AK/SK of account b
	cache    dbtrust.Instance // redis 7, TLS on
	plain    dbtrust.Instance // redis 7, TLS off
	pg       dbtrust.Instance // postgres
	old      dbtrust.Instance // redis 5
	bInst    dbtrust.Instance // redis 7 of account b
}

type key struct{ ak, sk string }

func newEnv(t testing.TB) *env { t.Helper(); return newEnvLimited(t, 1<<30) }

// newEnvLimited is newEnv with a rate limit of limit requests per caller per minute.
func newEnvLimited(t testing.TB, limit int) *env {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "dbtrust.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	kek, _ := seal.NewKey()
	sealer, _ := seal.New(kek)
	svc := dbtrust.NewService(store, sealer, dbtrust.Options{})
	e := &env{t: t, clk: newClock(), svc: svc, keys: accesskey.New(svc, store), store: store}
	ts := httptest.NewServer(nil)
	t.Cleanup(ts.Close)
	ts.Config.Handler = server.New(server.Config{Service: svc, PublicURL: ts.URL + "/", Clock: e.clk.Now, LinkTTL: 5 * time.Minute, RateLimit: limit})
	e.url = ts.URL

	var tok string
	e.a, tok, err = svc.CreateAccount(ctx, "alpha")
	must(t, err)
	e.ownerTok = tok
	e.b, _, err = svc.CreateAccount(ctx, "beta")
	must(t, err)
	pa, pb := dbtrust.Operator(e.a.ID), dbtrust.Operator(e.b.ID)
	mk := func(p dbtrust.Principal, role dbtrust.Role) key {
		k, sk, err := e.keys.Create(ctx, p, "test", role)
		must(t, err)
		return key{k.ID, sk}
	}
	e.key, e.viewer, e.bKey = mk(pa, dbtrust.RoleMember), mk(pa, dbtrust.RoleViewer), mk(pb, dbtrust.RoleMember)
	off := false
	inst := func(p dbtrust.Principal, spec dbtrust.InstanceSpec) dbtrust.Instance {
		i, err := svc.CreateInstance(ctx, p, spec)
		must(t, err)
		return i
	}
	e.cache = inst(pa, dbtrust.InstanceSpec{Name: "cache", Engine: "redis", Version: "7.0"})
	e.plain = inst(pa, dbtrust.InstanceSpec{Name: "plain", Engine: "redis", Version: "6.2", TLS: &off})
	e.pg = inst(pa, dbtrust.InstanceSpec{Name: "pg", Engine: "pg"})
	e.old = inst(pa, dbtrust.InstanceSpec{Name: "old", Engine: "redis", Version: "5.0"})
	e.bInst = inst(pb, dbtrust.InstanceSpec{Name: "cache", Engine: "redis"})
	return e
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// sdkSign signs r as huaweicloud-sdk-go-v3 does (user-agent, x-project-id,
// x-sdk-date; Content-Type set but not signed).
func sdkSign(r *http.Request, k key, date string, body []byte) {
	r.Header.Set("User-Agent", "huaweicloud-usdk-go/3.0")
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Sdk-Date", date)
	signed := []string{"user-agent", "x-sdk-date"}
	if r.Header.Get("X-Project-Id") != "" {
		signed = []string{"user-agent", "x-project-id", "x-sdk-date"}
	}
	r.Header.Set("Authorization", signature(r, k, date, signed, body))
}

func signature(r *http.Request, k key, date string, signed []string, body []byte) string {
	esc := func(s string) string {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			c := s[i]
			if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
				b.WriteByte(c)
			} else {
				b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
			}
		}
		return b.String()
	}
	segs := strings.Split(r.URL.Path, "/")
	for i := range segs {
		segs[i] = esc(segs[i])
	}
	uri := strings.Join(segs, "/")
	if !strings.HasSuffix(uri, "/") {
		uri += "/"
	}
	var q []string
	for k, vs := range r.URL.Query() {
		for _, v := range vs {
			q = append(q, esc(k)+"="+esc(v))
		}
	}
	sort.Strings(q)
	var hdr strings.Builder
	for _, h := range signed {
		v := r.Header.Get(h)
		if h == "host" {
			v = r.URL.Host
		}
		hdr.WriteString(h + ":" + strings.TrimSpace(v) + "\n")
	}
	bh := sha256.Sum256(body)
	cr := r.Method + "\n" + uri + "\n" + strings.Join(q, "&") + "\n" + hdr.String() + "\n" + strings.Join(signed, ";") + "\n" + hex.EncodeToString(bh[:])
	ch := sha256.Sum256([]byte(cr))
	m := hmac.New(sha256.New, []byte(k.sk))
	m.Write([]byte("SDK-HMAC-SHA256\n" + date + "\n" + hex.EncodeToString(ch[:])))
	return "SDK-HMAC-SHA256 Access=" + k.ak + ", SignedHeaders=" + strings.Join(signed, ";") + ", Signature=" + hex.EncodeToString(m.Sum(nil))
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (e *env) do(r *http.Request) reply {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(r)
	must(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(e.t, err)
	return reply{resp.StatusCode, resp.Header, b}
}

func (e *env) req(method, path string, body string) *http.Request {
	r, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	must(e.t, err)
	return r
}

// signed sends method path with an AK/SK signature made at the test clock.
func (e *env) signed(k key, method, path, body string) reply {
	r := e.req(method, path, body)
	sdkSign(r, k, e.clk.sdkDate(0), []byte(body))
	return e.do(r)
}

func (e *env) token(tok, method, path, body string) reply {
	r := e.req(method, path, body)
	r.Header.Set("X-Auth-Token", tok)
	return e.do(r)
}

func ddsPath(project, inst string) string {
	return "/v3/" + project + "/instances/" + inst + "/ssl-cert/download-link"
}
func dcsPath(project, inst, rest string) string {
	return "/v2/" + project + "/instances/" + inst + rest
}

type hwErr struct {
	ErrorCode   string  `json:"error_code"`
	ErrorMsg    string  `json:"error_msg"`
	ErrorExtMsg *string `json:"error_ext_msg"`
	RequestID   string  `json:"request_id"`
}

// wantHuaweiError checks status, error_code, the JSON shape and X-Request-Id.
func wantHuaweiError(t *testing.T, what string, got reply, status int, code string) hwErr {
	t.Helper()
	var b hwErr
	if err := json.Unmarshal(got.body, &b); err != nil {
		t.Fatalf("%s: body %q is not JSON: %v", what, got.body, err)
	}
	if got.status != status || b.ErrorCode != code || b.ErrorMsg == "" {
		t.Fatalf("%s = %d %s, want %d %s", what, got.status, got.body, status, code)
	}
	if got.header.Get("X-Request-Id") == "" || !strings.HasPrefix(got.header.Get("Content-Type"), "application/json") {
		t.Fatalf("%s: headers %v lack X-Request-Id or a JSON Content-Type", what, got.header)
	}
	if strings.HasPrefix(code, "APIGW.") && b.RequestID != got.header.Get("X-Request-Id") {
		t.Fatalf("%s: request_id %q differs from X-Request-Id %q", what, b.RequestID, got.header.Get("X-Request-Id"))
	}
	return b
}

// fetchBundle GETs a link and returns the PEM bundle it serves.
func (e *env) fetchBundle(link string) []byte {
	e.t.Helper()
	r, err := http.NewRequest("GET", link, nil)
	must(e.t, err)
	got := e.do(r)
	if got.status != 200 || got.header.Get("Content-Type") != "application/x-pem-file" {
		e.t.Fatalf("GET %s = %d %s", link, got.status, got.body)
	}
	return got.body
}

// verifiesServerCert checks that bundle verifies a server certificate issued
// from inst's CA, and not one of another instance.
func (e *env) verifiesServerCert(bundle []byte, owner dbtrust.Account, inst dbtrust.Instance) {
	e.t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(bundle) {
		e.t.Fatalf("bundle %q holds no certificate", bundle)
	}
	issued, err := e.svc.IssueCertificate(context.Background(), dbtrust.Operator(owner.ID), inst.ID, dbtrust.IssueRequest{})
	must(e.t, err)
	leafs, err := x509Parse(issued.CertPEM)
	must(e.t, err)
	if _, err := leafs.Verify(x509.VerifyOptions{Roots: pool, DNSName: issued.DNSNames[0]}); err != nil {
		e.t.Fatalf("server certificate of %s does not verify against the downloaded bundle: %v", inst.Name, err)
	}
}

func x509Parse(pemBytes []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	return x509.ParseCertificate(block.Bytes)
}

func TestDDSDownloadLink(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for name, got := range map[string]reply{
		"AK/SK":        e.signed(e.viewer, "GET", ddsPath(e.a.ProjectID, e.cache.ID), ""),
		"X-Auth-Token": e.token(e.ownerTok, "GET", ddsPath(e.a.ProjectID, e.cache.ID), ""),
	} {
		var b struct {
			Certs []struct {
				Category     string `json:"category"`
				DownloadLink string `json:"download_link"`
			} `json:"certs"`
		}
		if got.status != 200 || json.Unmarshal(got.body, &b) != nil || len(b.Certs) != 1 || b.Certs[0].Category != "international" {
			t.Fatalf("%s: DDS download-link = %d %s", name, got.status, got.body)
		}
		if got.header.Get("X-Request-Id") == "" {
			t.Fatalf("%s: no X-Request-Id", name)
		}
		link := b.Certs[0].DownloadLink
		if !strings.HasPrefix(link, e.url+"/"+huaweicloud.DDSBucket+"/") || !strings.Contains(link, "AWSAccessKeyId=") {
			t.Fatalf("%s: link %q is not a presigned dbtrust link", name, link)
		}
		e.verifiesServerCert(e.fetchBundle(link), e.a, e.cache)
	}
}

func TestDCSDownload(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for name, got := range map[string]reply{
		"AK/SK, no body": e.signed(e.key, "POST", dcsPath(e.a.ProjectID, e.cache.ID, "/ssl-certs/download"), ""),
		// Reading the CA is a viewer's right in the core (dbtrust.ActionReadCA),
		// whichever API asks: the DCS download too, write-level at Huawei.
		"AK/SK, viewer":         e.signed(e.viewer, "POST", dcsPath(e.a.ProjectID, e.cache.ID, "/ssl-certs/download"), ""),
		"AK/SK, {}":             e.signed(e.key, "POST", dcsPath(e.a.ProjectID, e.cache.ID, "/ssl-certs/download"), "{}\n"),
		"X-Auth-Token, no body": e.token(e.ownerTok, "POST", dcsPath(e.a.ProjectID, e.cache.ID, "/ssl-certs/download"), ""),
	} {
		var b struct {
			BucketName string `json:"bucket_name"`
			FileName   string `json:"file_name"`
			Link       string `json:"link"`
		}
		if got.status != 200 || json.Unmarshal(got.body, &b) != nil || b.BucketName != huaweicloud.DCSBucket || b.FileName != "ca.crt" {
			t.Fatalf("%s: DCS download = %d %s", name, got.status, got.body)
		}
		if !strings.Contains(b.Link, "/"+huaweicloud.DCSBucket+"/"+e.a.ProjectID+"/ssl-"+e.cache.ID+"/ca.crt?") {
			t.Fatalf("%s: link %q", name, b.Link)
		}
		e.verifiesServerCert(e.fetchBundle(b.Link), e.a, e.cache)
	}
}

// DCS.4201 is reachable (TLS off, not Redis 6/7) and curable (PUT ssl).
func TestDCSSSLSwitch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dl := func(inst dbtrust.Instance) reply {
		return e.signed(e.key, "POST", dcsPath(e.a.ProjectID, inst.ID, "/ssl-certs/download"), "")
	}
	for _, inst := range []dbtrust.Instance{e.plain, e.pg, e.old} {
		b := wantHuaweiError(t, "DCS download of "+inst.Name, dl(inst), 400, "DCS.4201")
		if b.ErrorMsg != "Do not support SSL." || b.ErrorExtMsg != nil || !strings.Contains(string(dl(inst).body), `"error_ext_msg":null`) {
			t.Fatalf("DCS.4201 body = %+v", b)
		}
	}
	show := func(inst dbtrust.Instance) (r reply, d struct {
		Enabled      bool   `json:"enabled"`
		Port         string `json:"port"`
		DomainName   string `json:"domain_name"`
		SSLExpiredAt string `json:"ssl_expired_at"`
		SSLValidated bool   `json:"ssl_validated"`
	}) {
		r = e.signed(e.viewer, "GET", dcsPath(e.a.ProjectID, inst.ID, "/ssl"), "")
		json.Unmarshal(r.body, &d)
		return r, d
	}
	if r, d := show(e.plain); r.status != 200 || d.Enabled || d.Port == "" || d.DomainName == "" || d.SSLExpiredAt == "" {
		t.Fatalf("GET ssl of plain = %d %s", r.status, r.body)
	}
	if r, d := show(e.cache); r.status != 200 || !d.Enabled || !d.SSLValidated {
		t.Fatalf("GET ssl of cache = %d %s", r.status, r.body)
	}
	wantHuaweiError(t, "GET ssl of pg", e.signed(e.viewer, "GET", dcsPath(e.a.ProjectID, e.pg.ID, "/ssl"), ""), 400, "DCS.4201")

	on := `{"enabled":true}`
	// A member key may download but not switch (the switch needs an admin).
	wantHuaweiError(t, "PUT ssl with a member key", e.signed(e.key, "PUT", dcsPath(e.a.ProjectID, e.plain.ID, "/ssl"), on), 403, "APIGW.0302")
	wantHuaweiError(t, "PUT ssl of pg", e.token(e.ownerTok, "PUT", dcsPath(e.a.ProjectID, e.pg.ID, "/ssl"), on), 400, "DCS.4201")
	for _, bad := range []string{"", "{}", `{"enabled":"yes"}`, `{"enabled":true,"x":1}`, "[", `{"enabled":true}{}`} {
		wantHuaweiError(t, "PUT ssl "+bad, e.token(e.ownerTok, "PUT", dcsPath(e.a.ProjectID, e.plain.ID, "/ssl"), bad), 400, "DCS.4202")
	}
	got := e.token(e.ownerTok, "PUT", dcsPath(e.a.ProjectID, e.plain.ID, "/ssl"), on)
	var sw struct {
		JobID      string `json:"job_id"`
		InstanceID string `json:"instance_id"`
		Result     string `json:"result"`
	}
	if got.status != 200 || json.Unmarshal(got.body, &sw) != nil || sw.InstanceID != e.plain.ID || sw.Result != "success" {
		t.Fatalf("PUT ssl = %d %s", got.status, got.body)
	}
	if r, d := show(e.plain); r.status != 200 || !d.Enabled {
		t.Fatalf("GET ssl after switching on = %d %s", r.status, r.body)
	}
	if r := dl(e.plain); r.status != 200 {
		t.Fatalf("DCS download after switching SSL on = %d %s", r.status, r.body)
	}
}

// Every bad input gets the right Huawei-shaped error, never a 500.
func TestErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pa, pb := e.a.ProjectID, e.b.ProjectID
	dds := ddsPath(pa, e.cache.ID)
	stale := func(d time.Duration) reply {
		r := e.req("GET", dds, "")
		sdkSign(r, e.key, e.clk.sdkDate(d), nil)
		return e.do(r)
	}
	otherHeaders := func() reply {
		r := e.req("GET", dds, "")
		sdkSign(r, e.key, e.clk.sdkDate(0), nil)
		// A signature made over x-sdk-date alone, sent as if over more.
		sig := signature(r, e.key, r.Header.Get("X-Sdk-Date"), []string{"x-sdk-date"}, nil)
		r.Header.Set("Authorization", strings.Replace(sig, "SignedHeaders=x-sdk-date", "SignedHeaders=user-agent;x-sdk-date", 1))
		return e.do(r)
	}
	wrongSig := func() reply {
		r := e.req("GET", dds, "")
		sdkSign(r, key{e.key.ak, strings.Repeat("x", 40)}, e.clk.sdkDate(0), nil)
		return e.do(r)
	}
	revoked := func() reply {
		k, sk, err := e.keys.Create(context.Background(), dbtrust.Operator(e.a.ID), "gone", dbtrust.RoleViewer)
		must(t, err)
		must(t, e.keys.Revoke(context.Background(), dbtrust.Operator(e.a.ID), k.ID))
		return e.signed(key{k.ID, sk}, "GET", dds, "")
	}
	xProject := func() reply {
		r := e.req("GET", dds, "")
		r.Header.Set("X-Project-Id", pb)
		sdkSign(r, e.key, e.clk.sdkDate(0), nil)
		return e.do(r)
	}
	missing := "00000000-0000-4000-8000-000000000000"
	tests := []struct {
		name   string
		got    reply
		status int
		code   string
	}{
		{"no credentials", e.do(e.req("GET", dds, "")), 401, "APIGW.0301"},
		{"bad token", e.token("dbt_0000000000000000_"+strings.Repeat("A", 43), "GET", dds, ""), 401, "APIGW.0301"},
		{"garbage token", e.token("MIIxyz", "GET", dds, ""), 401, "APIGW.0301"},
		{"bearer instead of a Huawei scheme", func() reply {
			r := e.req("GET", dds, "")
			r.Header.Set("Authorization", "Bearer "+e.ownerTok)
			return e.do(r)
		}(), 401, "APIGW.0301"},
		{"wrong signature", wrongSig(), 401, "APIGW.0301"},
		{"stale X-Sdk-Date", stale(-16 * time.Minute), 401, "APIGW.0301"},
		{"future X-Sdk-Date", stale(16 * time.Minute), 401, "APIGW.0301"},
		{"signature over other headers", otherHeaders(), 401, "APIGW.0301"},
		{"unknown AK", e.signed(key{"DBTKAAAAAAAAAAAAAAAA", e.key.sk}, "GET", dds, ""), 401, "APIGW.0301"},
		{"revoked AK", revoked(), 401, "APIGW.0301"},
		{"DDS foreign project", e.signed(e.key, "GET", ddsPath(pb, e.bInst.ID), ""), 404, "DBS.200002"},
		{"DDS foreign instance", e.signed(e.key, "GET", ddsPath(pa, e.bInst.ID), ""), 404, "DBS.200002"},
		{"DDS missing instance", e.signed(e.key, "GET", ddsPath(pa, missing), ""), 404, "DBS.200002"},
		{"DDS unknown project", e.signed(e.key, "GET", ddsPath(dbtrust.NewProjectID(), e.cache.ID), ""), 404, "DBS.200002"},
		{"DDS X-Project-Id of another project", xProject(), 404, "DBS.200002"},
		{"DDS malformed project", e.signed(e.key, "GET", ddsPath("ABC", e.cache.ID), ""), 400, "DBS.200001"},
		{"DDS placeholder project", e.signed(e.key, "GET", ddsPath("{project_id}", e.cache.ID), ""), 400, "DBS.200001"},
		{"DDS malformed instance", e.signed(e.key, "GET", ddsPath(pa, "inst-1"), ""), 400, "DBS.200001"},
		{"DDS very long instance", e.signed(e.key, "GET", ddsPath(pa, strings.Repeat("a", 5000)), ""), 400, "DBS.200001"},
		{"DCS foreign project", e.signed(e.key, "POST", dcsPath(pb, e.bInst.ID, "/ssl-certs/download"), ""), 404, "111404022"},
		{"DCS foreign instance", e.signed(e.key, "POST", dcsPath(pa, e.bInst.ID, "/ssl-certs/download"), ""), 404, "111404022"},
		{"DCS missing instance", e.signed(e.key, "POST", dcsPath(pa, missing, "/ssl-certs/download"), ""), 404, "111404022"},
		{"DCS malformed project", e.signed(e.key, "POST", dcsPath("0123", e.cache.ID, "/ssl-certs/download"), ""), 400, "111400002"},
		{"DCS malformed instance", e.signed(e.key, "POST", dcsPath(pa, "x'y", "/ssl-certs/download"), ""), 400, "111400061"},
		{"DCS body not JSON", e.signed(e.key, "POST", dcsPath(pa, e.cache.ID, "/ssl-certs/download"), "[1"), 400, "111400005"},
		{"DCS body too large", e.signed(e.key, "POST", dcsPath(pa, e.cache.ID, "/ssl-certs/download"), `{"x":"`+strings.Repeat("a", 70<<10)+`"}`), 400, "111400005"},
		{"DCS SSL switch with a viewer key", e.signed(e.viewer, "PUT", dcsPath(pa, e.cache.ID, "/ssl"), `{"enabled":true}`), 403, "APIGW.0302"},
		{"DCS wrong method", e.signed(e.key, "GET", dcsPath(pa, e.cache.ID, "/ssl-certs/download"), ""), 404, "APIGW.0101"},
		{"DCS unknown route", e.signed(e.key, "GET", "/v2/"+pa+"/instances", ""), 404, "APIGW.0101"},
		{"DDS unknown route", e.signed(e.key, "GET", "/v3/"+pa+"/instances", ""), 404, "APIGW.0101"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := wantHuaweiError(t, tt.name, tt.got, tt.status, tt.code)
			if strings.Contains(string(tt.got.body), e.key.sk) || strings.Contains(string(tt.got.body), "sql") {
				t.Fatalf("%s: body %s leaks a secret or internals", tt.name, tt.got.body)
			}
			if tt.code == "APIGW.0301" && !strings.HasPrefix(b.ErrorMsg, "Incorrect IAM authentication information: ") {
				t.Fatalf("%s: message %q", tt.name, b.ErrorMsg)
			}
		})
	}
	// A foreign project answers exactly like a missing instance.
	foreign := e.signed(e.key, "GET", ddsPath(pb, e.bInst.ID), "")
	absent := e.signed(e.key, "GET", ddsPath(pa, missing), "")
	var fb, ab hwErr
	json.Unmarshal(foreign.body, &fb)
	json.Unmarshal(absent.body, &ab)
	if fb.ErrorCode != ab.ErrorCode || fb.ErrorMsg != ab.ErrorMsg || foreign.status != absent.status {
		t.Fatalf("foreign project %d %s differs from missing instance %d %s", foreign.status, foreign.body, absent.status, absent.body)
	}
	// The unknown-AK message names the AK, as Huawei's gateway does.
	var u hwErr
	json.Unmarshal(e.signed(key{"DBTKAAAAAAAAAAAAAAAA", e.key.sk}, "GET", dds, "").body, &u)
	if !strings.Contains(u.ErrorMsg, "ak:DBTKAAAAAAAAAAAAAAAA,err:ak not exist") {
		t.Fatalf("unknown AK message = %q", u.ErrorMsg)
	}
}

type s3Err struct {
	Code      string `xml:"Code"`
	Message   string `xml:"Message"`
	RequestID string `xml:"RequestId"`
}

// A link changed anywhere, signed with another key, or expired gets a 403
// with an S3 XML error and no file.
func TestLinkTampering(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	got := e.signed(e.key, "POST", dcsPath(e.a.ProjectID, e.cache.ID, "/ssl-certs/download"), "")
	var b struct{ Link string }
	must(t, json.Unmarshal(got.body, &b))
	u, err := url.Parse(b.Link)
	must(t, err)
	q := u.Query()
	withQuery := func(k, v string) string {
		q2 := u.Query()
		if v == "" {
			q2.Del(k)
		} else {
			q2.Set(k, v)
		}
		u2 := *u
		u2.RawQuery = q2.Encode()
		return u2.String()
	}
	flip := func(s string, i int) string {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	otherInst := strings.Replace(b.Link, e.cache.ID, e.plain.ID, 1)
	otherProject := strings.Replace(b.Link, e.a.ProjectID, e.b.ProjectID, 1)
	tests := []struct{ name, link, code string }{
		{"signature changed by one character", withQuery("Signature", flip(q.Get("Signature"), 3)), "SignatureDoesNotMatch"},
		{"signature not base64", withQuery("Signature", "!!!"), "SignatureDoesNotMatch"},
		{"expires changed", withQuery("Expires", q.Get("Expires")+"0"), "SignatureDoesNotMatch"},
		{"expires not a number", withQuery("Expires", "soon"), "AccessDenied"},
		{"another instance", otherInst, "SignatureDoesNotMatch"},
		{"another project", otherProject, "SignatureDoesNotMatch"},
		{"path changed by one character", strings.Replace(b.Link, "/ca.crt?", "/ca.crs?", 1), "SignatureDoesNotMatch"},
		{"object key changed by one character", strings.Replace(b.Link, "/ssl-"+e.cache.ID[:7], "/ssl-"+flip(e.cache.ID[:7], 6), 1), "SignatureDoesNotMatch"},
		{"another path, no query", e.url + "/" + huaweicloud.DCSBucket + "/x/y", "AccessDenied"},
		{"another path, the link's query", e.url + "/" + huaweicloud.DDSBucket + "/x?" + u.RawQuery, "SignatureDoesNotMatch"},
		{"another key", withQuery("AWSAccessKeyId", "DBTSAAAAAAAAAAAAAAAA"), "InvalidAccessKeyId"},
		{"no signature", withQuery("Signature", ""), "AccessDenied"},
		{"no expiry", withQuery("Expires", ""), "AccessDenied"},
		{"no key", withQuery("AWSAccessKeyId", ""), "AccessDenied"},
	}
	check := func(t *testing.T, name, link, code string) {
		r, err := http.NewRequest("GET", link, nil)
		must(t, err)
		got := e.do(r)
		want := http.StatusForbidden
		if code == "NoSuchKey" {
			want = http.StatusNotFound
		}
		var x s3Err
		if got.status != want || xml.Unmarshal(got.body, &x) != nil || x.Code != code || x.RequestID == "" {
			t.Fatalf("%s: GET = %d %s, want %d with S3 error %s", name, got.status, got.body, want, code)
		}
		if strings.Contains(string(got.body), "CERTIFICATE") || got.header.Get("Content-Type") != "application/xml" {
			t.Fatalf("%s: a refused link served %q (%s)", name, got.body, got.header.Get("Content-Type"))
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, tt.name, tt.link, tt.code) })
	}
	// The link's own query on another method is not the signed request.
	if got := e.do(e.req("DELETE", strings.TrimPrefix(b.Link, e.url), "")); got.status != http.StatusForbidden {
		t.Fatalf("DELETE of a link = %d %s, want 403", got.status, got.body)
	}
	// Only a correctly signed link to an object that is gone says so.
	gone := e.signed(e.key, "GET", ddsPath(e.a.ProjectID, e.old.ID), "")
	var g struct {
		Certs []struct {
			DownloadLink string `json:"download_link"`
		} `json:"certs"`
	}
	if json.Unmarshal(gone.body, &g) != nil || len(g.Certs) != 1 {
		t.Fatalf("DDS download link = %d %s", gone.status, gone.body)
	}
	must(t, e.svc.DeleteInstance(context.Background(), dbtrust.Operator(e.a.ID), e.old.ID))
	check(t, "signed link to a deleted instance", g.Certs[0].DownloadLink, "NoSuchKey")
	// Still valid just before expiry; expired one second after.
	e.clk.Add(5*time.Minute - time.Second)
	e.fetchBundle(b.Link)
	e.clk.Add(2 * time.Second)
	check(t, "expired", b.Link, "AccessDenied")
}

// Links made by one server verify on another over the same store (replicas),
// and the link key is a server key, never a user's SK.
func TestLinkKeySharedAcrossServers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	got := e.token(e.ownerTok, "GET", ddsPath(e.a.ProjectID, e.cache.ID), "")
	var b struct {
		Certs []struct {
			DownloadLink string `json:"download_link"`
		} `json:"certs"`
	}
	must(t, json.Unmarshal(got.body, &b))
	other := httptest.NewServer(server.New(server.Config{Service: e.svc, PublicURL: "http://unused.example"}))
	defer other.Close()
	link := strings.Replace(b.Certs[0].DownloadLink, e.url, other.URL, 1)
	e.verifiesServerCert(e.fetchBundle(link), e.a, e.cache)
	if strings.Contains(link, e.key.ak) || strings.Contains(link, e.viewer.ak) {
		t.Fatalf("link %q names a user's AK", link)
	}
}

// The Huawei routes share the listener with DigitalOcean's without taking
// any of its paths.
func TestDigitalOceanStillServed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.req("GET", "/v2/databases", "")
	r.Header.Set("Authorization", "Bearer "+e.ownerTok)
	got := e.do(r)
	if got.status != 200 || !strings.Contains(string(got.body), `"databases"`) {
		t.Fatalf("GET /v2/databases = %d %s", got.status, got.body)
	}
	r = e.req("GET", "/v2/databases/"+e.cache.ID+"/ca", "")
	r.Header.Set("Authorization", "Bearer "+e.ownerTok)
	if got := e.do(r); got.status != 200 {
		t.Fatalf("GET /v2/databases/{id}/ca = %d %s", got.status, got.body)
	}
}

// The IAM project lookup the SDK makes when given a region but no project.
func TestIAMProjects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	got := e.signed(e.key, "GET", "/v3/projects?name=cn-north-4", "")
	var b struct {
		Projects []struct{ ID, Name string } `json:"projects"`
	}
	if got.status != 200 || json.Unmarshal(got.body, &b) != nil || len(b.Projects) != 1 || b.Projects[0].ID != e.a.ProjectID || b.Projects[0].Name != "cn-north-4" {
		t.Fatalf("GET /v3/projects = %d %s", got.status, got.body)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnvLimited(t, 3)
	for i := 0; i < 3; i++ {
		if got := e.signed(e.key, "GET", ddsPath(e.a.ProjectID, e.cache.ID), ""); got.status != 200 {
			t.Fatalf("request %d = %d %s", i, got.status, got.body)
		}
	}
	got := e.signed(e.key, "GET", ddsPath(e.a.ProjectID, e.cache.ID), "")
	wantHuaweiError(t, "fourth request in a minute", got, 429, "APIGW.0308")
	if got.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	// Another caller has its own allowance.
	if got := e.signed(e.viewer, "GET", ddsPath(e.a.ProjectID, e.cache.ID), ""); got.status != 200 {
		t.Fatalf("another key = %d %s", got.status, got.body)
	}
}

// A store that fails gives a 5xx in each product's shape, with no internals.
func TestStoreFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.store.Close()
	for _, tt := range []struct {
		name string
		got  reply
		code string
	}{
		{"DDS", e.signed(e.viewer, "GET", ddsPath(e.a.ProjectID, e.cache.ID), ""), "DBS.200005"},
		{"DCS", e.signed(e.key, "POST", dcsPath(e.a.ProjectID, e.cache.ID, "/ssl-certs/download"), ""), "DCS.5010"},
	} {
		if tt.got.status < 500 {
			t.Fatalf("%s with the store closed = %d %s, want a 5xx", tt.name, tt.got.status, tt.got.body)
		}
		wantHuaweiError(t, tt.name, tt.got, tt.got.status, tt.code)
		if body := strings.ToLower(string(tt.got.body)); strings.Contains(body, "sql") || strings.Contains(body, "closed") {
			t.Fatalf("%s: body %s shows internals", tt.name, tt.got.body)
		}
	}
}

// TestReplayedBodyRefused: a signed PUT captured in flight and replayed with
// another body, its signature and X-Sdk-Content-Sha256 kept, is refused
// (401 APIGW.0301) and changes nothing; the request as signed is accepted.
func TestReplayedBodyRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ak, sk, err := e.keys.Create(context.Background(), dbtrust.Operator(e.a.ID), "admin", dbtrust.RoleAdmin)
	must(t, err)
	admin := key{ak.ID, sk}
	path := dcsPath(e.a.ProjectID, e.cache.ID, "/ssl")
	on, off := `{"enabled":true}`, `{"enabled":false}`
	sum := sha256.Sum256([]byte(on))
	send := func(body string) reply {
		r := e.req("PUT", path, body)
		r.Header.Set("X-Sdk-Content-Sha256", hex.EncodeToString(sum[:]))
		sdkSign(r, admin, e.clk.sdkDate(0), []byte(on)) // signed over on, whatever is sent
		return e.do(r)
	}
	wantHuaweiError(t, "replayed PUT ssl with another body", send(off), 401, "APIGW.0301")
	shown := e.signed(e.viewer, "GET", path, "")
	if shown.status != 200 || !strings.Contains(string(shown.body), `"enabled":true`) {
		t.Fatalf("GET ssl after the replay = %d %s; TLS must still be on", shown.status, shown.body)
	}
	if got := send(on); got.status != 200 {
		t.Fatalf("PUT ssl as signed = %d %s", got.status, got.body)
	}
	r := e.req("PUT", path, off)
	r.Header.Set("X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAD")
	sdkSign(r, admin, e.clk.sdkDate(0), []byte(off))
	wantHuaweiError(t, "PUT ssl with UNSIGNED-PAYLOAD", e.do(r), 401, "APIGW.0301")
}
