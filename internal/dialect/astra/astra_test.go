package astra_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/credential"
	"github.com/google/uuid"
)

const (
	mediaCred = "application/astra-credential+json"
	mediaCert = "application/astra-certificate+json"
)

// TestCredentialRoundTrip is the create → list → get → update → delete round
// trip as Astra's docs show it with curl: the POST has no Content-Type.
func TestCredentialRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	labels := []dbtrust.Label{{Name: "astra.netapp.io/labels/read-only/credType", Value: "kubeconfig"}, {Name: "x", Value: " keep  me "}}
	body := credBody("openshift-tmecluster02", map[string]string{"base64": b64([]byte(`{"clusters":[{"cluster":{"server":"https://k8s.example:6443"}}]}`))})
	body["keyType"] = "kubeconfig"
	body["metadata"] = map[string]any{"labels": labels}
	r := e.do(req{method: "POST", path: "/credentials", body: body})
	if r.status != http.StatusCreated {
		t.Fatalf("POST = %d %s, want 201", r.status, r.body)
	}
	var c resource
	r.decode(t, &c)
	if loc := r.header.Get("Location"); loc != e.base()+"/credentials/"+c.ID {
		t.Errorf("Location = %q, want the new credential's URL", loc)
	}
	if c.Name != "openshift-tmecluster02" || c.KeyType != "kubeconfig" || c.Valid != "true" || c.Version != "1.1" {
		t.Errorf("created = %+v", c)
	}
	if fmt.Sprint(c.Metadata.Labels) != fmt.Sprint(labels) {
		t.Errorf("labels = %v, want %v verbatim", c.Metadata.Labels, labels)
	}
	if c.Metadata.CreatedBy == "" || c.Metadata.ModifiedBy != "" {
		t.Errorf("metadata = %+v, want createdBy and no modifiedBy", c.Metadata)
	}

	// List as astra-connector-operator does: application/json, no Accept.
	r = e.do(req{method: "GET", path: "/credentials", header: map[string]string{"Content-Type": "application/json"}})
	var list listReply
	r.decode(t, &list)
	if r.status != 200 || len(list.Items) != 1 || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("list = %d %s", r.status, r.body)
	}
	if string(r.body[len(r.body)-14:]) != `"metadata":{}}` {
		t.Errorf("list metadata should be {} when nothing remains: %s", r.body)
	}

	r = e.do(req{method: "GET", path: "/credentials/" + c.ID, header: map[string]string{"Accept": mediaCred}})
	if r.status != 200 || r.header.Get("Content-Type") != mediaCred {
		t.Fatalf("GET = %d %q", r.status, r.header.Get("Content-Type"))
	}
	etag := r.header.Get("ETag")

	// actoolkit's update: type, version, name, no keyStore, Accept naming the type.
	upd := map[string]any{"type": "application/astra-credential", "version": "1.1", "name": "renamed"}
	r = e.do(req{method: "PUT", path: "/credentials/" + c.ID, body: upd, header: map[string]string{"Accept": mediaCred, "Content-Type": mediaCred, "If-Match": etag}})
	if r.status != 200 {
		t.Fatalf("PUT (Accept credential) = %d %s, want 200", r.status, r.body)
	}
	var u resource
	r.decode(t, &u)
	if u.Name != "renamed" || u.KeyType != "kubeconfig" || fmt.Sprint(u.Metadata.Labels) != fmt.Sprint(labels) || u.Metadata.ModifiedBy == "" {
		t.Errorf("updated = %+v: name changed, keyType and labels kept, modifiedBy set", u)
	}
	r = e.do(req{method: "PUT", path: "/credentials/" + c.ID, body: map[string]any{"type": "application/astra-credential", "version": "1.0", "name": "again", "valid": "false"}})
	if r.status != http.StatusNoContent || len(r.body) != 0 || r.header.Get("ETag") == "" {
		t.Fatalf("PUT (no Accept) = %d %s, want 204 with an ETag and no body", r.status, r.body)
	}
	r = e.do(req{method: "GET", path: "/credentials/" + c.ID})
	r.decode(t, &u)
	if u.Name != "again" || u.Valid != "false" || u.Version != "1.0" || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("after second PUT: %+v (%s)", u, r.header.Get("Content-Type"))
	}

	r = e.do(req{method: "DELETE", path: "/credentials/" + c.ID, body: "{}", header: map[string]string{"Content-Type": mediaCred}})
	if r.status != http.StatusNoContent {
		t.Fatalf("DELETE = %d %s", r.status, r.body)
	}
	if r = e.do(req{method: "GET", path: "/credentials/" + c.ID}); r.status != 404 || r.problem != 2 {
		t.Errorf("GET after DELETE = %d problem %d, want 404 problem 2", r.status, r.problem)
	}
	if r = e.do(req{method: "DELETE", path: "/credentials/" + c.ID}); r.status != 404 || r.problem != 1 {
		t.Errorf("DELETE again = %d problem %d, want 404 problem 1", r.status, r.problem)
	}
}

func TestCertificateRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pemText := newCertPEM(t, "adldap.example.com", time.Now().Add(90*24*time.Hour))
	body := certBody(pemText)
	body["version"] = "1.0"
	body["isSelfSigned"] = "true"
	r := e.do(req{method: "POST", path: "/certificates", body: body, header: map[string]string{"Content-Type": mediaCert, "Accept": "*/*"}})
	if r.status != 201 {
		t.Fatalf("POST = %d %s", r.status, r.body)
	}
	var c resource
	r.decode(t, &c)
	if c.CN != "adldap.example.com" || c.Version != "1.0" || c.IsSelfSigned != "true" || c.TrustState != "trusted" || c.TrustStateDesired != "trusted" {
		t.Errorf("created = %+v", c)
	}

	r = e.do(req{method: "GET", path: "/certificates?filter=" + url.QueryEscape("certUse eq 'rootCA'")})
	var list listReply
	r.decode(t, &list)
	if len(list.Items) != 1 {
		t.Fatalf("filtered list = %s", r.body)
	}
	r = e.do(req{method: "GET", path: "/certificates?include=id,cn,isSelfSigned"})
	var rows [][]string
	json.Unmarshal(mustField(t, r.body, "items"), &rows)
	if len(rows) != 1 || rows[0][0] != c.ID || rows[0][1] != "adldap.example.com" || rows[0][2] != "true" {
		t.Errorf("include=id,cn,isSelfSigned = %s", r.body)
	}

	r = e.do(req{method: "GET", path: "/certificates/" + c.ID, header: map[string]string{"Accept": mediaCert}})
	if r.status != 200 {
		t.Fatalf("GET = %d", r.status)
	}
	stale := r.header.Get("ETag")
	r = e.do(req{method: "PUT", path: "/certificates/" + c.ID, header: map[string]string{"If-Match": stale},
		body: map[string]any{"type": "application/astra-certificate", "version": "1.1", "trustStateDesired": "untrusted"}})
	if r.status != 204 {
		t.Fatalf("PUT = %d %s, want 204", r.status, r.body)
	}
	r = e.do(req{method: "GET", path: "/certificates/" + c.ID})
	r.decode(t, &c)
	if c.TrustState != "untrusted" || c.IsSelfSigned != "true" {
		t.Errorf("after PUT: trustState %q isSelfSigned %q, want untrusted, unchanged true", c.TrustState, c.IsSelfSigned)
	}
	// The ETag read before the update is stale now.
	r = e.do(req{method: "PUT", path: "/certificates/" + c.ID, header: map[string]string{"If-Match": stale},
		body: map[string]any{"type": "application/astra-certificate", "version": "1.1", "trustStateDesired": "trusted"}})
	if r.status != 412 || r.problem != 38 {
		t.Errorf("PUT with stale If-Match = %d problem %d, want 412 problem 38", r.status, r.problem)
	}
	// A new cert without isSelfSigned reads as not self-signed.
	other := newCertPEM(t, "other.example.com", time.Now().Add(time.Hour))
	r = e.do(req{method: "PUT", path: "/certificates/" + c.ID, body: map[string]any{"type": "application/astra-certificate", "version": "1.1", "cert": b64(other), "id": c.ID}})
	if r.status != 204 {
		t.Fatalf("PUT new cert = %d %s", r.status, r.body)
	}
	r = e.do(req{method: "GET", path: "/certificates/" + c.ID})
	r.decode(t, &c)
	if c.CN != "other.example.com" || c.IsSelfSigned != "false" {
		t.Errorf("after new cert: cn %q isSelfSigned %q", c.CN, c.IsSelfSigned)
	}
	if r = e.do(req{method: "DELETE", path: "/certificates/" + c.ID}); r.status != 204 {
		t.Fatalf("DELETE = %d", r.status)
	}
	if r = e.do(req{method: "GET", path: "/certificates/" + c.ID}); r.status != 404 {
		t.Errorf("GET after DELETE = %d", r.status)
	}
}

func mustField(t *testing.T, body []byte, name string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	return m[name]
}

// TestCertificateExpiresWhileStored moves the clock past a stored
// certificate's NotAfter: it reads expired without anyone writing to it, its
// trust can no longer change, and a new cert brings it back.
func TestCertificateExpiresWhileStored(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.mustCreate("certificates", certBody(newCertPEM(t, "short.example.com", time.Now().Add(2*time.Hour))))
	if c.TrustState != "trusted" {
		t.Fatalf("trustState = %q", c.TrustState)
	}
	e.offset.Store(int64(3 * time.Hour))
	var got resource
	e.do(req{method: "GET", path: "/certificates/" + c.ID}).decode(t, &got)
	if got.TrustState != "expired" || got.TrustStateDesired != "trusted" {
		t.Fatalf("after expiry: trustState %q desired %q, want expired, trusted", got.TrustState, got.TrustStateDesired)
	}
	r := e.do(req{method: "PUT", path: "/certificates/" + c.ID, body: map[string]any{"type": "application/astra-certificate", "version": "1.1", "trustStateDesired": "untrusted"}})
	if r.status != 400 || r.problem != 110 {
		t.Errorf("trust change on expired cert = %d problem %d, want 400 problem 110", r.status, r.problem)
	}
	r = e.do(req{method: "PUT", path: "/certificates/" + c.ID, body: map[string]any{"type": "application/astra-certificate", "version": "1.1",
		"cert": b64(newCertPEM(t, "short.example.com", time.Now().Add(30*24*time.Hour)))}})
	if r.status != 204 {
		t.Fatalf("PUT renewed cert = %d %s", r.status, r.body)
	}
	e.do(req{method: "GET", path: "/certificates/" + c.ID}).decode(t, &got)
	if got.TrustState != "trusted" {
		t.Errorf("after renewal: trustState %q, want trusted", got.TrustState)
	}
}

// TestInstanceCAsAreReadOnlyCertificates checks that each served CA of an
// instance shows up in the collection, labelled with its instance, and that
// writes to it are refused.
func TestInstanceCAsAreReadOnlyCertificates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inst, err := e.svc.CreateInstance(context.Background(), dbtrust.Operator(e.acct.ID), dbtrust.InstanceSpec{Name: "orders", Engine: "pg"})
	if err != nil {
		t.Fatal(err)
	}
	e.mustCreate("certificates", certBody(newCertPEM(t, "uploaded.example.com", time.Now().Add(time.Hour))))
	r := e.do(req{method: "GET", path: "/certificates?filter=" + url.QueryEscape("metadata.labels[*].value eq '"+inst.ID+"'")})
	var list listReply
	r.decode(t, &list)
	if len(list.Items) != 1 {
		t.Fatalf("certificates labelled with the instance: %s", r.body)
	}
	var ca resource
	json.Unmarshal(list.Items[0], &ca)
	want := map[string]string{"dbtrust.io/instance-id": inst.ID, "dbtrust.io/instance-name": "orders", "dbtrust.io/ca-state": "current"}
	for _, l := range ca.Metadata.Labels {
		if want[l.Name] == l.Value {
			delete(want, l.Name)
		}
	}
	if len(want) != 0 || !strings.HasPrefix(ca.CN, "orders CA ") || ca.TrustState != "trusted" {
		t.Errorf("instance CA certificate = %+v (missing labels %v)", ca, want)
	}
	if r = e.do(req{method: "GET", path: "/certificates/" + ca.ID}); r.status != 200 {
		t.Errorf("GET instance CA = %d", r.status)
	}
	r = e.do(req{method: "PUT", path: "/certificates/" + ca.ID, body: map[string]any{"type": "application/astra-certificate", "version": "1.1", "trustStateDesired": "untrusted"}})
	if r.status != 403 || r.problem != 11 {
		t.Errorf("PUT instance CA = %d problem %d, want 403 problem 11", r.status, r.problem)
	}
	if r = e.do(req{method: "DELETE", path: "/certificates/" + ca.ID}); r.status != 403 || r.problem != 11 {
		t.Errorf("DELETE instance CA = %d problem %d, want 403 problem 11", r.status, r.problem)
	}
	// Deleting the instance takes its CA out of the collection.
	if err := e.svc.DeleteInstance(context.Background(), dbtrust.Operator(e.acct.ID), inst.ID); err != nil {
		t.Fatal(err)
	}
	if r = e.do(req{method: "GET", path: "/certificates/" + ca.ID}); r.status != 404 {
		t.Errorf("GET CA of deleted instance = %d, want 404", r.status)
	}
}

// TestBadInput tries every kind of bad request: each gets its problem, never a 500.
func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	good := newCertPEM(t, "good.example.com", time.Now().Add(time.Hour))
	cert := e.mustCreate("certificates", certBody(good))
	cred := e.mustCreate("credentials", credBody("c1", map[string]string{"k": "dg=="}))
	kube := credBody("k8s", map[string]string{"base64": b64([]byte(`{"clusters":[{"cluster":{"server":"https://a:6443"}}]}`))})
	kube["keyType"] = "kubeconfig"
	kubeCred := e.mustCreate("credentials", kube)
	user := uuid.NewString()
	ph := credBody(user, map[string]string{"cleartext": b64([]byte("pw")), "change": b64([]byte("false"))})
	ph["keyType"] = "passwordHash"
	e.mustCreate("credentials", ph)
	other, _, err := e.svc.CreateAccount(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	otherCred, err := e.creds.Create(ctx, dbtrust.Operator(other.ID), credential.Input{Version: "1.1", Name: ptr("theirs"), KeyStore: map[string][]byte{"k": []byte("v")}})
	if err != nil {
		t.Fatal(err)
	}
	r := e.do(req{method: "GET", path: "/credentials/" + cred.ID})
	staleETag := r.header.Get("ETag")
	e.do(req{method: "PUT", path: "/credentials/" + cred.ID, body: map[string]any{"type": "application/astra-credential", "version": "1.1", "name": "moved-on"}})

	huge := `{"type":"application/astra-credential","version":"1.1","name":"big","keyStore":{"k":"` + strings.Repeat("QUFB", 10<<20/4) + `"}}`
	certPut := func(extra map[string]any) map[string]any {
		m := map[string]any{"type": "application/astra-certificate", "version": "1.1"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name    string
		r       req
		status  int
		problem int
	}{
		{"cert not base64", req{method: "POST", path: "/certificates", body: map[string]any{"type": "application/astra-certificate", "version": "1.1", "cert": "not base64!"}}, 400, 8},
		{"cert base64 but not PEM", req{method: "POST", path: "/certificates", body: certBody([]byte("hello, world"))}, 400, 9},
		{"private key as cert", req{method: "POST", path: "/certificates", body: certBody(newKeyPEM(t))}, 400, 9},
		{"cert PEM with bad DER", req{method: "POST", path: "/certificates", body: certBody([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))}, 400, 9},
		{"boolean as JSON bool", req{method: "POST", path: "/certificates", body: map[string]any{"type": "application/astra-certificate", "version": "1.1", "cert": b64(good), "isSelfSigned": true}}, 400, 8},
		{"bad enum", req{method: "POST", path: "/certificates", body: map[string]any{"type": "application/astra-certificate", "version": "1.1", "cert": b64(good), "certUse": "leaf"}}, 400, 8},
		{"wrong type tag", req{method: "POST", path: "/certificates", body: map[string]any{"type": "application/astra-credential", "version": "1.1", "cert": b64(good)}}, 400, 8},
		{"unknown field", req{method: "POST", path: "/credentials", body: map[string]any{"type": "application/astra-credential", "version": "1.1", "name": "x", "keyStore": map[string]string{"k": "dg=="}, "secret": "x"}}, 400, 8},
		{"unknown metadata field", req{method: "POST", path: "/credentials", body: map[string]any{"type": "application/astra-credential", "version": "1.1", "name": "x", "keyStore": map[string]string{"k": "dg=="}, "metadata": map[string]any{"owner": "me"}}}, 400, 8},
		{"keyStore returned on input", req{method: "POST", path: "/credentials", body: map[string]any{"type": "application/astra-credential", "version": "1.1", "name": "x", "keyStore": map[string]any{"k": 5}}}, 400, 8},
		{"missing keyStore", req{method: "POST", path: "/credentials", body: map[string]any{"type": "application/astra-credential", "version": "1.1", "name": "x"}}, 400, 8},
		{"repeated label", req{method: "POST", path: "/credentials", body: map[string]any{"type": "application/astra-credential", "version": "1.1", "name": "x", "keyStore": map[string]string{"k": "dg=="},
			"metadata": map[string]any{"labels": []dbtrust.Label{{Name: "a", Value: "b"}, {Name: "a", Value: "b"}}}}}, 400, 8},
		{"name too long", req{method: "POST", path: "/credentials", body: credBody(strings.Repeat("n", 128), map[string]string{"k": "dg=="})}, 400, 8},
		{"empty keyStore", req{method: "POST", path: "/credentials", body: credBody("x", map[string]string{})}, 400, 9},
		{"s3 without secret", req{method: "POST", path: "/credentials", body: map[string]any{"type": "application/astra-credential", "version": "1.1", "name": "x", "keyType": "s3", "keyStore": map[string]string{"accessKey": "dg=="}}}, 400, 9},
		{"bad timestamp", req{method: "POST", path: "/credentials", body: map[string]any{"type": "application/astra-credential", "version": "1.1", "name": "x", "keyStore": map[string]string{"k": "dg=="}, "validFromTimestamp": "2024-01-01 00:00:00"}}, 400, 8},
		{"impossible date", req{method: "POST", path: "/credentials", body: map[string]any{"type": "application/astra-credential", "version": "1.1", "name": "x", "keyStore": map[string]string{"k": "dg=="}, "validFromTimestamp": "2024-02-31T00:00:00Z"}}, 400, 8},
		{"not JSON", req{method: "POST", path: "/credentials", body: `{"type":`}, 400, 7},
		{"two JSON values", req{method: "POST", path: "/credentials", body: `{} {}`}, 400, 7},
		{"empty body", req{method: "POST", path: "/credentials", body: ``}, 400, 7},
		{"10 MB body", req{method: "POST", path: "/credentials", body: huge}, 413, 85},
		{"filter unknown field", req{method: "GET", path: "/credentials?filter=" + url.QueryEscape("keyStore eq 'x'")}, 400, 5},
		{"filter unknown operator", req{method: "GET", path: "/credentials?filter=" + url.QueryEscape("name like 'x'")}, 400, 5},
		{"filter unquoted", req{method: "GET", path: "/credentials?filter=" + url.QueryEscape("name eq x")}, 400, 5},
		{"orderBy unknown", req{method: "GET", path: "/credentials?orderBy=keyStore"}, 400, 5},
		{"orderBy bad direction", req{method: "GET", path: "/credentials?orderBy=" + url.QueryEscape("name down")}, 400, 5},
		{"include unknown", req{method: "GET", path: "/certificates?include=id,secret"}, 400, 5},
		{"limit zero", req{method: "GET", path: "/credentials?limit=0"}, 400, 5},
		{"limit not a number", req{method: "GET", path: "/credentials?limit=ten"}, 400, 5},
		{"limit twice", req{method: "GET", path: "/credentials?limit=1&limit=2"}, 400, 5},
		{"forged continue", req{method: "GET", path: "/credentials?limit=1&continue=" + url.QueryEscape(b64([]byte(`{"collectionIndex":6}`)))}, 400, 5},
		{"continue not base64", req{method: "GET", path: "/credentials?continue=***"}, 400, 5},
		{"unknown parameter", req{method: "GET", path: "/credentials?sort=name"}, 400, 6},
		{"stale ETag", req{method: "PUT", path: "/credentials/" + cred.ID, header: map[string]string{"If-Match": staleETag}, body: map[string]any{"type": "application/astra-credential", "version": "1.1", "name": "x"}}, 412, 38},
		{"unmodified since long ago", req{method: "PUT", path: "/credentials/" + cred.ID, header: map[string]string{"If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}, body: map[string]any{"type": "application/astra-credential", "version": "1.1", "name": "x"}}, 412, 38},
		{"other account's credential", req{method: "GET", path: "/credentials/" + otherCred.ID}, 404, 2},
		{"other account's id in path", req{method: "GET", path: "/accounts/" + other.ID + "/core/v1/credentials"}, 404, 2},
		{"other account's id, item", req{method: "GET", path: "/accounts/" + other.ID + "/core/v1/credentials/" + otherCred.ID}, 404, 2},
		{"other account's id, delete", req{method: "DELETE", path: "/accounts/" + other.ID + "/core/v1/credentials/" + otherCred.ID}, 404, 1},
		{"other account's id, create", req{method: "POST", path: "/accounts/" + other.ID + "/core/v1/credentials", body: credBody("x", map[string]string{"k": "dg=="})}, 404, 2},
		{"unknown account", req{method: "GET", path: "/accounts/" + uuid.NewString() + "/core/v1/certificates"}, 404, 2},
		{"malformed account", req{method: "GET", path: "/accounts/not-a-uuid/core/v1/certificates"}, 400, 33},
		{"malformed resource id", req{method: "GET", path: "/certificates/12345"}, 400, 35},
		{"upper-case resource id", req{method: "DELETE", path: "/credentials/" + strings.ToUpper(cred.ID)}, 400, 35},
		{"unknown certificate", req{method: "GET", path: "/certificates/" + uuid.NewString()}, 404, 2},
		{"no token", req{method: "GET", path: "/credentials", noAuth: true}, 401, 3},
		{"bad token", req{method: "GET", path: "/credentials", token: "dbt_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, 401, 4},
		{"basic auth", req{method: "GET", path: "/credentials", noAuth: true, header: map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}}, 401, 4},
		{"unacceptable media type", req{method: "GET", path: "/credentials/" + cred.ID, header: map[string]string{"Accept": "text/html"}}, 406, 32},
		{"PATCH", req{method: "PATCH", path: "/credentials/" + cred.ID, body: "{}"}, 405, 69},
		{"unknown collection", req{method: "GET", path: "/accounts/" + e.acct.ID + "/topology/v1/clouds"}, 404, 2},
		{"id differs from path", req{method: "PUT", path: "/certificates/" + cert.ID, body: certPut(map[string]any{"id": uuid.NewString()})}, 409, 10},
		{"keyType change", req{method: "PUT", path: "/credentials/" + kubeCred.ID, body: map[string]any{"type": "application/astra-credential", "version": "1.1", "name": "k8s", "keyType": "s3"}}, 409, 10},
		{"keyType added that the stored keyStore lacks", req{method: "PUT", path: "/credentials/" + cred.ID, body: map[string]any{"type": "application/astra-credential", "version": "1.1", "name": "x", "keyType": "s3"}}, 400, 9},
		{"duplicate kubeconfig", req{method: "POST", path: "/credentials", body: kube}, 409, 44},
		{"duplicate passwordHash user", req{method: "POST", path: "/credentials", body: ph}, 409, 39},
		{"read-only fields echoed back", req{method: "PUT", path: "/certificates/" + cert.ID, body: certPut(map[string]any{"cn": "ignored", "trustState": "trusted", "trustStateTransitions": []any{}, "trustStateDetails": []any{}})}, 204, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.r)
			if r.status != tt.status || r.problem != tt.problem {
				t.Errorf("%s %s = %d problem %d, want %d problem %d\n%.400s", tt.r.method, tt.r.path, r.status, r.problem, tt.status, tt.problem, r.body)
			}
		})
	}
	// Nothing half-written: only the three credentials made above exist.
	var list listReply
	e.do(req{method: "GET", path: "/credentials?count=true"}).decode(t, &list)
	if list.Metadata.Count == nil || *list.Metadata.Count != 3 {
		t.Errorf("after bad input: %d credentials, want 3", len(list.Items))
	}
}

func ptr[T any](v T) *T { return &v }

// TestRoles checks the permission table: viewers read, members write
// credentials, admins write certificates.
func TestRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tokens := map[dbtrust.Role]string{}
	for _, role := range []dbtrust.Role{dbtrust.RoleViewer, dbtrust.RoleMember, dbtrust.RoleAdmin, dbtrust.RoleOwner} {
		tokens[role] = e.tokenFor(role)
	}
	certPEM := newCertPEM(t, "roles.example.com", time.Now().Add(time.Hour))
	other := uuid.NewString()
	tests := []struct {
		role    dbtrust.Role
		method  string
		path    string
		body    any
		allowed bool
	}{
		{dbtrust.RoleViewer, "GET", "/certificates", nil, true},
		{dbtrust.RoleViewer, "GET", "/credentials", nil, true},
		{dbtrust.RoleViewer, "POST", "/credentials", credBody("v", map[string]string{"k": "dg=="}), false},
		{dbtrust.RoleViewer, "POST", "/certificates", certBody(certPEM), false},
		{dbtrust.RoleMember, "POST", "/credentials", credBody("m", map[string]string{"k": "dg=="}), true},
		{dbtrust.RoleMember, "POST", "/certificates", certBody(certPEM), false},
		{dbtrust.RoleMember, "POST", "/credentials", map[string]any{"type": "application/astra-credential", "version": "1.1", "name": other, "keyType": "passwordHash",
			"keyStore": map[string]string{"cleartext": "cHc=", "change": b64([]byte("true"))}}, false},
		{dbtrust.RoleAdmin, "POST", "/certificates", certBody(certPEM), true},
		{dbtrust.RoleAdmin, "POST", "/credentials", map[string]any{"type": "application/astra-credential", "version": "1.1", "name": other, "keyType": "passwordHash",
			"keyStore": map[string]string{"cleartext": "cHc=", "change": b64([]byte("true"))}}, true},
		{dbtrust.RoleOwner, "POST", "/certificates", certBody(newCertPEM(t, "owner.example.com", time.Now().Add(time.Hour))), true},
	}
	for _, tt := range tests {
		r := e.do(req{method: tt.method, path: tt.path, body: tt.body, token: tokens[tt.role]})
		ok := r.status < 300
		if ok != tt.allowed || (!ok && (r.status != 403 || r.problem != 11)) {
			t.Errorf("%s %s %s = %d problem %d, allowed=%v", tt.role, tt.method, tt.path, r.status, r.problem, tt.allowed)
		}
	}
	// A viewer cannot delete what a member made; the member can.
	c := e.mustCreate("credentials", credBody("mine", map[string]string{"k": "dg=="}))
	if r := e.do(req{method: "DELETE", path: "/credentials/" + c.ID, token: tokens[dbtrust.RoleViewer]}); r.status != 403 {
		t.Errorf("viewer DELETE = %d, want 403", r.status)
	}
	if r := e.do(req{method: "DELETE", path: "/credentials/" + c.ID, token: tokens[dbtrust.RoleMember]}); r.status != 204 {
		t.Errorf("member DELETE = %d, want 204", r.status)
	}
}

// TestPagingWhileChanging pages through 1,000 credentials with limit=7 while
// others are created and deleted between pages: every credential that
// exists throughout is returned exactly once, and none is returned twice.
// On PostgreSQL only creation order runs: it is the order the store pages by
// keyset itself; the others are paged in memory whatever the store.
func TestPagingWhileChanging(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			testPagingWhileChanging(t, backend)
		})
	}
}

func testPagingWhileChanging(t *testing.T, backend string) {
	e := newEnvOn(t, backend, 1<<30)
	const n = 1000
	createMany(t, e, "p", n)
	cases := []struct{ name, query string }{
		{"creation order", ""},
		{"by name, descending", "&orderBy=" + url.QueryEscape("name desc")},
		{"filtered by name", "&filter=" + url.QueryEscape("name gte 'p-'")},
	}
	if backend == "postgres" {
		cases = cases[:1]
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The credentials that exist as paging starts.
			all, err := e.creds.List(context.Background(), dbtrust.Operator(e.acct.ID))
			if err != nil {
				t.Fatal(err)
			}
			initial, alive := map[string]bool{}, map[string]bool{}
			for _, c := range all {
				initial[c.ID], alive[c.ID] = true, true
			}
			deleted := map[string]bool{}
			seen := map[string]int{}
			rng := rand.New(rand.NewPCG(1, 2))
			cont, pages := "", 0
			for {
				path := "/credentials?limit=7" + tc.query
				if cont != "" {
					path += "&continue=" + url.QueryEscape(cont)
				}
				r := e.do(req{method: "GET", path: path})
				if r.status != 200 {
					t.Fatalf("page %d: %d %s", pages, r.status, r.body)
				}
				var page listReply
				r.decode(t, &page)
				if len(page.Items) > 7 {
					t.Fatalf("page %d has %d items, limit 7", pages, len(page.Items))
				}
				for _, raw := range page.Items {
					var c resource
					json.Unmarshal(raw, &c)
					seen[c.ID]++
					if deleted[c.ID] {
						t.Errorf("credential %s returned after it was deleted", c.ID)
					}
				}
				pages++
				if page.Metadata.Continue == "" {
					break
				}
				cont = page.Metadata.Continue
				// Between pages: two new credentials, and two random ones go.
				for id := range createMany(t, e, fmt.Sprintf("p-new-%d", pages), 2) {
					alive[id] = true
				}
				for range 2 {
					for id := range alive { // random enough: map order, then a coin
						if rng.IntN(3) == 0 {
							if r := e.do(req{method: "DELETE", path: "/credentials/" + id}); r.status != 204 {
								t.Fatalf("DELETE %s = %d", id, r.status)
							}
							delete(alive, id)
							deleted[id] = true
							break
						}
					}
				}
			}
			for id, k := range seen {
				if k != 1 {
					t.Errorf("credential %s returned %d times", id, k)
				}
			}
			for id := range initial {
				if alive[id] && seen[id] != 1 {
					t.Errorf("surviving credential %s returned %d times, want 1", id, seen[id])
				}
			}
			if pages < 2 {
				t.Errorf("%d pages: paging was not exercised", pages)
			}
		})
	}
}

// createMany makes k credentials named prefix-i over HTTP, a few at a time.
func createMany(t *testing.T, e *env, prefix string, k int) map[string]bool {
	t.Helper()
	ids := make([]string, k)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range k {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			r := e.do(req{method: "POST", path: "/credentials", body: credBody(fmt.Sprintf("%s-%04d", prefix, i), map[string]string{"k": "dg=="})})
			if r.status == 201 {
				var c resource
				json.Unmarshal(r.body, &c)
				ids[i] = c.ID
			}
		}()
	}
	wg.Wait()
	out := map[string]bool{}
	for i, id := range ids {
		if id == "" {
			t.Fatalf("credential %s-%04d was not created", prefix, i)
		}
		out[id] = true
	}
	return out
}

// TestListQueries covers filter operators, AND of repeated filters, orderBy,
// include, count and skip.
func TestListQueries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i, name := range []string{"delta", "alpha", "charlie", "bravo"} {
		b := credBody(name, map[string]string{"k": "dg=="})
		b["metadata"] = map[string]any{"labels": []dbtrust.Label{{Name: "team", Value: fmt.Sprint("t", i%2)}}}
		if i == 0 {
			b["keyType"] = "apikey"
			b["keyStore"] = map[string]string{"apikey": "dg=="}
		}
		e.mustCreate("credentials", b)
	}
	names := func(query string) string {
		t.Helper()
		r := e.do(req{method: "GET", path: "/credentials?include=name&" + query})
		if r.status != 200 {
			t.Fatalf("%s = %d %s", query, r.status, r.body)
		}
		var rows [][]string
		json.Unmarshal(mustField(t, r.body, "items"), &rows)
		var out []string
		for _, row := range rows {
			out = append(out, row[0])
		}
		return strings.Join(out, ",")
	}
	f := func(s string) string { return "filter=" + url.QueryEscape(s) }
	tests := []struct{ query, want string }{
		{"", "delta,alpha,charlie,bravo"},
		{"orderBy=name", "alpha,bravo,charlie,delta"},
		{"orderBy=" + url.QueryEscape("name desc"), "delta,charlie,bravo,alpha"},
		{"orderBy=name%20asc", "alpha,bravo,charlie,delta"},
		{f("name eq 'alpha'"), "alpha"},
		{f("name lt 'c'") + "&orderBy=name", "alpha,bravo"},
		{f("name gt 'c'"), "delta,charlie"},
		{f("name lte 'charlie'") + "&orderBy=name", "alpha,bravo,charlie"},
		{f("name gte 'charlie'"), "delta,charlie"},
		{f("name in 'ar'"), "charlie"},
		{f("keyType eq 'apikey'"), "delta"},
		{f("metadata.labels[*].value eq 't1'"), "alpha,bravo"},
		{f("metadata.labels[*].value eq 't1'") + "&" + f("name eq 'bravo'"), "bravo"},
		{f("metadata.labels[*].value eq 't1', name eq 'alpha'"), "alpha"},
		{f("name eq 'nobody'"), ""},
		{"orderBy=name&skip=2", "charlie,delta"},
	}
	for _, tt := range tests {
		if got := names(tt.query); got != tt.want {
			t.Errorf("GET ?%s = %q, want %q", tt.query, got, tt.want)
		}
	}
	r := e.do(req{method: "GET", path: "/credentials?count=true&limit=1&include=name,keyType"})
	var list struct {
		Items    [][]any `json:"items"`
		Metadata struct {
			Continue string `json:"continue"`
			Count    int    `json:"count"`
		} `json:"metadata"`
	}
	r.decode(t, &list)
	if list.Metadata.Count != 4 || list.Metadata.Continue == "" || len(list.Items) != 1 || list.Items[0][1] != "apikey" {
		t.Errorf("count/limit/include = %s", r.body)
	}
	// A continue token is bound to its filter and order.
	r = e.do(req{method: "GET", path: "/credentials?orderBy=name&continue=" + url.QueryEscape(list.Metadata.Continue)})
	if r.status != 400 || r.problem != 5 {
		t.Errorf("continue with another order = %d problem %d, want 400 problem 5", r.status, r.problem)
	}
	// A credential without keyType reads "" in an include (the schema admits no null).
	r = e.do(req{method: "GET", path: "/credentials?include=keyType&" + f("name eq 'alpha'")})
	if !bytes.Contains(r.body, []byte(`"items":[[""]]`)) {
		t.Errorf("include of a missing member = %s, want \"\"", r.body)
	}
}

// TestSecretsStaySecret checks that keyStore values appear in no response,
// no log line and nowhere in the database files, in clear or in base64.
func TestSecretsStaySecret(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	secrets := [][]byte{}
	mk := func() string {
		s := []byte("s3cr3t-" + uuid.NewString())
		secrets = append(secrets, s)
		return b64(s)
	}
	body := map[string]any{"type": "application/astra-credential", "version": "1.1", "name": "s3", "keyType": "s3",
		"keyStore": map[string]string{"accessKey": mk(), "accessSecret": mk()}}
	c := e.mustCreate("credentials", body)
	user := uuid.NewString()
	ph := map[string]any{"type": "application/astra-credential", "version": "1.1", "name": user, "keyType": "passwordHash",
		"keyStore": map[string]string{"cleartext": mk(), "change": b64([]byte("true"))}}
	e.mustCreate("credentials", ph)
	upd := map[string]any{"type": "application/astra-credential", "version": "1.1", "name": "s3", "keyStore": map[string]string{"accessKey": mk(), "accessSecret": mk()}}
	var replies [][]byte
	r := e.do(req{method: "PUT", path: "/credentials/" + c.ID, body: upd, header: map[string]string{"Accept": mediaCred}})
	if r.status != 200 {
		t.Fatalf("PUT = %d %s", r.status, r.body)
	}
	replies = append(replies, r.body)
	// A failing request that carries secrets must not log them either.
	r = e.do(req{method: "POST", path: "/credentials", body: map[string]any{"type": "application/astra-credential", "version": "1.1", "name": "x", "keyType": "apikey", "keyStore": map[string]string{"other": mk()}}})
	replies = append(replies, r.body)
	for _, p := range []string{"/credentials", "/credentials/" + c.ID, "/credentials?include=name,keyType,valid"} {
		replies = append(replies, e.do(req{method: "GET", path: p}).body)
	}
	for _, b := range replies {
		if bytes.Contains(b, []byte(`"keyStore":`)) {
			t.Errorf("a response has a keyStore member: %s", b)
		}
	}
	logs := e.logs.Bytes()
	if len(logs) == 0 {
		t.Fatal("no log output captured; the check below would prove nothing")
	}
	files, err := os.ReadDir(e.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	var dbBytes []byte
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(e.dataDir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		dbBytes = append(dbBytes, b...)
	}
	if !bytes.Contains(dbBytes, []byte(`"name":"team"`)) && !bytes.Contains(dbBytes, []byte("s3")) {
		t.Fatal("the database files hold none of the stored records; the check below would prove nothing")
	}
	for _, s := range secrets {
		for _, form := range [][]byte{s, []byte(b64(s))} {
			for what, hay := range map[string][]byte{"the database files": dbBytes, "the log": logs} {
				if bytes.Contains(hay, form) {
					t.Errorf("%s hold a keyStore value (%q)", what, form)
				}
			}
			for _, b := range replies {
				if bytes.Contains(b, form) {
					t.Errorf("a response holds a keyStore value (%q)", form)
				}
			}
		}
	}
}

// TestRateLimit: a token over its limit gets Astra's problem 41 with
// Retry-After, and other callers are not affected.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnvLimited(t, 3)
	for i := range 3 {
		if r := e.do(req{method: "GET", path: "/credentials"}); r.status != 200 {
			t.Fatalf("request %d = %d, want 200", i+1, r.status)
		}
	}
	r := e.do(req{method: "GET", path: "/credentials"})
	if r.status != 503 || r.problem != 41 || r.header.Get("Retry-After") == "" {
		t.Errorf("request over the limit = %d problem %d Retry-After %q, want 503 problem 41 with Retry-After", r.status, r.problem, r.header.Get("Retry-After"))
	}
	if r := e.do(req{method: "GET", path: "/credentials", token: e.tokenFor(dbtrust.RoleViewer)}); r.status != 200 {
		t.Errorf("another token = %d, want 200", r.status)
	}
}

// TestRotationShowsInCertificates follows an instance's CA rotation in the
// certificates collection: the next CA appears when a rotation starts, the
// states move on finish, and a retired CA leaves.
func TestRotationShowsInCertificates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	op := dbtrust.Operator(e.acct.ID)
	inst, err := e.svc.CreateInstance(ctx, op, dbtrust.InstanceSpec{Name: "ledger", Engine: "pg"})
	if err != nil {
		t.Fatal(err)
	}
	states := func() map[string]string { // CA certificate id -> dbtrust.io/ca-state
		t.Helper()
		var list listReply
		e.do(req{method: "GET", path: "/certificates?filter=" + url.QueryEscape("metadata.labels[*].value eq '"+inst.ID+"'")}).decode(t, &list)
		out := map[string]string{}
		for _, raw := range list.Items {
			var c resource
			json.Unmarshal(raw, &c)
			for _, l := range c.Metadata.Labels {
				if l.Name == "dbtrust.io/ca-state" {
					out[c.ID] = l.Value
				}
			}
		}
		return out
	}
	count := func(m map[string]string, state string) int {
		n := 0
		for _, s := range m {
			if s == state {
				n++
			}
		}
		return n
	}
	before := states()
	if len(before) != 1 || count(before, "current") != 1 {
		t.Fatalf("before rotation: %v, want one current CA", before)
	}
	if _, err := e.svc.RotateStart(ctx, op, inst.ID, ""); err != nil {
		t.Fatal(err)
	}
	if got := states(); len(got) != 2 || count(got, "current") != 1 || count(got, "next") != 1 {
		t.Fatalf("after RotateStart: %v, want current and next", got)
	}
	if _, _, err := e.svc.RotateFinish(ctx, op, inst.ID, false); err != nil {
		t.Fatal(err)
	}
	got := states()
	for id := range before {
		if got[id] != "previous" {
			t.Errorf("after RotateFinish: the old CA is %q, want previous (%v)", got[id], got)
		}
	}
	if _, err := e.svc.RotateRetire(ctx, op, inst.ID, true); err != nil {
		t.Fatal(err)
	}
	got = states()
	for id := range before {
		if _, ok := got[id]; ok {
			t.Errorf("after RotateRetire: the retired CA is still listed (%v)", got)
		}
		if r := e.do(req{method: "GET", path: "/certificates/" + id}); r.status != 404 {
			t.Errorf("GET retired CA = %d, want 404", r.status)
		}
	}
	if len(got) != 1 || count(got, "current") != 1 {
		t.Errorf("after RotateRetire: %v, want one current CA", got)
	}
}

// TestClientErrorsNotLoggedAsErrors: a barrage of client mistakes (bad
// token, bad filter, bad body, unknown record, wrong method) writes no ERROR
// line; each is logged at DEBUG.
func TestClientErrorsNotLoggedAsErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bad := []req{
		{method: "GET", path: "/credentials", token: "dbt_nope"},
		{method: "GET", path: "/credentials", noAuth: true},
		{method: "GET", path: "/credentials?filter=name%20zz%20'x'", unchecked: true},
		{method: "GET", path: "/credentials?limit=-1", unchecked: true},
		{method: "GET", path: "/credentials?continue=garbage", unchecked: true},
		{method: "POST", path: "/credentials", body: "{", unchecked: true},
		{method: "POST", path: "/credentials", body: map[string]any{"type": "x"}, unchecked: true},
		{method: "GET", path: "/credentials/" + uuid.NewString()},
		{method: "GET", path: "/certificates/not-a-uuid", unchecked: true},
		{method: "PATCH", path: "/credentials", unchecked: true},
	}
	for range 5 {
		for _, r := range bad {
			if got := e.do(r); got.status < 400 || got.status >= 500 {
				t.Fatalf("%s %s = %d %s, want a 4xx", r.method, r.path, got.status, got.body)
			}
		}
	}
	logs := string(e.logs.Bytes())
	if !strings.Contains(logs, "level=DEBUG msg=\"astra request failed\"") {
		t.Fatalf("no client error was logged at DEBUG; the check below would prove nothing:\n%s", logs)
	}
	if strings.Contains(logs, "level=ERROR") {
		t.Fatalf("client errors were logged at ERROR:\n%s", logs)
	}
}
