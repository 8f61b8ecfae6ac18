package native

import (
	"net/http"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/httpx"
	"github.com/dbtrust/dbtrust/internal/pki"
)

const jsonType = "application/json"

type api struct {
	svc service
	cfg Config
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error

// auth checks the bearer token and the rate limit, runs h, and writes h's
// error, if any.
func (a api) auth(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, _ := httpx.Bearer(r)
		p, err := a.svc.Authenticate(r.Context(), token)
		if _, lerr := httpx.Limit(w, a.cfg.Limiter, httpx.LimitKey(r, p.Subject, err == nil)); lerr != nil {
			err = lerr
		}
		if err == nil {
			err = h(w, r, p)
		}
		if err != nil {
			a.fail(w, r, err)
		}
	})
}

// public runs h without credentials, limited per client address.
func (a api) public(h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := httpx.Limit(w, a.cfg.Limiter, httpx.LimitKey(r, "", false))
		if err == nil {
			err = h(w, r)
		}
		if err != nil {
			a.fail(w, r, err)
		}
	})
}

func (a api) fail(w http.ResponseWriter, r *http.Request, err error) {
	if c := dbtrust.ErrorCode(err); c == dbtrust.Internal || c == dbtrust.Unavailable {
		a.cfg.Log.Error("native request failed", "request_id", httpx.RequestID(r), "path", r.URL.Path, "err", err)
	}
	writeError(w, r, err)
}

func (a api) decode(w http.ResponseWriter, r *http.Request, v any, allowEmpty bool) error {
	return httpx.DecodeJSON(w, r, v, httpx.DecodeOptions{Limit: a.cfg.MaxBody, Strict: true, AllowEmpty: allowEmpty})
}

func (a api) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", jsonType)
	w.Write(openAPI)
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func orEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// ---- instances ----

// Instance is the wire form of an instance.
type Instance struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Engine    string     `json:"engine"`
	Version   string     `json:"version"`
	Region    string     `json:"region"`
	Size      string     `json:"size"`
	NumNodes  int        `json:"num_nodes"`
	TLS       bool       `json:"tls"`
	Host      string     `json:"host"`
	Port      int        `json:"port"`
	Endpoints []Endpoint `json:"endpoints"`
	Tags      []string   `json:"tags"`
	CreatedAt string     `json:"created_at"`
}

// Endpoint is the wire form of an instance's endpoint.
type Endpoint struct {
	Host string `json:"host"`
	Port int    `json:"port"`
	Role string `json:"role,omitempty"`
}

// FromInstance returns the wire form of inst; eps are its endpoints (see
// Service.InstanceEndpoints), and host and port those of the primary one.
func FromInstance(inst dbtrust.Instance, eps []dbtrust.Endpoint) Instance {
	ep := dbtrust.PrimaryEndpoint(eps)
	out := Instance{ID: inst.ID, Name: inst.Name, Engine: string(inst.Engine), Version: inst.Version, Region: inst.Region,
		Size: inst.Size, NumNodes: inst.NumNodes, TLS: inst.TLS, Host: ep.Host, Port: ep.Port,
		Endpoints: []Endpoint{}, Tags: orEmpty(inst.Tags), CreatedAt: ts(inst.CreatedAt)}
	for _, e := range eps {
		out.Endpoints = append(out.Endpoints, Endpoint(e))
	}
	return out
}

// toEndpoints returns the core form of wire endpoints (nil for nil).
func toEndpoints(eps []Endpoint) []dbtrust.Endpoint {
	if eps == nil {
		return nil
	}
	out := make([]dbtrust.Endpoint, 0, len(eps))
	for _, e := range eps {
		out = append(out, dbtrust.Endpoint(e))
	}
	return out
}

type createInstanceRequest struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Engine    string     `json:"engine"`
	Version   string     `json:"version"`
	Region    string     `json:"region"`
	Size      string     `json:"size"`
	NumNodes  int        `json:"num_nodes"`
	Tags      []string   `json:"tags"`
	TLS       *bool      `json:"tls"`
	CAKeyType string     `json:"ca_key_type"`
	Endpoints []Endpoint `json:"endpoints"`
}

func (a api) createInstance(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	var req createInstanceRequest
	if err := a.decode(w, r, &req, false); err != nil {
		return err
	}
	inst, err := a.svc.CreateInstance(r.Context(), p, dbtrust.InstanceSpec{ID: req.ID, Name: req.Name, Engine: req.Engine, Version: req.Version,
		Region: req.Region, Size: req.Size, NumNodes: req.NumNodes, Tags: req.Tags, TLS: req.TLS, CAKeyType: req.CAKeyType,
		Endpoints: toEndpoints(req.Endpoints)})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/instances/"+inst.ID)
	httpx.WriteJSON(w, http.StatusCreated, jsonType, FromInstance(inst, a.svc.InstanceEndpoints(inst)))
	return nil
}

// InstanceList is the answer of GET /v1/instances.
type InstanceList struct {
	Instances []Instance `json:"instances"`
}

func (a api) listInstances(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	list, err := a.svc.ListInstances(r.Context(), p, r.URL.Query().Get("tag"))
	if err != nil {
		return err
	}
	out := InstanceList{Instances: []Instance{}}
	for _, inst := range list {
		out.Instances = append(out.Instances, FromInstance(inst, a.svc.InstanceEndpoints(inst)))
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, out)
	return nil
}

func (a api) getInstance(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	inst, err := a.svc.GetInstance(r.Context(), p, r.PathValue("instance_id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, FromInstance(inst, a.svc.InstanceEndpoints(inst)))
	return nil
}

type updateInstanceRequest struct {
	Endpoints *[]Endpoint `json:"endpoints"`
}

func (a api) updateInstance(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	var req updateInstanceRequest
	if err := a.decode(w, r, &req, false); err != nil {
		return err
	}
	var u dbtrust.InstanceUpdate
	if req.Endpoints != nil {
		eps := toEndpoints(*req.Endpoints)
		if eps == nil {
			eps = []dbtrust.Endpoint{}
		}
		u.Endpoints = &eps
	}
	inst, err := a.svc.UpdateInstance(r.Context(), p, r.PathValue("instance_id"), u)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, FromInstance(inst, a.svc.InstanceEndpoints(inst)))
	return nil
}

func (a api) deleteInstance(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	if err := a.svc.DeleteInstance(r.Context(), p, r.PathValue("instance_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- CAs and rotation ----

// CA is the wire form of one of an instance's CAs.
type CA struct {
	ID             string `json:"id"`
	InstanceID     string `json:"instance_id"`
	State          string `json:"state"`
	KeyType        string `json:"key_type"`
	Serial         string `json:"serial"`
	Fingerprint    string `json:"fingerprint_sha256"`
	NotBefore      string `json:"not_before"`
	NotAfter       string `json:"not_after"`
	CreatedAt      string `json:"created_at"`
	CertificatePEM string `json:"certificate_pem"`
	CRLURL         string `json:"crl_url"`
}

// FromCA returns the wire form of ca.
func FromCA(ca dbtrust.CA) CA {
	return CA{ID: ca.ID, InstanceID: ca.InstanceID, State: string(ca.State), KeyType: ca.KeyType, Serial: ca.Serial,
		Fingerprint: ca.Fingerprint, NotBefore: ts(ca.NotBefore), NotAfter: ts(ca.NotAfter), CreatedAt: ts(ca.CreatedAt),
		CertificatePEM: string(ca.CertPEM), CRLURL: "/v1/cas/" + ca.ID + "/crl"}
}

// CAList is the answer of the CA list and of every rotation step: the
// instance's CAs, oldest first, and the bundle clients are now served.
type CAList struct {
	InstanceID string `json:"instance_id"`
	CAs        []CA   `json:"cas"`
	BundlePEM  string `json:"bundle_pem"`
}

// FromCAs returns the wire form of an instance's CAs.
func FromCAs(instanceID string, cas []dbtrust.CA) CAList {
	out := CAList{InstanceID: instanceID, CAs: []CA{}, BundlePEM: string(dbtrust.Bundle(cas))}
	for _, ca := range cas {
		out.CAs = append(out.CAs, FromCA(ca))
	}
	return out
}

func (a api) writeCAs(w http.ResponseWriter, r *http.Request, cas []dbtrust.CA, err error) error {
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, FromCAs(r.PathValue("instance_id"), cas))
	return nil
}

func (a api) listCAs(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	cas, err := a.svc.InstanceCAs(r.Context(), p, r.PathValue("instance_id"))
	return a.writeCAs(w, r, cas, err)
}

func (a api) getBundle(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	b, err := a.svc.InstanceCABundle(r.Context(), p, r.PathValue("instance_id"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Write(b)
	return nil
}

type rotateStartRequest struct {
	KeyType string `json:"key_type"`
}

func (a api) rotateStart(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	var req rotateStartRequest
	if err := a.decode(w, r, &req, true); err != nil {
		return err
	}
	cas, err := a.svc.RotateStart(r.Context(), p, r.PathValue("instance_id"), req.KeyType)
	return a.writeCAs(w, r, cas, err)
}

func (a api) rotateRollback(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	cas, err := a.svc.RotateRollback(r.Context(), p, r.PathValue("instance_id"))
	return a.writeCAs(w, r, cas, err)
}

// forceRequest is the optional body of rotation finish and retire.
type forceRequest struct {
	Force bool `json:"force"`
}

func (a api) rotateRetire(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	var req forceRequest
	if err := a.decode(w, r, &req, true); err != nil {
		return err
	}
	cas, err := a.svc.RotateRetire(r.Context(), p, r.PathValue("instance_id"), req.Force)
	return a.writeCAs(w, r, cas, err)
}

// RotationPolicy is the wire form of an instance's automatic rotation policy.
// Durations are Go duration strings ("2160h").
type RotationPolicy struct {
	InstanceID  string `json:"instance_id"`
	Enabled     bool   `json:"enabled"`
	StartBefore string `json:"start_before"`
	FinishAfter string `json:"finish_after"`
	RetireAfter string `json:"retire_after"`
	KeyType     string `json:"key_type"`
}

// FromPolicy returns the wire form of pol.
func FromPolicy(pol dbtrust.RotationPolicy) RotationPolicy {
	return RotationPolicy{InstanceID: pol.InstanceID, Enabled: pol.Enabled, StartBefore: pol.StartBefore.String(),
		FinishAfter: pol.FinishAfter.String(), RetireAfter: pol.RetireAfter.String(), KeyType: pol.KeyType}
}

func (a api) getPolicy(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	pol, err := a.svc.GetRotationPolicy(r.Context(), p, r.PathValue("instance_id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, FromPolicy(pol))
	return nil
}

type policyRequest struct {
	Enabled     bool   `json:"enabled"`
	StartBefore string `json:"start_before"`
	FinishAfter string `json:"finish_after"`
	RetireAfter string `json:"retire_after"`
	KeyType     string `json:"key_type"`
}

// ParseDuration parses an optional Go duration string of a request field.
func ParseDuration(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, dbtrust.FieldError(field, "%s must be a duration such as 720h or 90m", field)
	}
	return d, nil
}

func (a api) putPolicy(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	var req policyRequest
	if err := a.decode(w, r, &req, false); err != nil {
		return err
	}
	spec := dbtrust.RotationPolicySpec{Enabled: req.Enabled, KeyType: req.KeyType}
	var err error
	if spec.StartBefore, err = ParseDuration("start_before", req.StartBefore); err != nil {
		return err
	}
	if spec.FinishAfter, err = ParseDuration("finish_after", req.FinishAfter); err != nil {
		return err
	}
	if spec.RetireAfter, err = ParseDuration("retire_after", req.RetireAfter); err != nil {
		return err
	}
	pol, err := a.svc.SetRotationPolicy(r.Context(), p, r.PathValue("instance_id"), spec)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, FromPolicy(pol))
	return nil
}

func (a api) getCRL(w http.ResponseWriter, r *http.Request) error {
	der, err := a.svc.CRL(r.Context(), r.PathValue("ca_id"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/pkix-crl")
	w.Header().Set("Cache-Control", "max-age=300")
	w.Write(der)
	return nil
}

func (a api) getCRLPEM(w http.ResponseWriter, r *http.Request) error {
	der, err := a.svc.CRL(r.Context(), r.PathValue("ca_id"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Header().Set("Cache-Control", "max-age=300")
	w.Write(pki.CRLPEM(der))
	return nil
}

// ---- certificates ----

// Certificate is the wire form of an issued certificate. PrivateKeyPEM and
// CAPEM are only in the answer to an issue request.
type Certificate struct {
	Serial           string   `json:"serial"`
	InstanceID       string   `json:"instance_id"`
	CAID             string   `json:"ca_id"`
	CommonName       string   `json:"common_name"`
	DNSNames         []string `json:"dns_names"`
	IPs              []string `json:"ips"`
	KeyType          string   `json:"key_type"`
	Fingerprint      string   `json:"fingerprint_sha256"`
	NotBefore        string   `json:"not_before"`
	NotAfter         string   `json:"not_after"`
	CreatedAt        string   `json:"created_at"`
	State            string   `json:"state"` // valid, expired or revoked
	RevokedAt        string   `json:"revoked_at,omitempty"`
	RevocationReason string   `json:"revocation_reason,omitempty"`
	CertificatePEM   string   `json:"certificate_pem"`
	PrivateKeyPEM    string   `json:"private_key_pem,omitempty"`
	CAPEM            string   `json:"ca_pem,omitempty"`
}

// FromCertificate returns the wire form of c as of now.
func FromCertificate(c dbtrust.IssuedCertificate, now time.Time) Certificate {
	out := Certificate{Serial: c.Serial, InstanceID: c.InstanceID, CAID: c.CAID, CommonName: c.CommonName,
		DNSNames: orEmpty(c.DNSNames), IPs: orEmpty(c.IPs), KeyType: c.KeyType, Fingerprint: c.Fingerprint,
		NotBefore: ts(c.NotBefore), NotAfter: ts(c.NotAfter), CreatedAt: ts(c.CreatedAt), State: "valid",
		CertificatePEM: string(c.CertPEM), PrivateKeyPEM: string(c.KeyPEM), CAPEM: string(c.CAPEM)}
	switch {
	case c.RevokedAt != nil:
		out.State, out.RevokedAt, out.RevocationReason = "revoked", ts(*c.RevokedAt), c.RevocationReason
	case !now.Before(c.NotAfter):
		out.State = "expired"
	}
	return out
}

// CertificateList is the answer of GET .../certificates.
type CertificateList struct {
	Certificates []Certificate `json:"certificates"`
}

type issueRequest struct {
	CommonName string   `json:"common_name"`
	DNSNames   []string `json:"dns_names"`
	IPs        []string `json:"ips"`
	CSR        string   `json:"csr"`
	KeyType    string   `json:"key_type"`
	TTL        string   `json:"ttl"`
	ClientAuth bool     `json:"client_auth"`
}

func (a api) issueCertificate(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	var req issueRequest
	if err := a.decode(w, r, &req, true); err != nil {
		return err
	}
	ttl, err := ParseDuration("ttl", req.TTL)
	if err != nil {
		return err
	}
	c, err := a.svc.IssueCertificate(r.Context(), p, r.PathValue("instance_id"), dbtrust.IssueRequest{
		CommonName: req.CommonName, DNSNames: req.DNSNames, IPs: req.IPs, CSRPEM: []byte(req.CSR), KeyType: req.KeyType,
		TTL: ttl, Client: req.ClientAuth})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/instances/"+c.InstanceID+"/certificates/"+c.Serial)
	w.Header().Set("Cache-Control", "no-store") // the answer may hold a private key
	httpx.WriteJSON(w, http.StatusCreated, jsonType, FromCertificate(c, a.svc.Now()))
	return nil
}

func (a api) listCertificates(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	list, err := a.svc.ListIssuedCertificates(r.Context(), p, r.PathValue("instance_id"))
	if err != nil {
		return err
	}
	out := CertificateList{Certificates: []Certificate{}}
	now := a.svc.Now()
	for _, c := range list {
		out.Certificates = append(out.Certificates, FromCertificate(c, now))
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, out)
	return nil
}

func (a api) getCertificate(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	c, err := a.svc.GetIssuedCertificate(r.Context(), p, r.PathValue("instance_id"), r.PathValue("serial"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, FromCertificate(c, a.svc.Now()))
	return nil
}

type revokeRequest struct {
	Reason string `json:"reason"`
}

func (a api) revokeCertificate(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	var req revokeRequest
	if err := a.decode(w, r, &req, true); err != nil {
		return err
	}
	c, err := a.svc.RevokeIssuedCertificate(r.Context(), p, r.PathValue("instance_id"), r.PathValue("serial"), req.Reason)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, FromCertificate(c, a.svc.Now()))
	return nil
}

// ---- recipes ----

// Recipe is one connection recipe.
type Recipe struct {
	Client  string `json:"client"`
	Title   string `json:"title"`
	Command string `json:"command"`
}

// Recipes is the answer of GET .../recipes: how to connect to the instance
// with full verification, with the CA bundle saved at CAFile (fetch it from
// BundleURL).
type Recipes struct {
	InstanceID string   `json:"instance_id"`
	Engine     string   `json:"engine"`
	Host       string   `json:"host"`
	Port       int      `json:"port"`
	CAFile     string   `json:"ca_file"`
	BundleURL  string   `json:"bundle_url"`
	Recipes    []Recipe `json:"recipes"`
}

// FromRecipes returns the wire form of an instance's recipes, made for its
// endpoint ep (see Service.InstanceEndpoint).
func FromRecipes(inst dbtrust.Instance, ep dbtrust.Endpoint, caFile string, rs []dbtrust.Recipe) Recipes {
	out := Recipes{InstanceID: inst.ID, Engine: string(inst.Engine), Host: ep.Host, Port: ep.Port,
		CAFile: caFile, BundleURL: "/v1/instances/" + inst.ID + "/ca-bundle", Recipes: []Recipe{}}
	for _, r := range rs {
		out.Recipes = append(out.Recipes, Recipe{Client: r.Client, Title: r.Title, Command: r.Command})
	}
	return out
}

func (a api) getRecipes(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	caFile := r.URL.Query().Get("ca_file")
	if len(caFile) > 1024 {
		return dbtrust.FieldError("ca_file", "ca_file must be at most 1024 characters")
	}
	inst, rs, err := a.svc.ConnectionRecipes(r.Context(), p, r.PathValue("instance_id"), caFile)
	if err != nil {
		return err
	}
	if caFile == "" {
		caFile = dbtrust.BundleFile(inst.Name)
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, FromRecipes(inst, a.svc.InstanceEndpoint(inst), caFile, rs))
	return nil
}

// ---- tokens and audit ----

// Token is the wire form of a token; Secret only in the answer to a create.
// A node token has the role "node" and names its instance.
type Token struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Role       string `json:"role"`
	InstanceID string `json:"instance_id,omitempty"`
	CreatedAt  string `json:"created_at"`
	RevokedAt  string `json:"revoked_at,omitempty"`
	Secret     string `json:"token,omitempty"`
}

// FromToken returns the wire form of t.
func FromToken(t dbtrust.Token) Token {
	o := Token{ID: t.ID, Name: t.Name, Role: string(t.PrincipalRole()), InstanceID: t.InstanceID, CreatedAt: ts(t.CreatedAt)}
	if t.RevokedAt != nil {
		o.RevokedAt = ts(*t.RevokedAt)
	}
	return o
}

type createTokenRequest struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

func (a api) createToken(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	var req createTokenRequest
	if err := a.decode(w, r, &req, false); err != nil {
		return err
	}
	role, err := dbtrust.ParseRole(req.Role)
	if err != nil {
		return err
	}
	t, full, err := a.svc.CreateToken(r.Context(), p, req.Name, role)
	if err != nil {
		return err
	}
	out := FromToken(t)
	out.Secret = full
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusCreated, jsonType, out)
	return nil
}

type createNodeTokenRequest struct {
	Name string `json:"name"`
}

func (a api) createNodeToken(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	var req createNodeTokenRequest
	if err := a.decode(w, r, &req, false); err != nil {
		return err
	}
	t, full, err := a.svc.CreateNodeToken(r.Context(), p, r.PathValue("instance_id"), req.Name)
	if err != nil {
		return err
	}
	out := FromToken(t)
	out.Secret = full
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusCreated, jsonType, out)
	return nil
}

// Whoami is the answer of GET /v1/whoami: who the token acts as.
type Whoami struct {
	AccountID  string `json:"account_id"`
	Subject    string `json:"subject"`
	Role       string `json:"role"`
	InstanceID string `json:"instance_id,omitempty"`
}

func (a api) whoami(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	httpx.WriteJSON(w, http.StatusOK, jsonType, Whoami{AccountID: p.AccountID, Subject: p.Subject, Role: string(p.Role), InstanceID: p.InstanceID})
	return nil
}

// TokenList is the answer of GET /v1/tokens.
type TokenList struct {
	Tokens []Token `json:"tokens"`
}

func (a api) listTokens(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	list, err := a.svc.ListTokens(r.Context(), p)
	if err != nil {
		return err
	}
	out := TokenList{Tokens: []Token{}}
	for _, t := range list {
		out.Tokens = append(out.Tokens, FromToken(t))
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, out)
	return nil
}

func (a api) revokeToken(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	if err := a.svc.RevokeToken(r.Context(), p, r.PathValue("token_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// AuditEvent is the wire form of an audit event.
type AuditEvent struct {
	ID       int64  `json:"id"`
	Time     string `json:"time"`
	Actor    string `json:"actor"`
	Action   string `json:"action"`
	Resource string `json:"resource"`
	Outcome  string `json:"outcome"`
}

// AuditList is the answer of GET /v1/audit.
type AuditList struct {
	Events []AuditEvent `json:"events"`
}

func (a api) listAudit(w http.ResponseWriter, r *http.Request, p dbtrust.Principal) error {
	limit, err := dbtrust.ParseAuditLimit(r.URL.Query().Get("limit"))
	if err != nil {
		return err
	}
	list, err := a.svc.Audit(r.Context(), p, limit)
	if err != nil {
		return err
	}
	out := AuditList{Events: []AuditEvent{}}
	for _, e := range list {
		out.Events = append(out.Events, AuditEvent{ID: e.ID, Time: e.Time.UTC().Format(time.RFC3339Nano), Actor: e.Actor,
			Action: e.Action, Resource: e.Resource, Outcome: e.Outcome})
	}
	httpx.WriteJSON(w, http.StatusOK, jsonType, out)
	return nil
}
