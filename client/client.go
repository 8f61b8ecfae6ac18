// Package client is a Go client of dbtrust's native API (/v1), and the home
// of that API's wire types: the server encodes them, the Client decodes
// them, and the dbtrust command prints them.
//
//	c, err := client.New("https://dbtrust.example:8443", token, client.WithRootCAs(pool))
//	list, err := c.ListInstances(ctx, "")
//
// Every error a Client returns is a *dbtrust.Error: the server's own code and
// message for an error answer, dbtrust.Unavailable when the server cannot be
// reached (the cause, such as a TLS verification failure, is kept in Err).
// Check errors with dbtrust.ErrorCode, never by their text.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dbtrust/dbtrust"
)

// Client calls one dbtrust server as the holder of one bearer token. It is
// safe for concurrent use.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the Client send its requests with hc.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithRootCAs makes the Client trust only roots for the server's HTTPS
// certificate (for a dbtrust that serves a self-issued one).
func WithRootCAs(roots *x509.CertPool) Option {
	return func(c *Client) {
		c.http = &http.Client{Timeout: c.http.Timeout, Transport: &http.Transport{
			Proxy:           http.ProxyFromEnvironment,
			TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		}}
	}
}

// New returns a Client of the server at baseURL (http:// or https://, no
// path) that sends token.
func New(baseURL, token string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, dbtrust.Errorf(dbtrust.Invalid, "server URL %q is not an http:// or https:// URL", baseURL)
	}
	c := &Client{base: strings.TrimSuffix(baseURL, "/"), token: token, http: &http.Client{Timeout: 60 * time.Second}}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// BaseURL returns the server URL the Client calls.
func (c *Client) BaseURL() string { return c.base }

// do sends one request and decodes a JSON answer into out; out may be a
// *[]byte to keep the raw body, or nil.
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return dbtrust.Wrap(dbtrust.Invalid, err, "the request cannot be built")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return dbtrust.Wrap(dbtrust.Unavailable, err, "cannot reach the dbtrust server at "+c.base)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return dbtrust.Wrap(dbtrust.Unavailable, err, "the answer of the dbtrust server at "+c.base+" was cut off")
	}
	if resp.StatusCode >= 300 {
		return answerError(resp, b)
	}
	switch o := out.(type) {
	case nil:
		return nil
	case *[]byte:
		*o = b
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return dbtrust.Wrap(dbtrust.Internal, err, "the server's answer to "+method+" "+path+" is not the JSON this client expects")
	}
	return nil
}

// statusCodes is the native API's status for each Code, read backwards for
// an answer without a native error body (a proxy's, say).
var statusCodes = map[int]dbtrust.Code{
	http.StatusBadRequest: dbtrust.Invalid, http.StatusNotFound: dbtrust.NotFound, http.StatusConflict: dbtrust.Conflict,
	http.StatusUnauthorized: dbtrust.Unauthorized, http.StatusForbidden: dbtrust.Forbidden,
	http.StatusPreconditionFailed: dbtrust.PreconditionFailed, http.StatusRequestEntityTooLarge: dbtrust.TooLarge,
	http.StatusTooManyRequests: dbtrust.RateLimited, http.StatusServiceUnavailable: dbtrust.Unavailable,
	http.StatusBadGateway: dbtrust.Unavailable, http.StatusGatewayTimeout: dbtrust.Unavailable,
}

func answerError(resp *http.Response, body []byte) error {
	var eb ErrorBody
	if json.Unmarshal(body, &eb) == nil && eb.Error.Code != "" {
		return &dbtrust.Error{Code: dbtrust.Code(eb.Error.Code), Message: eb.Error.Message, Field: eb.Error.Field}
	}
	code, ok := statusCodes[resp.StatusCode]
	if !ok {
		code = dbtrust.Internal
	}
	return dbtrust.Errorf(code, "the server answered %s %s with %s and no dbtrust error body: is this a dbtrust server?",
		resp.Request.Method, resp.Request.URL.Path, resp.Status)
}

func instancePath(id string, rest ...string) string {
	p := "/v1/instances/" + url.PathEscape(id)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// ListInstances lists the account's instances, those with tag only when tag
// is not empty.
func (c *Client) ListInstances(ctx context.Context, tag string) ([]Instance, error) {
	var l InstanceList
	path := "/v1/instances"
	if tag != "" {
		path += "?tag=" + url.QueryEscape(tag)
	}
	return l.Instances, c.do(ctx, "GET", path, nil, &l)
}

// CreateInstance creates an instance and its first CA.
func (c *Client) CreateInstance(ctx context.Context, req CreateInstanceRequest) (Instance, error) {
	var i Instance
	return i, c.do(ctx, "POST", "/v1/instances", req, &i)
}

// MaxImport is how many instances one ImportInstances call may create.
const MaxImport = dbtrust.MaxImport

// ImportInstances creates the instances of reqs (at most MaxImport) in one
// request, each as CreateInstance would: all of them, or none when one is
// refused (the error names the item, items[i] counted from 0).
func (c *Client) ImportInstances(ctx context.Context, reqs []CreateInstanceRequest) ([]Instance, error) {
	var l InstanceList
	return l.Instances, c.do(ctx, "POST", "/v1/instances/import", reqs, &l)
}

// GetInstance returns the instance with ID id.
func (c *Client) GetInstance(ctx context.Context, id string) (Instance, error) {
	var i Instance
	return i, c.do(ctx, "GET", instancePath(id), nil, &i)
}

// UpdateInstance changes what req names of the instance with ID id.
func (c *Client) UpdateInstance(ctx context.Context, id string, req UpdateInstanceRequest) (Instance, error) {
	var i Instance
	return i, c.do(ctx, "PATCH", instancePath(id), req, &i)
}

// DeleteInstance deletes the instance with ID id, its CAs and certificates.
func (c *Client) DeleteInstance(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", instancePath(id), nil, nil)
}

// ListCAs returns the instance's CAs and the bundle clients are served.
func (c *Client) ListCAs(ctx context.Context, id string) (CAList, error) {
	var l CAList
	return l, c.do(ctx, "GET", instancePath(id, "cas"), nil, &l)
}

// Bundle returns the instance's CA bundle (PEM).
func (c *Client) Bundle(ctx context.Context, id string) ([]byte, error) {
	var b []byte
	return b, c.do(ctx, "GET", instancePath(id, "ca-bundle"), nil, &b)
}

// RotateStart makes a next CA (of keyType, or the current CA's type).
func (c *Client) RotateStart(ctx context.Context, id, keyType string) (CAList, error) {
	var l CAList
	return l, c.do(ctx, "POST", instancePath(id, "rotation", "start"), RotateStartRequest{KeyType: keyType}, &l)
}

// RotateFinish makes the next CA current and the current one previous. It
// refuses while an agent of the instance lacks the next CA, unless force;
// the answer lists the known clients that lack it.
func (c *Client) RotateFinish(ctx context.Context, id string, force bool) (FinishResult, error) {
	var r FinishResult
	return r, c.do(ctx, "POST", instancePath(id, "rotation", "finish"), ForceRequest{Force: force}, &r)
}

// RotationStatus returns the instance's rotation stage and who holds the
// new CA.
func (c *Client) RotationStatus(ctx context.Context, id string) (RotationStatus, error) {
	var st RotationStatus
	return st, c.do(ctx, "GET", instancePath(id, "rotation"), nil, &st)
}

// RotateRollback undoes a finish: previous is current again, current next.
func (c *Client) RotateRollback(ctx context.Context, id string) (CAList, error) {
	var l CAList
	return l, c.do(ctx, "POST", instancePath(id, "rotation", "rollback"), nil, &l)
}

// RotateRetire stops serving the previous CA; force even while certificates
// it issued are still valid.
func (c *Client) RotateRetire(ctx context.Context, id string, force bool) (CAList, error) {
	var l CAList
	return l, c.do(ctx, "POST", instancePath(id, "rotation", "retire"), ForceRequest{Force: force}, &l)
}

// RotationPolicy returns the instance's automatic rotation policy.
func (c *Client) RotationPolicy(ctx context.Context, id string) (RotationPolicy, error) {
	var p RotationPolicy
	return p, c.do(ctx, "GET", instancePath(id, "rotation", "policy"), nil, &p)
}

// SetRotationPolicy replaces the instance's automatic rotation policy.
func (c *Client) SetRotationPolicy(ctx context.Context, id string, req PolicyRequest) (RotationPolicy, error) {
	var p RotationPolicy
	return p, c.do(ctx, "PUT", instancePath(id, "rotation", "policy"), req, &p)
}

// Issue issues a server certificate from the instance's current CA.
func (c *Client) Issue(ctx context.Context, id string, req IssueRequest) (Certificate, error) {
	var cert Certificate
	return cert, c.do(ctx, "POST", instancePath(id, "certificates"), req, &cert)
}

// ListCertificates lists the certificates issued for the instance.
func (c *Client) ListCertificates(ctx context.Context, id string) ([]Certificate, error) {
	var l CertificateList
	return l.Certificates, c.do(ctx, "GET", instancePath(id, "certificates"), nil, &l)
}

// Revoke revokes the instance's certificate with serial.
func (c *Client) Revoke(ctx context.Context, id, serial, reason string) (Certificate, error) {
	var cert Certificate
	return cert, c.do(ctx, "POST", instancePath(id, "certificates", url.PathEscape(serial), "revoke"), RevokeRequest{Reason: reason}, &cert)
}

// Recipes returns how to connect to the instance with the bundle at caFile.
func (c *Client) Recipes(ctx context.Context, id, caFile string) (Recipes, error) {
	var r Recipes
	return r, c.do(ctx, "GET", instancePath(id, "recipes")+"?ca_file="+url.QueryEscape(caFile), nil, &r)
}

// CRL returns the DER certificate revocation list of the CA with ID caID.
func (c *Client) CRL(ctx context.Context, caID string) ([]byte, error) {
	var b []byte
	return b, c.do(ctx, "GET", "/v1/cas/"+url.PathEscape(caID)+"/crl", nil, &b)
}

// CreateToken creates a token; the answer's Secret is shown only now.
func (c *Client) CreateToken(ctx context.Context, name, role string) (Token, error) {
	var t Token
	return t, c.do(ctx, "POST", "/v1/tokens", CreateTokenRequest{Name: name, Role: role}, &t)
}

// CreateNodeToken creates a token scoped to the instance with ID id, for
// its agent; the answer's Secret is shown only now.
func (c *Client) CreateNodeToken(ctx context.Context, id, name string) (Token, error) {
	var t Token
	return t, c.do(ctx, "POST", instancePath(id, "node-tokens"), CreateNodeTokenRequest{Name: name}, &t)
}

// Whoami says who the Client's token acts as.
func (c *Client) Whoami(ctx context.Context) (Whoami, error) {
	var w Whoami
	return w, c.do(ctx, "GET", "/v1/whoami", nil, &w)
}

// ListTokens lists the account's tokens, revoked ones included.
func (c *Client) ListTokens(ctx context.Context) ([]Token, error) {
	var l TokenList
	return l.Tokens, c.do(ctx, "GET", "/v1/tokens", nil, &l)
}

// RevokeToken revokes the token with ID id.
func (c *Client) RevokeToken(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", "/v1/tokens/"+url.PathEscape(id), nil, nil)
}

// CreateAccessKey creates a signed access key (AK/SK pair) with the given
// name and role; the answer's SecretKey is shown only now.
func (c *Client) CreateAccessKey(ctx context.Context, name, role string) (AccessKey, error) {
	var k AccessKey
	return k, c.do(ctx, "POST", "/v1/access-keys", CreateAccessKeyRequest{Name: name, Role: role}, &k)
}

// ListAccessKeys lists the account's access keys, revoked ones included,
// never with a secret key.
func (c *Client) ListAccessKeys(ctx context.Context) ([]AccessKey, error) {
	var l AccessKeyList
	return l.AccessKeys, c.do(ctx, "GET", "/v1/access-keys", nil, &l)
}

// RevokeAccessKey revokes the access key whose AK is id.
func (c *Client) RevokeAccessKey(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", "/v1/access-keys/"+url.PathEscape(id), nil, nil)
}

// AuditQuery selects audit events (GET /v1/audit): every field left empty
// selects everything; Since and Until are RFC 3339 times; Cursor is the
// NextCursor of the previous page.
type AuditQuery struct {
	Actor, Action, Resource string
	Since, Until            string
	Cursor                  string
	Limit                   int
}

// Values is q as the query of GET /v1/audit.
func (q AuditQuery) Values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"actor": q.Actor, "action": q.Action, "resource": q.Resource,
		"since": q.Since, "until": q.Until, "cursor": q.Cursor} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

// Audit returns one page of the account's audit events, newest first.
func (c *Client) Audit(ctx context.Context, q AuditQuery) (AuditList, error) {
	var l AuditList
	return l, c.do(ctx, "GET", "/v1/audit?"+q.Values().Encode(), nil, &l)
}

// Clock returns a server's emulated clock (NotFound on a real clock).
func (c *Client) Clock(ctx context.Context) (Clock, error) {
	var cl Clock
	return cl, c.do(ctx, "GET", "/v1/clock", nil, &cl)
}

// MoveClock moves a server's emulated clock forward.
func (c *Client) MoveClock(ctx context.Context, req MoveClockRequest) (Clock, error) {
	var cl Clock
	return cl, c.do(ctx, "POST", "/v1/clock", req, &cl)
}

// CreateWebhook registers a webhook; the answer carries its secret, once.
func (c *Client) CreateWebhook(ctx context.Context, req CreateWebhookRequest) (Webhook, error) {
	var w Webhook
	return w, c.do(ctx, "POST", "/v1/webhooks", req, &w)
}

// ListWebhooks returns the account's webhooks.
func (c *Client) ListWebhooks(ctx context.Context) ([]Webhook, error) {
	var l WebhookList
	return l.Webhooks, c.do(ctx, "GET", "/v1/webhooks", nil, &l)
}

// DeleteWebhook removes the webhook with ID id.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", "/v1/webhooks/"+url.PathEscape(id), nil, nil)
}

// WebhookDeliveries returns a webhook's last limit deliveries, newest first.
func (c *Client) WebhookDeliveries(ctx context.Context, id string, limit int) ([]Delivery, error) {
	var l DeliveryList
	return l.Deliveries, c.do(ctx, "GET", "/v1/webhooks/"+url.PathEscape(id)+"/deliveries?limit="+strconv.Itoa(limit), nil, &l)
}

// Health reports whether the server is up (GET /healthz) or, with ready,
// whether it can also reach its store (GET /readyz).
func (c *Client) Health(ctx context.Context, ready bool) error {
	path := "/healthz"
	if ready {
		path = "/readyz"
	}
	var b []byte
	return c.do(ctx, "GET", path, nil, &b)
}

// String names the server, for messages.
func (c *Client) String() string { return fmt.Sprintf("dbtrust server %s", c.base) }
