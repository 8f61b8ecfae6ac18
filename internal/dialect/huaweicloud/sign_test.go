package huaweicloud

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/accesskey"
)

// The fixed vector of Huawei's SDK-HMAC-SHA256: produced by
// huaweicloud-sdk-go-v3's own signer for a DDS download-link GET.
const (
	vecAK   = "HPUAEXAMPLEAK0000001"
	vecSK   = "exampleSecretKeyForLoopbackTestsOnly0001"
	vecURL  = "https://dds.cn-north-4.myhuaweicloud.com/v3/0123456789abcdef0123456789abcdef/instances/inst-1/ssl-cert/download-link"
	vecDate = "20250101T000000Z"
	vecCR   = "GET\n/v3/0123456789abcdef0123456789abcdef/instances/inst-1/ssl-cert/download-link/\n\n" +
		"user-agent:probe/1.0\nx-project-id:0123456789abcdef0123456789abcdef\nx-sdk-date:20250101T000000Z\n\n" +
		"user-agent;x-project-id;x-sdk-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	vecSTS  = "SDK-HMAC-SHA256\n20250101T000000Z\n916353db65cf0a414ded4a6125ad58b77df955eccc1f31cbf2ac3c9559d57850"
	vecAuth = "SDK-HMAC-SHA256 Access=HPUAEXAMPLEAK0000001, SignedHeaders=user-agent;x-project-id;x-sdk-date, Signature=3c6e1e2def692b8d5f755aa38c5145a97ebd5e2e3dcc299abb815189580add10"
)

var vecTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// vecVerifier is accesskey.Service.Authenticate with the vector's one key.
func vecVerifier(ctx context.Context, ak string, sts, sig []byte) (dbtrust.Principal, error) {
	if ak != vecAK {
		return dbtrust.Principal{}, &dbtrust.Error{Code: dbtrust.Unauthorized, Message: "unknown", Err: accesskey.ErrUnknown}
	}
	m := hmac.New(sha256.New, []byte(vecSK))
	m.Write(sts)
	if !hmac.Equal(m.Sum(nil), sig) {
		return dbtrust.Principal{}, &dbtrust.Error{Code: dbtrust.Unauthorized, Message: "bad signature", Err: accesskey.ErrBadSignature}
	}
	return dbtrust.Principal{AccountID: "acct", Role: dbtrust.RoleViewer, Subject: "accesskey:" + ak}, nil
}

func vecRequest() *httptestRequest {
	r := httptest.NewRequest("GET", vecURL, nil)
	r.Header.Set("User-Agent", "probe/1.0")
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Project-Id", "0123456789abcdef0123456789abcdef")
	r.Header.Set("X-Sdk-Date", vecDate)
	r.Header.Set("Authorization", vecAuth)
	return &httptestRequest{r}
}

func TestSignatureVector(t *testing.T) {
	r := vecRequest().Request
	a, err := parseSDKAuth(r.Header.Get("Authorization"))
	if err != nil {
		t.Fatal(err)
	}
	hash, err := payloadHash(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cr := canonicalRequest(r, a.signedHeaders, hash); cr != vecCR {
		t.Fatalf("canonicalRequest =\n%q\nwant\n%q", cr, vecCR)
	}
	if sts := stringToSign(vecDate, vecCR); sts != vecSTS {
		t.Fatalf("stringToSign = %q, want %q", sts, vecSTS)
	}
	p, err := verifySDKSignature(context.Background(), r, nil, vecTime.Add(14*time.Minute), vecVerifier)
	if err != nil || p.Subject != "accesskey:"+vecAK {
		t.Fatalf("verifySDKSignature(vector) = %+v, %v; want the vector's AK", p, err)
	}
}

// TestSignatureRejects changes one thing at a time in the vector request:
// each must fail as Unauthorized, never succeed.
func TestSignatureRejects(t *testing.T) {
	tests := []struct {
		name   string
		now    time.Time
		change func(r *httptestRequest)
		body   []byte
	}{
		{"stale date (16 minutes old)", vecTime.Add(16 * time.Minute), nil, nil},
		{"date from the future (16 minutes ahead)", vecTime.Add(-16 * time.Minute), nil, nil},
		{"no x-sdk-date", vecTime, func(r *httptestRequest) { r.Header.Del("X-Sdk-Date") }, nil},
		{"x-sdk-date not signed", vecTime, func(r *httptestRequest) {
			r.Header.Set("Authorization", strings.Replace(vecAuth, "user-agent;x-project-id;x-sdk-date", "user-agent;x-project-id", 1))
		}, nil},
		{"bad x-sdk-date", vecTime, func(r *httptestRequest) { r.Header.Set("X-Sdk-Date", "2025-01-01T00:00:00Z") }, nil},
		{"signed header changed", vecTime, func(r *httptestRequest) { r.Header.Set("User-Agent", "probe/1.1") }, nil},
		{"signature over other headers", vecTime, func(r *httptestRequest) {
			r.Header.Set("Authorization", strings.Replace(vecAuth, "user-agent;x-project-id;x-sdk-date", "x-project-id;x-sdk-date", 1))
		}, nil},
		{"wrong signature", vecTime, func(r *httptestRequest) {
			r.Header.Set("Authorization", vecAuth[:len(vecAuth)-1]+"1")
		}, nil},
		{"unknown AK", vecTime, func(r *httptestRequest) {
			r.Header.Set("Authorization", strings.Replace(vecAuth, vecAK, "HPUAEXAMPLEAK0000002", 1))
		}, nil},
		{"path changed", vecTime, func(r *httptestRequest) { r.URL.Path = strings.Replace(r.URL.Path, "inst-1", "inst-2", 1) }, nil},
		{"query added", vecTime, func(r *httptestRequest) { r.URL.RawQuery = "x=1" }, nil},
		{"method changed", vecTime, func(r *httptestRequest) { r.Method = "POST" }, nil},
		{"body added", vecTime, nil, []byte("{}")},
		{"other algorithm", vecTime, func(r *httptestRequest) {
			r.Header.Set("Authorization", strings.Replace(vecAuth, "SDK-HMAC-SHA256", "SDK-HMAC-SM3", 1))
		}, nil},
		{"malformed signature", vecTime, func(r *httptestRequest) {
			r.Header.Set("Authorization", strings.Replace(vecAuth, "Signature=3c", "Signature=zz", 1))
		}, nil},
		{"missing Access", vecTime, func(r *httptestRequest) {
			r.Header.Set("Authorization", "SDK-HMAC-SHA256 SignedHeaders=x-sdk-date, Signature="+strings.Repeat("0", 64))
		}, nil},
		{"garbage", vecTime, func(r *httptestRequest) { r.Header.Set("Authorization", "SDK-HMAC-SHA256 ,,,") }, nil},
		{"temporary credentials", vecTime, func(r *httptestRequest) { r.Header.Set("X-Security-Token", "x") }, nil},
		{"upper-case signed header", vecTime, func(r *httptestRequest) {
			r.Header.Set("Authorization", strings.Replace(vecAuth, "user-agent;", "User-Agent;", 1))
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := vecRequest()
			if tt.change != nil {
				tt.change(r)
			}
			p, err := verifySDKSignature(context.Background(), r.Request, tt.body, tt.now, vecVerifier)
			if dbtrust.ErrorCode(err) != dbtrust.Unauthorized {
				t.Fatalf("verifySDKSignature = %+v, %v; want Unauthorized", p, err)
			}
		})
	}
}

// A signer that signs host (as Huawei's signing guide does) is verified
// against the Host line as received.
func TestSignatureWithHost(t *testing.T) {
	r := httptest.NewRequest("POST", "http://127.0.0.1:8080/v2/p/instances/i/ssl-certs/download?b=2&a=1&a=0", strings.NewReader("{}\n"))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Sdk-Date", vecDate)
	signed := []string{"content-type", "host", "x-sdk-date"}
	cr := canonicalRequest(r, signed, bodyHash([]byte("{}\n")))
	sts := stringToSign(vecDate, cr)
	if !strings.Contains(cr, "\nhost:127.0.0.1:8080\n") || !strings.Contains(cr, "\na=0&a=1&b=2\n") {
		t.Fatalf("canonical request lacks the host line or the sorted query:\n%s", cr)
	}
	m := hmac.New(sha256.New, []byte(vecSK))
	m.Write([]byte(sts))
	r.Header.Set("Authorization", "SDK-HMAC-SHA256 Access="+vecAK+", SignedHeaders=content-type;host;x-sdk-date, Signature="+hex.EncodeToString(m.Sum(nil)))
	if _, err := verifySDKSignature(context.Background(), r, []byte("{}\n"), vecTime, vecVerifier); err != nil {
		t.Fatalf("verifySDKSignature(host signed) = %v", err)
	}
	r.Host = "127.0.0.1:8081"
	if _, err := verifySDKSignature(context.Background(), r, []byte("{}\n"), vecTime, vecVerifier); dbtrust.ErrorCode(err) != dbtrust.Unauthorized {
		t.Fatalf("verifySDKSignature(other host) = %v, want Unauthorized", err)
	}
}

func bodyHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// signedWith signs r over the payload hash given (as a client would put in
// X-Sdk-Content-Sha256) with the vector's key.
func signedWith(r *http.Request, hash string) {
	r.Header.Set("X-Sdk-Date", vecDate)
	signed := []string{"content-type", "x-sdk-date"}
	m := hmac.New(sha256.New, []byte(vecSK))
	m.Write([]byte(stringToSign(vecDate, canonicalRequest(r, signed, hash))))
	r.Header.Set("Authorization", "SDK-HMAC-SHA256 Access="+vecAK+", SignedHeaders=content-type;x-sdk-date, Signature="+hex.EncodeToString(m.Sum(nil)))
}

// TestSignatureBindsBody: a signature made over one body does not carry
// another, whatever X-Sdk-Content-Sha256 claims, and UNSIGNED-PAYLOAD is
// taken only where there is no body.
func TestSignatureBindsBody(t *testing.T) {
	on, off := []byte(`{"enabled":true}`), []byte(`{"enabled":false}`)
	tests := []struct {
		name    string
		method  string
		header  string // X-Sdk-Content-Sha256 sent; "" sends none
		signed  string // payload hash the signature was made over
		body    []byte // body received
		wantErr bool
	}{
		{"body as signed, no header", "PUT", "", bodyHash(on), on, false},
		{"body as signed, header matches", "PUT", bodyHash(on), bodyHash(on), on, false},
		{"header in upper case", "PUT", strings.ToUpper(bodyHash(on)), bodyHash(on), on, false},
		{"replayed with another body, header kept", "PUT", bodyHash(on), bodyHash(on), off, true},
		{"replayed with another body, no header", "PUT", "", bodyHash(on), off, true},
		{"header and signature over the new body, signature old", "PUT", bodyHash(off), bodyHash(on), off, true},
		{"UNSIGNED-PAYLOAD with a body", "PUT", unsignedPayload, unsignedPayload, on, true},
		{"UNSIGNED-PAYLOAD on a POST without body", "POST", unsignedPayload, unsignedPayload, nil, true},
		{"UNSIGNED-PAYLOAD on a GET", "GET", unsignedPayload, unsignedPayload, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "http://127.0.0.1/v2/p/instances/i/ssl", bytes.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/json")
			if tt.header != "" {
				r.Header.Set("X-Sdk-Content-Sha256", tt.header)
			}
			signedWith(r, tt.signed)
			_, err := verifySDKSignature(context.Background(), r, tt.body, vecTime, vecVerifier)
			if tt.wantErr && dbtrust.ErrorCode(err) != dbtrust.Unauthorized || !tt.wantErr && err != nil {
				t.Fatalf("verifySDKSignature = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestCanonicalURIEscapes(t *testing.T) {
	for in, want := range map[string]string{
		"/v3/{project_id}/instances": "/v3/%7Bproject_id%7D/instances/",
		"/a b/c~d_e.f-g/":            "/a%20b/c~d_e.f-g/",
		"":                           "/",
		"/é":                         "/%C3%A9/",
	} {
		if got := canonicalURI(in); got != want {
			t.Errorf("canonicalURI(%q) = %q, want %q", in, got, want)
		}
	}
}

// The S3 V2 query-string signature (HMAC-SHA1, as the core's SignLink
// computes it, over linkText), checked against AWS's documented example.
func TestSignV2Vector(t *testing.T) {
	m := hmac.New(sha1.New, []byte("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"))
	m.Write(linkText("1175139620", "/johnsmith/photos/puppy.jpg"))
	if got, want := base64.StdEncoding.EncodeToString(m.Sum(nil)), "NpgCjnDzrM+WFzoENXmpNDUsSn8="; got != want {
		t.Fatalf("HMAC-SHA1(linkText(AWS example)) = %q, want %q", got, want)
	}
}

func TestEveryCodeHasARow(t *testing.T) {
	for _, c := range dbtrust.Codes {
		row, ok := errorTable[c]
		if !ok {
			t.Errorf("errorTable has no row for %q", c)
			continue
		}
		for _, w := range []wireError{row.dds, row.dcs} {
			if w.status < 400 || w.code == "" || w.msg == "" {
				t.Errorf("errorTable[%q] = %+v: want a 4xx/5xx status, a code and a message", c, w)
			}
		}
	}
	for r := badProjectID; r <= unknownRoute; r++ {
		if _, ok := reasonTable[r]; !ok {
			t.Errorf("reasonTable has no row for reason %d", r)
		}
	}
}

type httptestRequest struct{ *http.Request }

func hmacHex(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}
