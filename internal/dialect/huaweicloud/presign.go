package huaweicloud

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/httpx"
)

// Presigned download links, in the OBS/S3 signature-V2 query form:
//
//	GET {public URL}/{bucket}/{key}?AWSAccessKeyId=ID&Expires=UNIX&Signature=SIG
//	StringToSign = "GET\n\n\n" + Expires + "\n" + "/" + bucket + "/" + key
//	SIG          = base64(HMAC-SHA1(link key, StringToSign)), URL-encoded
//
// dbtrust serves the links itself, path-style, under two fixed buckets of its
// own. The key is a server key (never a user's SK): 32 random bytes made on
// first use, sealed under the key-encryption key and kept in the store, so
// that every replica signs and verifies with the same one. AWSAccessKeyId is
// that key's public ID.

// The buckets and file names of the links. Each bucket is registered
// explicitly, so nothing else on the listener is shadowed.
const (
	DDSBucket = "dbtrust-dds-ssl"
	DCSBucket = "dbtrust-dcs-ssl"
	ddsFile   = "ca-dds.crt"
	dcsFile   = "ca.crt"
)

// linkText is the S3 V2 string to sign of a GET of resource ("/bucket/key")
// that expires at expires (Unix seconds, as written in the URL). The core
// signs and verifies it with the server's link key.
func linkText(expires, resource string) []byte {
	return []byte("GET\n\n\n" + expires + "\n" + resource)
}

// requesterParam names, in a link, the principal that asked for it, so that
// the bundle fetches made with the link are counted as that principal's. The
// signature covers it, as a sub-resource of the signed resource.
const requesterParam = "x-dbtrust-requester"

// signedResource is the resource a link signs: its path and, when the link
// names one, its requester.
func signedResource(path, requester string) string {
	if requester == "" {
		return path
	}
	return path + "?" + requesterParam + "=" + url.QueryEscape(requester)
}

// presign returns a link to resource ("/bucket/key", already URL-safe) on
// behalf of requester (a principal's Subject).
func (a *api) presign(ctx context.Context, resource, requester string) (string, error) {
	expires := strconv.FormatInt(a.now().Add(a.cfg.LinkTTL).Unix(), 10)
	id, mac, err := a.svc.SignLink(ctx, linkText(expires, signedResource(resource, requester)))
	if err != nil {
		return "", err
	}
	sig := base64.StdEncoding.EncodeToString(mac)
	return a.cfg.PublicURL + resource + "?AWSAccessKeyId=" + url.QueryEscape(id) +
		"&Expires=" + expires + "&Signature=" + url.QueryEscape(sig) + "&" + requesterParam + "=" + url.QueryEscape(requester), nil
}

var (
	digitsRE  = regexp.MustCompile(`^[0-9]{1,12}$`)
	maxQueryV = 512
)

// download serves every request under bucket. The link's signature is
// checked before anything else is looked at, so a link changed anywhere
// (its key included), signed with another key or expired gets a 403 and no
// file; only a correctly signed link to an object that is not there is told
// NoSuchKey.
func (a *api) download(bucket string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, requester, err := a.limitDownload(w, r)
		if err != nil {
			a.writeS3Failure(w, r, err)
			return
		}
		project, inst, ok := linkObject(bucket, r.URL.Path)
		if !ok {
			writeS3Error(w, r, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
			return
		}
		owner, err := a.projectOwner(r, project)
		var bundle []byte
		if err == nil {
			// The link is a read-only capability in the account it was
			// issued for; the bundle is read now, so a CA rotated since the
			// link was issued is served as it stands.
			bundle, err = a.svc.InstanceCABundle(r.Context(), dbtrust.LinkPrincipal(owner, id, requester), inst)
		}
		if err != nil {
			a.logFailure(r, err)
			a.writeS3Failure(w, r, err)
			return
		}
		disposition := ddsDisposition
		if bucket == DCSBucket {
			disposition = dcsDisposition
		}
		h := w.Header() // canonical keys and fixed values set directly
		h["Content-Type"] = pemTypeValue
		h["Content-Disposition"] = disposition
		h["Content-Length"] = []string{strconv.Itoa(len(bundle))}
		h["Cache-Control"] = noStoreValue
		w.WriteHeader(http.StatusOK)
		w.Write(bundle)
	})
}

// limitDownload checks a link request against the client address's budget,
// then its signature, then the link's own budget (so that one leaked link
// cannot be fetched without end).
func (a *api) limitDownload(w http.ResponseWriter, r *http.Request) (keyID, requester string, err error) {
	l := a.cfg.Limits
	if l == nil {
		l = &httpx.Limits{}
	}
	if _, err := httpx.Limit(w, r, l.Download, "ip:"+httpx.ClientAddr(r)); err != nil {
		return "", "", err
	}
	if keyID, requester, err = a.checkLink(r); err != nil {
		return "", "", err
	}
	if _, err := httpx.Limit(w, r, l.Link, "link:"+r.URL.Query().Get("Signature")); err != nil {
		return "", "", err
	}
	return keyID, requester, nil
}

// s3Denied is a refused link: a 403 in the S3 XML shape with code and message.
type s3Denied struct{ code, message string }

func (d *s3Denied) Error() string { return d.code + ": " + d.message }

// checkLink verifies r's query signature (S3 V2, over the method and the
// path as sent, and the requester the link names) and expiry, and returns
// the link key's ID and that requester. Failures are
// *s3Denied, or the store's error when the link key cannot be loaded.
func (a *api) checkLink(r *http.Request) (keyID, requester string, err error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	ak, expires, sig, requester := q.Get("AWSAccessKeyId"), q.Get("Expires"), q.Get("Signature"), q.Get(requesterParam)
	if err != nil || ak == "" || expires == "" || sig == "" || len(ak)+len(expires)+len(sig)+len(requester) > maxQueryV {
		return "", "", &s3Denied{"AccessDenied", "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters"}
	}
	got, derr := base64.StdEncoding.DecodeString(sig)
	verr := a.svc.VerifyLink(r.Context(), ak, linkText(expires, signedResource(r.URL.EscapedPath(), requester)), got)
	switch {
	case errors.Is(verr, dbtrust.ErrLinkKey):
		return "", "", &s3Denied{"InvalidAccessKeyId", "The access key ID you provided does not exist in our records."}
	case verr != nil && !errors.Is(verr, dbtrust.ErrLinkSignature):
		a.logFailure(r, verr)
		return "", "", verr
	case !digitsRE.MatchString(expires):
		return "", "", &s3Denied{"AccessDenied", "Invalid date (should be seconds since epoch)"}
	case verr != nil || derr != nil || r.Method != http.MethodGet:
		return "", "", &s3Denied{"SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."}
	}
	exp, _ := strconv.ParseInt(expires, 10, 64)
	if a.now().Unix() > exp {
		return "", "", &s3Denied{"AccessDenied", "Request has expired"}
	}
	return ak, requester, nil
}

// linkObject splits a link path, "/{bucket}/{project}/{object}/{file}", into
// the project and instance it names; ok is false for any other path.
func linkObject(bucket, path string) (project, inst string, ok bool) {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	file := ddsFile
	if bucket == DCSBucket {
		file = dcsFile
	}
	if len(parts) != 4 || parts[0] != bucket || parts[3] != file {
		return "", "", false
	}
	project, inst = parts[1], parts[2]
	if bucket == DCSBucket {
		if inst, ok = strings.CutPrefix(inst, "ssl-"); !ok {
			return "", "", false
		}
	}
	inst, ok = dbtrust.ParseInstanceID(inst)
	return project, inst, ok
}

func (a *api) writeS3Failure(w http.ResponseWriter, r *http.Request, err error) {
	var d *s3Denied
	if errors.As(err, &d) {
		writeS3Error(w, r, http.StatusForbidden, d.code, d.message)
		return
	}
	switch dbtrust.ErrorCode(err) {
	case dbtrust.NotFound:
		writeS3Error(w, r, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
	case dbtrust.Unavailable:
		writeS3Error(w, r, http.StatusServiceUnavailable, "ServiceUnavailable", "Please reduce your request rate.")
	case dbtrust.RateLimited:
		writeS3Error(w, r, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
	default:
		writeS3Error(w, r, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
	}
}

// The fixed header values of a download, shared by every answer (never
// modified).
var (
	pemTypeValue   = []string{"application/x-pem-file"}
	noStoreValue   = []string{"private, no-store"}
	ddsDisposition = []string{`attachment; filename="` + ddsFile + `"`}
	dcsDisposition = []string{`attachment; filename="` + dcsFile + `"`}
)
