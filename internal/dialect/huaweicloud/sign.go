package huaweicloud

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/textproto"
	"sort"
	"strings"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/accesskey"
)

// SDK-HMAC-SHA256, as huaweicloud-sdk-go-v3 signs requests and Huawei's API
// gateway verifies them:
//
//	CanonicalRequest = Method \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n PayloadHash
//	StringToSign     = "SDK-HMAC-SHA256" \n X-Sdk-Date \n hex(SHA-256(CanonicalRequest))
//	Signature        = hex(HMAC-SHA256(SK, StringToSign))
//
// The server rebuilds the canonical request from the request as received and
// hands the string to sign to the core, which holds the SK.

const (
	sdkAlgorithm  = "SDK-HMAC-SHA256"
	sdkDateLayout = "20060102T150405Z"
	// MaxClockSkew is how far X-Sdk-Date may be from the server's clock, as
	// at Huawei's gateway.
	MaxClockSkew = 15 * time.Minute
)

// sdkAuth is a parsed "Authorization: SDK-HMAC-SHA256 ..." header.
type sdkAuth struct {
	access        string
	signedHeaders []string
	signature     []byte
}

// authFailure is an Unauthorized error whose message is the detail Huawei's
// gateway puts after "Incorrect IAM authentication information: ".
func authFailure(detail string) error { return dbtrust.Errorf(dbtrust.Unauthorized, "%s", detail) }

// parseSDKAuth parses the Authorization header the SDK writes:
// "SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b;c, Signature=hex".
func parseSDKAuth(h string) (sdkAuth, error) {
	alg, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if alg != sdkAlgorithm {
		return sdkAuth{}, authFailure("unsupported signing algorithm; only " + sdkAlgorithm + " is accepted")
	}
	var a sdkAuth
	var sawSigned, sawSig bool
	for _, f := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok {
			return sdkAuth{}, authFailure("malformed Authorization header")
		}
		switch k {
		case "Access":
			a.access = v
		case "SignedHeaders":
			sawSigned = true
			for _, n := range strings.Split(v, ";") {
				if n == "" || n != strings.ToLower(n) {
					return sdkAuth{}, authFailure("malformed SignedHeaders")
				}
				a.signedHeaders = append(a.signedHeaders, n)
			}
		case "Signature":
			sawSig = true
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return sdkAuth{}, authFailure("malformed Signature")
			}
			a.signature = sig
		default:
			return sdkAuth{}, authFailure("malformed Authorization header")
		}
	}
	if a.access == "" || !sawSigned || !sawSig {
		return sdkAuth{}, authFailure("the Authorization header needs Access, SignedHeaders and Signature")
	}
	return a, nil
}

// sdkEscape percent-encodes every byte but A-Z a-z 0-9 - _ . ~ (upper-case
// hex), as the SDK's signer does.
func sdkEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte("0123456789ABCDEF"[c>>4])
		b.WriteByte("0123456789ABCDEF"[c&15])
	}
	return b.String()
}

// canonicalURI re-encodes each segment of the decoded path and makes sure the
// result ends with "/".
func canonicalURI(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = sdkEscape(s)
	}
	u := strings.Join(segs, "/")
	if !strings.HasSuffix(u, "/") {
		u += "/"
	}
	return u
}

// canonicalQuery sorts keys, and values within a key, of the decoded query.
func canonicalQuery(r *http.Request) string {
	q := r.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		vs := append([]string(nil), q[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			parts = append(parts, sdkEscape(k)+"="+sdkEscape(v))
		}
	}
	return strings.Join(parts, "&")
}

// canonicalHeaders writes "name:value\n" for each signed header, values
// trimmed and sorted, "host" taken from the request's Host line.
func canonicalHeaders(r *http.Request, signed []string) string {
	var b strings.Builder
	for _, name := range signed {
		var vs []string
		if name == "host" {
			vs = []string{r.Host}
		} else {
			vs = append(vs, r.Header.Values(textproto.CanonicalMIMEHeaderKey(name))...)
			sort.Strings(vs)
		}
		for _, v := range vs {
			b.WriteString(name)
			b.WriteByte(':')
			b.WriteString(strings.TrimSpace(v))
			b.WriteByte('\n')
		}
	}
	if b.Len() == 0 {
		return "\n"
	}
	return b.String()
}

// unsignedPayload is the X-Sdk-Content-Sha256 value with which the SDK
// leaves the body out of the signature.
const unsignedPayload = "UNSIGNED-PAYLOAD"

// payloadHash returns the body hash the canonical request carries: always the
// SHA-256 of the bytes received, so that the signature binds the body. A
// client-sent X-Sdk-Content-Sha256 must match it; UNSIGNED-PAYLOAD is taken
// only for a request that carries no body and whose method sends none.
func payloadHash(r *http.Request, body []byte) (string, error) {
	sum := sha256.Sum256(body)
	computed := hex.EncodeToString(sum[:])
	sent := strings.TrimSpace(r.Header.Get("X-Sdk-Content-Sha256"))
	switch {
	case sent == "":
		return computed, nil
	case sent == unsignedPayload:
		if len(body) > 0 || (r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodDelete) {
			return "", authFailure("UNSIGNED-PAYLOAD is not accepted on a request with a body; sign the body's SHA-256")
		}
		return unsignedPayload, nil
	case !strings.EqualFold(sent, computed):
		return "", authFailure("x-sdk-content-sha256 does not match the SHA-256 of the body received")
	}
	return computed, nil
}

// canonicalRequest rebuilds the SDK's canonical request from r as received,
// with hash the payload hash (see payloadHash).
func canonicalRequest(r *http.Request, signed []string, hash string) string {
	return r.Method + "\n" + canonicalURI(r.URL.Path) + "\n" + canonicalQuery(r) + "\n" +
		canonicalHeaders(r, signed) + "\n" + strings.Join(signed, ";") + "\n" + hash
}

// stringToSign returns the SDK's string to sign for a canonical request.
func stringToSign(date, canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return sdkAlgorithm + "\n" + date + "\n" + hex.EncodeToString(sum[:])
}

// macVerifier checks an HMAC-SHA256 made with an AK's SK (the core's
// accesskey.Service.Authenticate).
type macVerifier func(ctx context.Context, ak string, stringToSign, signature []byte) (dbtrust.Principal, error)

// verifySDKSignature authenticates a request signed with SDK-HMAC-SHA256.
// body is the request body as received; now is the server's clock.
func verifySDKSignature(ctx context.Context, r *http.Request, body []byte, now time.Time, verify macVerifier) (dbtrust.Principal, error) {
	a, err := parseSDKAuth(r.Header.Get("Authorization"))
	if err != nil {
		return dbtrust.Principal{}, err
	}
	if r.Header.Get("X-Security-Token") != "" {
		// dbtrust issues no temporary (STS) credentials.
		return dbtrust.Principal{}, authFailure("temporary security credentials (X-Security-Token) are not supported")
	}
	dated := false
	for _, n := range a.signedHeaders {
		dated = dated || n == "x-sdk-date"
	}
	date := r.Header.Get("X-Sdk-Date")
	if !dated || date == "" {
		return dbtrust.Principal{}, authFailure("x-sdk-date must be sent and signed")
	}
	t, err := time.Parse(sdkDateLayout, date)
	if err != nil {
		return dbtrust.Principal{}, authFailure("x-sdk-date is not in the form 20060102T150405Z")
	}
	if d := now.Sub(t); d > MaxClockSkew || d < -MaxClockSkew {
		return dbtrust.Principal{}, authFailure("x-sdk-date is more than 15 minutes from the server's time")
	}
	hash, err := payloadHash(r, body)
	if err != nil {
		return dbtrust.Principal{}, err
	}
	sts := stringToSign(date, canonicalRequest(r, a.signedHeaders, hash))
	p, err := verify(ctx, a.access, []byte(sts), a.signature)
	switch {
	case errors.Is(err, accesskey.ErrUnknown):
		// Huawei's gateway names the AK it could not find.
		return dbtrust.Principal{}, authFailure("Get secretKey failed,ak:" + sanitizeAK(a.access) + ",err:ak not exist")
	case errors.Is(err, accesskey.ErrBadSignature):
		return dbtrust.Principal{}, authFailure("verify aksk signature fail")
	}
	return p, err
}

// sanitizeAK keeps an AK fit to echo: at most 64 letters and digits.
func sanitizeAK(ak string) string {
	var b strings.Builder
	for i := 0; i < len(ak) && b.Len() < 64; i++ {
		c := ak[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
			b.WriteByte(c)
		}
	}
	return b.String()
}
