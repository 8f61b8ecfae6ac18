package huaweicloud

import (
	"bytes"
	"context"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/dbtrust/dbtrust"
)

// FuzzSDKSignature: any Authorization header, path, query, X-Sdk headers
// and body are refused as Unauthorized (or accepted only when the vector's
// key really signed them), never a panic. It covers the Authorization
// parser and the canonical request.
func FuzzSDKSignature(f *testing.F) {
	f.Add(vecAuth, "/v3/0123456789abcdef0123456789abcdef/instances/inst-1/ssl-cert/download-link", "", vecDate, "", []byte(nil))
	f.Add("SDK-HMAC-SHA256 Access=a, SignedHeaders=x-sdk-date, Signature=00", "/v2/p/instances/i/ssl", "b=2&a=1", vecDate, "UNSIGNED-PAYLOAD", []byte(`{"enabled":false}`))
	f.Add("SDK-HMAC-SHA256 ,,,", "/%2F/..", "%zz", "2025", "deadbeef", []byte("{}"))
	f.Fuzz(func(t *testing.T, auth, path, query, date, contentHash string, body []byte) {
		r := httptest.NewRequest("PUT", "http://127.0.0.1/", bytes.NewReader(body))
		r.URL = &url.URL{Path: path, RawQuery: query}
		r.Header.Set("Authorization", auth)
		r.Header.Set("X-Sdk-Date", date)
		if contentHash != "" {
			r.Header.Set("X-Sdk-Content-Sha256", contentHash)
		}
		_, err := verifySDKSignature(context.Background(), r, body, vecTime, vecVerifier)
		if err != nil && dbtrust.ErrorCode(err) != dbtrust.Unauthorized {
			t.Fatalf("verifySDKSignature = %v, want Unauthorized", err)
		}
	})
}

// FuzzLinkObject: any link path splits into a project and a well-formed
// instance ID, or is refused.
func FuzzLinkObject(f *testing.F) {
	f.Add("/" + DCSBucket + "/0123456789abcdef0123456789abcdef/ssl-00000000-0000-0000-0000-000000000000/" + dcsFile)
	f.Add("/" + DDSBucket + "/p/i/" + ddsFile)
	f.Add("//")
	f.Fuzz(func(t *testing.T, path string) {
		for _, b := range []string{DDSBucket, DCSBucket} {
			if _, inst, ok := linkObject(b, path); ok && !dbtrust.ValidInstanceID(inst) {
				t.Fatalf("linkObject(%q) accepted instance %q", path, inst)
			}
		}
	})
}
