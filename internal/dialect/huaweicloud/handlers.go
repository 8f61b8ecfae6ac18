package huaweicloud

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/httpx"
	"github.com/google/uuid"
)

const contentType = "application/json;charset=UTF-8"

type api struct {
	svc  service
	cfg  Config
	keys accessKeys
}

func (a *api) now() time.Time { return a.cfg.Clock() }

// writeJSON writes v as JSON without HTML escaping, so that links read as
// Huawei writes them ("&", not "\u0026").
func writeJSON(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		b.Reset()
		b.WriteString(`{"error_code":"DBS.200005","error_msg":"Server failure."}`)
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	w.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

// call is an authenticated request to a route: who calls, in which project,
// about which instance, with which body.
type call struct {
	p          dbtrust.Principal
	projectID  string
	instanceID string
	body       []byte
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, c *call) error

// wrap reads the body, authenticates the caller (X-Auth-Token or
// SDK-HMAC-SHA256), applies the rate limit, checks the IAM action against the
// caller's role, checks the project and instance IDs in the path, and then
// runs h, writing its error, if any, in Huawei's shape for product p.
func (a *api) wrap(p product, action string, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := a.admit(w, r, p, action)
		if err == nil {
			err = h(w, r, c)
		}
		if err != nil {
			a.logFailure(r, err)
			writeError(w, r, p, err)
		}
	})
}

func (a *api) admit(w http.ResponseWriter, r *http.Request, p product, action string) (*call, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, dbtrust.Errorf(dbtrust.TooLarge, "the request body is larger than %d bytes", a.cfg.MaxBody)
		}
		return nil, fail(badBody, "body could not be read")
	}
	princ, err := a.authenticate(r, body)
	if _, err := httpx.Admit(w, r, a.cfg.Limits, princ, err); err != nil {
		return nil, err
	}
	if dbtrust.Authorize(princ, iamActions[action]) != nil {
		return nil, dbtrust.Errorf(dbtrust.Forbidden, "policy doesn't allow %s to be performed", action)
	}
	c := &call{p: princ, body: body}
	if _, ok := pathHas(r, "project_id"); ok {
		c.projectID = r.PathValue("project_id")
		if !dbtrust.ValidProjectID(c.projectID) {
			return nil, fail(badProjectID, "malformed project_id")
		}
		// A project that is not the caller's reads exactly like a missing
		// instance; so does an X-Project-Id header naming another project.
		owner, err := a.projectOwner(r, c.projectID)
		if err != nil {
			return nil, err
		}
		if xp := r.Header.Get("X-Project-Id"); owner != princ.AccountID || xp != "" && xp != c.projectID {
			return nil, dbtrust.Errorf(dbtrust.NotFound, "no such instance")
		}
	}
	if _, ok := pathHas(r, "instance_id"); ok {
		var ok bool
		if c.instanceID, ok = dbtrust.ParseInstanceID(r.PathValue("instance_id")); !ok {
			return nil, fail(badInstanceID, "malformed instance_id")
		}
	}
	return c, nil
}

// projectOwner returns the ID of the account that owns a project (the core
// caches the lookup).
func (a *api) projectOwner(r *http.Request, projectID string) (string, error) {
	acct, err := a.svc.ProjectAccount(r.Context(), projectID)
	return acct.ID, err
}

// pathHas reports whether the route's pattern has the wildcard name.
func pathHas(r *http.Request, name string) (string, bool) {
	return r.PathValue(name), strings.Contains(r.Pattern, "{"+name+"}")
}

// authenticate accepts both of Huawei's schemes: a token in X-Auth-Token
// (here a dbtrust bearer token), or an AK/SK signature.
func (a *api) authenticate(r *http.Request, body []byte) (dbtrust.Principal, error) {
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "SDK-") || strings.Contains(h, "Access=") {
		return verifySDKSignature(r.Context(), r, body, a.cfg.RealClock(), a.keys.Authenticate)
	}
	token := strings.TrimSpace(r.Header.Get("X-Auth-Token"))
	if token == "" {
		if r.Header.Get("Authorization") != "" {
			return dbtrust.Principal{}, authFailure("unsupported Authorization scheme; send X-Auth-Token or sign with " + sdkAlgorithm)
		}
		return dbtrust.Principal{}, authFailure("x-auth-token not found")
	}
	p, err := a.svc.Authenticate(r.Context(), token)
	if dbtrust.ErrorCode(err) == dbtrust.Unauthorized {
		return p, authFailure("decrypt token fail")
	}
	return p, err
}
func (a *api) logFailure(r *http.Request, err error) {
	switch dbtrust.ErrorCode(err) {
	case dbtrust.Internal, dbtrust.Unavailable:
		var de *dialectError
		if errors.As(err, &de) {
			return
		}
		a.cfg.Log.Error("huaweicloud request failed", "request_id", httpx.RequestID(r), "path", r.URL.Path, "err", err)
	}
}

// unknown answers paths under the dialect's prefixes that publish nothing.
func (a *api) unknown(p product) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, p, fail(unknownRoute, "no route"))
	})
}

// ---- DDS ----

type certInfo struct {
	Category     string `json:"category"`
	DownloadLink string `json:"download_link"`
}

type ddsCertsResponse struct {
	Certs []certInfo `json:"certs"`
}

// ddsDownloadLink is DDS ListSslCertDownloadAddress: one "international"
// certificate link to the instance's CA bundle.
func (a *api) ddsDownloadLink(w http.ResponseWriter, r *http.Request, c *call) error {
	// The instance must exist: it does when it has CAs (the core keeps CA
	// lists cached, so this costs no store call on the hot path).
	if _, err := a.svc.InstanceCAs(r.Context(), c.p, c.instanceID); err != nil {
		return err
	}
	link, err := a.presign(r.Context(), "/"+DDSBucket+"/"+c.projectID+"/"+c.instanceID+"/"+ddsFile, c.p.Subject)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ddsCertsResponse{Certs: []certInfo{{Category: "international", DownloadLink: link}}})
	return nil
}

// ---- DCS ----

// dcsSupportsSSL reports whether DCS offers SSL on the instance at all: Redis
// 6 and 7 only, as at Huawei.
func dcsSupportsSSL(inst dbtrust.Instance) bool {
	major, _, _ := strings.Cut(inst.Version, ".")
	return inst.Engine == dbtrust.EngineRedis && (major == "6" || major == "7")
}

// emptyOrObject accepts an empty body or one JSON object (the SDK sends
// nothing; Huawei's pages show "{}").
func emptyOrObject(body []byte) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	var v map[string]json.RawMessage
	if err := json.Unmarshal(body, &v); err != nil {
		return fail(badBody, "body is not a JSON object")
	}
	return nil
}

type dcsDownloadResponse struct {
	BucketName string `json:"bucket_name"`
	FileName   string `json:"file_name"`
	Link       string `json:"link"`
}

// dcsDownload is DCS DownloadSslCert: a link to the instance's CA bundle, or
// DCS.4201 when the instance has no SSL.
func (a *api) dcsDownload(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := emptyOrObject(c.body); err != nil {
		return err
	}
	inst, err := a.svc.GetInstance(r.Context(), c.p, c.instanceID)
	if err != nil {
		return err
	}
	if !inst.TLS || !dcsSupportsSSL(inst) {
		return fail(sslUnsupported, "instance has no SSL")
	}
	link, err := a.presign(r.Context(), "/"+DCSBucket+"/"+c.projectID+"/ssl-"+c.instanceID+"/"+dcsFile, c.p.Subject)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, dcsDownloadResponse{BucketName: DCSBucket, FileName: dcsFile, Link: link})
	return nil
}

// dcsSSLDetail is DCS ShowInstanceSslDetail's body. Port is a string at Huawei.
type dcsSSLDetail struct {
	Enabled      bool   `json:"enabled"`
	Port         string `json:"port"`
	DomainName   string `json:"domain_name"`
	SSLExpiredAt string `json:"ssl_expired_at"`
	SSLValidated bool   `json:"ssl_validated"`
}

// dcsShowSSL is DCS ShowInstanceSslDetail: whether SSL is on, and the expiry
// of the current CA.
func (a *api) dcsShowSSL(w http.ResponseWriter, r *http.Request, c *call) error {
	inst, err := a.svc.GetInstance(r.Context(), c.p, c.instanceID)
	if err != nil {
		return err
	}
	if !dcsSupportsSSL(inst) {
		return fail(sslUnsupported, "engine has no SSL")
	}
	cas, err := a.svc.InstanceCAs(r.Context(), c.p, c.instanceID)
	if err != nil {
		return err
	}
	ep := a.svc.InstanceEndpoint(inst)
	out := dcsSSLDetail{Enabled: inst.TLS, Port: strconv.Itoa(ep.Port), DomainName: ep.Host}
	now := a.now()
	for _, ca := range cas {
		if ca.State == dbtrust.CACurrent {
			out.SSLExpiredAt = ca.NotAfter.UTC().Format(time.RFC3339)
			out.SSLValidated = inst.TLS && !now.Before(ca.NotBefore) && now.Before(ca.NotAfter)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type dcsSwitchRequest struct {
	Enabled *bool `json:"enabled"`
}

type dcsSwitchResponse struct {
	JobID      string `json:"job_id"`
	InstanceID string `json:"instance_id"`
	Result     string `json:"result"`
}

// dcsSwitchSSL is DCS UpdateSslSwitch: {"enabled": true|false}. Huawei runs it
// as a job; dbtrust switches at once and reports the job done.
func (a *api) dcsSwitchSSL(w http.ResponseWriter, r *http.Request, c *call) error {
	var req dcsSwitchRequest
	dec := json.NewDecoder(bytes.NewReader(c.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || dec.More() || req.Enabled == nil {
		return dbtrust.FieldError("enabled", "the body must be {\"enabled\": true|false}")
	}
	inst, err := a.svc.GetInstance(r.Context(), c.p, c.instanceID)
	if err != nil {
		return err
	}
	if !dcsSupportsSSL(inst) {
		return fail(sslUnsupported, "engine has no SSL")
	}
	if err := a.svc.SetInstanceTLS(r.Context(), c.p, c.instanceID, *req.Enabled); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, dcsSwitchResponse{JobID: uuid.NewString(), InstanceID: c.instanceID, Result: "success"})
	return nil
}

// ---- IAM ----

type project struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`
}

// listProjects is IAM KeystoneListProjects, which the SDK calls once when it
// is given a region but no project ID: the caller's own project, named after
// the region asked for.
func (a *api) listProjects(w http.ResponseWriter, r *http.Request, c *call) error {
	acct, err := a.svc.AccountOf(r.Context(), c.p)
	if err != nil {
		return err
	}
	name := r.URL.Query().Get("name")
	if name == "" {
		name = "dbtrust"
	}
	if len(name) > 64 {
		return dbtrust.FieldError("name", "name must be at most 64 characters")
	}
	writeJSON(w, http.StatusOK, map[string][]project{"projects": {{ID: acct.ProjectID, Name: name, Enabled: true}}})
	return nil
}
