package huaweicloud_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// normalize replaces what changes from run to run (addresses, IDs, times,
// signatures) with placeholders, so that the rest of a wire body can be
// compared byte for byte.
func normalize(b []byte) []byte {
	for _, r := range []struct {
		re   *regexp.Regexp
		with string
	}{
		{regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+`), "http://HOST"},
		{regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`), "UUID"},
		{regexp.MustCompile(`\b[0-9a-f]{32}\b`), "PROJECT"},
		{regexp.MustCompile(`DBTS[A-Z2-7]{16}`), "LINKKEY"},
		{regexp.MustCompile(`DBTK[A-Z2-7]{16}`), "AK"},
		{regexp.MustCompile(`Expires=[0-9]+`), "Expires=EXPIRES"},
		{regexp.MustCompile(`Signature=[A-Za-z0-9%]+`), "Signature=SIG"},
		{regexp.MustCompile(`[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z`), "TIME"},
		{regexp.MustCompile(`cache-[0-9a-f]{8}\.`), "cache-ID."},
	} {
		b = r.re.ReplaceAll(b, []byte(r.with))
	}
	return b
}

// TestGoldenBodies pins the wire bodies of every route's success and of the
// errors each product sends, in testdata/wire.golden (go test -update
// rewrites it).
func TestGoldenBodies(t *testing.T) {
	e := newEnv(t)
	pa := e.a.ProjectID
	cases := []struct {
		name string
		got  reply
	}{
		{"DDS download-link 200", e.signed(e.viewer, "GET", ddsPath(pa, e.cache.ID), "")},
		{"DCS ssl-certs/download 200", e.signed(e.key, "POST", dcsPath(pa, e.cache.ID, "/ssl-certs/download"), "")},
		{"DCS GET ssl 200", e.signed(e.viewer, "GET", dcsPath(pa, e.cache.ID, "/ssl"), "")},
		{"DCS PUT ssl 200", e.token(e.ownerTok, "PUT", dcsPath(pa, e.cache.ID, "/ssl"), `{"enabled":true}`)},
		{"IAM projects 200", e.signed(e.viewer, "GET", "/v3/projects?name=cn-north-4", "")},
		{"DCS 400 DCS.4201", e.signed(e.key, "POST", dcsPath(pa, e.plain.ID, "/ssl-certs/download"), "")},
		{"DCS 400 DCS.4202", e.token(e.ownerTok, "PUT", dcsPath(pa, e.plain.ID, "/ssl"), `{}`)},
		{"DCS 400 bad project", e.signed(e.key, "POST", dcsPath("x", e.cache.ID, "/ssl-certs/download"), "")},
		{"DCS 404", e.signed(e.key, "POST", dcsPath(pa, e.bInst.ID, "/ssl-certs/download"), "")},
		{"DDS 400 bad instance", e.signed(e.key, "GET", ddsPath(pa, "x"), "")},
		{"DDS 404", e.signed(e.key, "GET", ddsPath(e.b.ProjectID, e.bInst.ID), "")},
		{"APIGW 401 no credentials", e.do(e.req("GET", ddsPath(pa, e.cache.ID), ""))},
		{"APIGW 401 unknown AK", e.signed(key{"DBTKAAAAAAAAAAAAAAAA", e.key.sk}, "GET", ddsPath(pa, e.cache.ID), "")},
		{"APIGW 403", e.signed(e.viewer, "PUT", dcsPath(pa, e.cache.ID, "/ssl"), `{"enabled":true}`)},
		{"APIGW 404 DCS", e.signed(e.key, "GET", "/v2/"+pa+"/nothing", "")},
	}
	var out bytes.Buffer
	for _, c := range cases {
		out.WriteString("## " + c.name + "\n")
		out.WriteString(c.got.header.Get("Content-Type") + "\n")
		out.Write(normalize(c.got.body))
		out.WriteString("\n\n")
	}
	path := filepath.Join("testdata", "wire.golden")
	if *update {
		must(t, os.WriteFile(path, out.Bytes(), 0o644))
	}
	want, err := os.ReadFile(path)
	must(t, err)
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("wire bodies differ from %s (go test -update rewrites it):\n%s", path, out.Bytes())
	}
}
