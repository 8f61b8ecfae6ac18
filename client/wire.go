package client

import (
	"net/url"
	"strconv"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/accesskey"
)

// The wire types of the native API (/v1). The server writes them, this
// package's Client reads them, and the dbtrust command prints them with -o
// json: one definition for all three. A list is an object with one array
// member named for its items ({"instances":[...]}), never a bare array.

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func orEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// ErrorBody is the native error shape: {"error":{"code","message"[,"field"]},"request_id"}.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

// ---- instances ----

// Instance is the wire form of an instance. Host and Port are those of its
// primary endpoint.
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

// ToEndpoints returns the core form of wire endpoints (nil for nil).
func ToEndpoints(eps []Endpoint) []dbtrust.Endpoint {
	if eps == nil {
		return nil
	}
	out := make([]dbtrust.Endpoint, 0, len(eps))
	for _, e := range eps {
		out = append(out, dbtrust.Endpoint(e))
	}
	return out
}

// CreateInstanceRequest is the body of POST /v1/instances.
type CreateInstanceRequest struct {
	ID        string     `json:"id,omitempty"`
	Name      string     `json:"name"`
	Engine    string     `json:"engine"`
	Version   string     `json:"version,omitempty"`
	Region    string     `json:"region,omitempty"`
	Size      string     `json:"size,omitempty"`
	NumNodes  int        `json:"num_nodes,omitempty"`
	Tags      []string   `json:"tags,omitempty"`
	TLS       *bool      `json:"tls,omitempty"`
	CAKeyType string     `json:"ca_key_type,omitempty"`
	Endpoints []Endpoint `json:"endpoints,omitempty"`
}

// Spec returns the core's form of the request.
func (r CreateInstanceRequest) Spec() dbtrust.InstanceSpec {
	return dbtrust.InstanceSpec{ID: r.ID, Name: r.Name, Engine: r.Engine, Version: r.Version, Region: r.Region, Size: r.Size,
		NumNodes: r.NumNodes, Tags: r.Tags, TLS: r.TLS, CAKeyType: r.CAKeyType, Endpoints: ToEndpoints(r.Endpoints)}
}

// UpdateInstanceRequest is the body of PATCH /v1/instances/{id}: what it
// names changes, the rest stays.
type UpdateInstanceRequest struct {
	Endpoints *[]Endpoint `json:"endpoints,omitempty"`
}

// Update returns the core's form of the request.
func (r UpdateInstanceRequest) Update() dbtrust.InstanceUpdate {
	var u dbtrust.InstanceUpdate
	if r.Endpoints != nil {
		eps := ToEndpoints(*r.Endpoints)
		if eps == nil {
			eps = []dbtrust.Endpoint{}
		}
		u.Endpoints = &eps
	}
	return u
}

// InstanceList is the answer of GET /v1/instances.
type InstanceList struct {
	Instances []Instance `json:"instances"`
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

// RotateStartRequest is the body of POST .../rotation/start.
type RotateStartRequest struct {
	KeyType string `json:"key_type,omitempty"`
}

// ForceRequest is the optional body of POST .../rotation/finish and
// .../rotation/retire.
type ForceRequest struct {
	Force bool `json:"force,omitempty"`
}

// RotationClient is one principal that fetched an instance's bundle.
type RotationClient struct {
	Subject      string   `json:"subject"`
	Name         string   `json:"name"`
	Kind         string   `json:"kind"`
	Via          string   `json:"via"`
	LastFetch    string   `json:"last_fetch"`
	Fetches      int64    `json:"fetches"`
	Fingerprints []string `json:"fingerprints_sha256"`
	HoldsNext    bool     `json:"holds_next"`
}

// RotationStatus is the answer of GET /v1/instances/{id}/rotation.
type RotationStatus struct {
	InstanceID   string           `json:"instance_id"`
	Stage        string           `json:"stage"`
	NewCAID      string           `json:"new_ca_id"`
	NewCASHA256  string           `json:"new_ca_fingerprint_sha256"`
	CAs          []CA             `json:"cas"`
	Clients      []RotationClient `json:"clients"`
	HoldingCount int              `json:"holding"`
	LackingCount int              `json:"lacking"`
}

// FromClients returns the wire form of rotation clients.
func FromClients(cs []dbtrust.Client) []RotationClient {
	out := []RotationClient{}
	for _, c := range cs {
		out = append(out, RotationClient{Subject: c.Subject, Name: c.Name, Kind: c.Kind, Via: c.Via, LastFetch: ts(c.FetchedAt),
			Fetches: c.Fetches, Fingerprints: orEmpty(c.Fingerprints), HoldsNext: c.HoldsNext})
	}
	return out
}

// FromRotationStatus returns the wire form of st.
func FromRotationStatus(st dbtrust.RotationStatus) RotationStatus {
	out := RotationStatus{InstanceID: st.InstanceID, Stage: string(st.Stage), NewCAID: st.NewCA.ID, NewCASHA256: st.NewCA.Fingerprint,
		CAs: []CA{}, Clients: FromClients(st.Clients), HoldingCount: st.Holding, LackingCount: st.Lacking}
	for _, state := range []dbtrust.CAState{dbtrust.CACurrent, dbtrust.CANext, dbtrust.CAPrevious} {
		if ca, ok := st.CAs[state]; ok {
			out.CAs = append(out.CAs, FromCA(ca))
		}
	}
	return out
}

// FinishResult is the answer of a rotation finish: the CAs, and the clients
// whose last bundle lacked the CA that is now current.
type FinishResult struct {
	CAList
	Lacking []RotationClient `json:"lacking"`
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

// PolicyRequest is the body of PUT .../rotation/policy.
type PolicyRequest struct {
	Enabled     bool   `json:"enabled"`
	StartBefore string `json:"start_before,omitempty"`
	FinishAfter string `json:"finish_after,omitempty"`
	RetireAfter string `json:"retire_after,omitempty"`
	KeyType     string `json:"key_type,omitempty"`
}

// Spec returns the core's form of the request, or an Invalid error naming
// the field whose duration does not parse.
func (r PolicyRequest) Spec() (dbtrust.RotationPolicySpec, error) {
	spec := dbtrust.RotationPolicySpec{Enabled: r.Enabled, KeyType: r.KeyType}
	var err error
	if spec.StartBefore, err = ParseDuration("start_before", r.StartBefore); err != nil {
		return spec, err
	}
	if spec.FinishAfter, err = ParseDuration("finish_after", r.FinishAfter); err != nil {
		return spec, err
	}
	spec.RetireAfter, err = ParseDuration("retire_after", r.RetireAfter)
	return spec, err
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

// IssueRequest is the body of POST .../certificates.
type IssueRequest struct {
	CommonName string   `json:"common_name,omitempty"`
	DNSNames   []string `json:"dns_names,omitempty"`
	IPs        []string `json:"ips,omitempty"`
	CSR        string   `json:"csr,omitempty"`
	KeyType    string   `json:"key_type,omitempty"`
	TTL        string   `json:"ttl,omitempty"`
	ClientAuth bool     `json:"client_auth,omitempty"`
}

// Request returns the core's form of the request.
func (r IssueRequest) Request() (dbtrust.IssueRequest, error) {
	ttl, err := ParseDuration("ttl", r.TTL)
	return dbtrust.IssueRequest{CommonName: r.CommonName, DNSNames: r.DNSNames, IPs: r.IPs, CSRPEM: []byte(r.CSR),
		KeyType: r.KeyType, TTL: ttl, Client: r.ClientAuth}, err
}

// RevokeRequest is the body of POST .../certificates/{serial}/revoke.
type RevokeRequest struct {
	Reason string `json:"reason,omitempty"`
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

// CreateTokenRequest is the body of POST /v1/tokens.
type CreateTokenRequest struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// CreateNodeTokenRequest is the body of POST /v1/instances/{id}/node-tokens.
type CreateNodeTokenRequest struct {
	Name string `json:"name"`
}

// Whoami is the answer of GET /v1/whoami: who the token acts as.
type Whoami struct {
	AccountID  string `json:"account_id"`
	Subject    string `json:"subject"`
	Role       string `json:"role"`
	InstanceID string `json:"instance_id,omitempty"`
}

// TokenList is the answer of GET /v1/tokens.
type TokenList struct {
	Tokens []Token `json:"tokens"`
}

// ---- access keys ----

// AccessKey is the wire form of a signed access key (an AK/SK pair, as
// Huawei-style clients use): also the CLI's JSON. SecretKey only in the
// answer to a create, the one time the SK is shown.
type AccessKey struct {
	AccessKey string `json:"access_key"`
	SecretKey string `json:"secret_key,omitempty"`
	ProjectID string `json:"project_id"`
	AccountID string `json:"account_id"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	CreatedAt string `json:"created_at"`
	RevokedAt string `json:"revoked_at,omitempty"`
}

// FromAccessKey returns the wire form of k, an access key of the account
// whose project is projectID. It never carries the SK.
func FromAccessKey(k accesskey.Key, projectID string) AccessKey {
	o := AccessKey{AccessKey: k.ID, ProjectID: projectID, AccountID: k.AccountID, Name: k.Name, Role: string(k.Role), CreatedAt: ts(k.CreatedAt)}
	if k.RevokedAt != nil {
		o.RevokedAt = ts(*k.RevokedAt)
	}
	return o
}

// CreateAccessKeyRequest is the body of POST /v1/access-keys.
type CreateAccessKeyRequest struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// AccessKeyList is the answer of GET /v1/access-keys.
type AccessKeyList struct {
	AccessKeys []AccessKey `json:"access_keys"`
}

// AuditEvent is the wire form of an audit event (also the CLI's JSON and
// the JSON lines of an export).
type AuditEvent struct {
	ID        int64  `json:"id"`
	Time      string `json:"time"`
	AccountID string `json:"account_id,omitempty"`
	Actor     string `json:"actor"`
	Action    string `json:"action"`
	Resource  string `json:"resource"`
	Outcome   string `json:"outcome"`
	Count     int64  `json:"count"`
	Source    string `json:"source,omitempty"`
	Seq       int64  `json:"seq"`
	PrevHash  string `json:"prev_hash"`
	Hash      string `json:"hash"`
}

// FromAuditEvent returns the wire form of e.
func FromAuditEvent(e dbtrust.AuditEvent) AuditEvent {
	return AuditEvent{ID: e.ID, Time: e.Time.UTC().Format(time.RFC3339Nano), AccountID: e.AccountID, Actor: e.Actor,
		Action: e.Action, Resource: e.Resource, Outcome: e.Outcome, Count: e.Count, Source: e.Source,
		Seq: e.Seq, PrevHash: e.PrevHash, Hash: e.Hash}
}

// AuditList is the answer of GET /v1/audit.
type AuditList struct {
	Events     []AuditEvent `json:"events"`
	NextCursor string       `json:"next_cursor,omitempty"` // pass as cursor for the next page
}

// ParseAuditFilter reads the filters and paging of GET /v1/audit (limit,
// actor, action, resource, since, until, cursor) from q.
func ParseAuditFilter(q url.Values) (dbtrust.AuditFilter, error) {
	f := dbtrust.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action"), Resource: q.Get("resource")}
	limit, err := dbtrust.ParseAuditLimit(q.Get("limit"))
	if err != nil {
		return f, err
	}
	f.Limit = limit
	for _, t := range []struct {
		name string
		to   *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(t.name); v != "" {
			tm, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, dbtrust.FieldError(t.name, "%s must be a time like 2026-01-02T15:04:05Z", t.name)
			}
			*t.to = tm
		}
	}
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return f, dbtrust.FieldError("cursor", "cursor must be the next_cursor of a previous page")
		}
		f.BeforeID = n
	}
	return f, nil
}

// AuditPage is the wire form of one page of events listed with limit.
func AuditPage(list []dbtrust.AuditEvent, limit int) AuditList {
	out := AuditList{Events: []AuditEvent{}}
	for _, e := range list {
		out.Events = append(out.Events, FromAuditEvent(e))
	}
	if len(list) == limit && limit > 0 {
		out.NextCursor = strconv.FormatInt(list[len(list)-1].ID, 10)
	}
	return out
}

// ---- the emulated clock ----

// Clock is the wire form of the emulated clock.
type Clock struct {
	Now      string `json:"now"`
	Offset   string `json:"offset"` // how far ahead of the real time, as a Go duration
	Emulated bool   `json:"emulated"`
}

// FromClock returns the wire form of c.
func FromClock(c dbtrust.ClockState) Clock {
	return Clock{Now: c.Now.UTC().Format(time.RFC3339Nano), Offset: c.Offset.String(), Emulated: true}
}

// MoveClockRequest is the body of POST /v1/clock: move the clock forward by
// Advance, or to Now.
type MoveClockRequest struct {
	Advance string `json:"advance,omitempty"`
	Now     string `json:"now,omitempty"`
}

// ---- webhooks ----

// Webhook is the wire form of a webhook. Secret is set only in the answer
// that creates it.
type Webhook struct {
	ID         string   `json:"id"`
	URL        string   `json:"url"`
	Events     []string `json:"events"`
	ExpiryDays []int    `json:"expiry_days"`
	CreatedAt  string   `json:"created_at"`
	Secret     string   `json:"secret,omitempty"`
}

// WebhookList is the answer of GET /v1/webhooks.
type WebhookList struct {
	Webhooks []Webhook `json:"webhooks"`
}

// FromWebhook returns the wire form of w (without its secret).
func FromWebhook(w dbtrust.Webhook) Webhook {
	return Webhook{ID: w.ID, URL: w.URL, Events: w.Events, ExpiryDays: w.ExpiryDays, CreatedAt: ts(w.CreatedAt)}
}

// CreateWebhookRequest is the body of POST /v1/webhooks.
type CreateWebhookRequest struct {
	URL        string   `json:"url"`
	Secret     string   `json:"secret,omitempty"`
	Events     []string `json:"events,omitempty"`
	ExpiryDays []int    `json:"expiry_days,omitempty"`
}

// Spec returns the core's form of the request.
func (r CreateWebhookRequest) Spec() dbtrust.WebhookSpec {
	return dbtrust.WebhookSpec{URL: r.URL, Secret: r.Secret, Events: r.Events, ExpiryDays: r.ExpiryDays}
}

// Delivery is one line of a webhook's delivery log.
type Delivery struct {
	ID            string `json:"id"`
	EventID       string `json:"event_id"`
	EventType     string `json:"event_type"`
	State         string `json:"state"`
	Attempts      int    `json:"attempts"`
	NextAttemptAt string `json:"next_attempt_at,omitempty"`
	LastStatus    int    `json:"last_status"`
	LastError     string `json:"last_error"`
	DeliveredAt   string `json:"delivered_at,omitempty"`
	CreatedAt     string `json:"created_at"`
}

// DeliveryList is the answer of GET /v1/webhooks/{id}/deliveries.
type DeliveryList struct {
	Deliveries []Delivery `json:"deliveries"`
}

// FromDelivery returns the wire form of d.
func FromDelivery(d dbtrust.Delivery) Delivery {
	out := Delivery{ID: d.ID, EventID: d.EventID, EventType: d.EventType, State: d.State, Attempts: d.Attempts,
		LastStatus: d.LastStatus, LastError: d.LastError, CreatedAt: ts(d.CreatedAt)}
	if d.State == dbtrust.DeliveryPending {
		out.NextAttemptAt = ts(d.NextAttemptAt)
	}
	if d.DeliveredAt != nil {
		out.DeliveredAt = ts(*d.DeliveredAt)
	}
	return out
}
