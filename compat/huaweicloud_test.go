package compat

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust/compat/dbtrusttest"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/region"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	dcs "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/dcs/v2"
	dcsmodel "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/dcs/v2/model"
	dds "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/dds/v3"
	ddsmodel "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/dds/v3/model"
)

// accessKey is what `dbtrust accesskey create -o json` prints.
type accessKey struct {
	AccessKey string `json:"access_key"`
	SecretKey string `json:"secret_key"`
	ProjectID string `json:"project_id"`
}

func createAccessKey(t *testing.T, s *dbtrusttest.Server, args ...string) accessKey {
	t.Helper()
	var k accessKey
	out := s.CLI(t, append([]string{"accesskey", "create", "-o", "json"}, args...)...)
	if err := json.Unmarshal(out, &k); err != nil || k.AccessKey == "" || len(k.SecretKey) != 40 || len(k.ProjectID) != 32 {
		t.Fatalf("accesskey create printed %q (%v)", out, err)
	}
	return k
}

func createInstance(t *testing.T, s *dbtrusttest.Server, args ...string) string {
	t.Helper()
	var inst struct{ ID string }
	out := s.CLI(t, append([]string{"instance", "create", "-o", "json"}, args...)...)
	if err := json.Unmarshal(out, &inst); err != nil || inst.ID == "" {
		t.Fatalf("instance create printed %q (%v)", out, err)
	}
	return inst.ID
}

func credentials(t *testing.T, k accessKey, project string) *basic.Credentials {
	t.Helper()
	b := basic.NewCredentialsBuilder().WithAk(k.AccessKey).WithSk(k.SecretKey)
	if project != "" {
		b = b.WithProjectId(project)
	}
	c, err := b.SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newDDS(t *testing.T, url string, c *basic.Credentials) *dds.DdsClient {
	t.Helper()
	hc, err := dds.DdsClientBuilder().WithEndpoints([]string{url}).WithCredential(c).WithHttpConfig(config.DefaultHttpConfig()).SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	return dds.NewDdsClient(hc)
}

func newDCS(t *testing.T, url string, c *basic.Credentials) *dcs.DcsClient {
	t.Helper()
	hc, err := dcs.DcsClientBuilder().WithEndpoints([]string{url}).WithCredential(c).WithHttpConfig(config.DefaultHttpConfig()).SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	return dcs.NewDcsClient(hc)
}

// download GETs a link with a plain HTTP client and returns its certificates.
func download(t *testing.T, link string) []*x509.Certificate {
	t.Helper()
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d %s", link, resp.StatusCode, body)
	}
	var certs []*x509.Certificate
	for rest := body; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatalf("link %s served an unparsable certificate: %v", link, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		t.Fatalf("link %s served no PEM certificate: %q", link, body)
	}
	return certs
}

// doCA returns the instance's CA bundle as the DigitalOcean endpoint serves
// it: the same core, so it must be the same bundle.
func doCA(t *testing.T, s *dbtrusttest.Server, id string) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+"/v2/databases/"+id+"/ca", nil)
	req.Header.Set("Authorization", "Bearer "+s.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b struct {
		CA struct {
			Certificate []byte `json:"certificate"`
		} `json:"ca"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /v2/databases/%s/ca = %d (%v)", id, resp.StatusCode, err)
	}
	return b.CA.Certificate
}

func wantSameCA(t *testing.T, what string, got []*x509.Certificate, want []byte, instanceID string) {
	t.Helper()
	var pemGot bytes.Buffer
	for _, c := range got {
		pem.Encode(&pemGot, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	if !bytes.Equal(pemGot.Bytes(), want) {
		t.Fatalf("%s: downloaded bundle differs from the instance's CA bundle", what)
	}
	if !got[0].IsCA || !strings.Contains(strings.Join(got[0].Subject.OrganizationalUnit, " "), instanceID) {
		t.Fatalf("%s: first certificate is not the CA of instance %s: %v", what, instanceID, got[0].Subject)
	}
}

// native sends a request to dbtrust's native API with the owner token.
func native(t *testing.T, s *dbtrusttest.Server, method, path, body string, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s = %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// wantVerifies issues a server certificate (with its key) from the
// instance's CA through the native API and checks that the downloaded
// bundle verifies it, in a real TLS handshake.
func wantVerifies(t *testing.T, s *dbtrusttest.Server, instanceID string, bundle []*x509.Certificate) {
	t.Helper()
	var issued struct {
		DNSNames       []string `json:"dns_names"`
		CertificatePEM string   `json:"certificate_pem"`
		PrivateKeyPEM  string   `json:"private_key_pem"`
	}
	native(t, s, "POST", "/v1/instances/"+instanceID+"/certificates", `{"key_type":"ecdsa-p256"}`, &issued)
	pair, err := tls.X509KeyPair([]byte(issued.CertificatePEM), []byte(issued.PrivateKeyPEM))
	if err != nil || len(issued.DNSNames) == 0 {
		t.Fatalf("issued certificate: %v (%v)", err, issued.DNSNames)
	}
	roots := x509.NewCertPool()
	for _, c := range bundle {
		roots.AddCert(c)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, ServerName: issued.DNSNames[0]})
	if err != nil {
		t.Fatalf("TLS handshake with a server certificate of %s, trusting the downloaded bundle: %v", instanceID, err)
	}
	conn.Close()
}

func wantSDKError(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	var se *sdkerr.ServiceResponseError
	if !errors.As(err, &se) {
		t.Fatalf("%s: error %v (%T), want *sdkerr.ServiceResponseError", what, err, err)
	}
	if se.StatusCode != status || se.ErrorCode != code || se.ErrorMessage == "" || se.RequestId == "" {
		t.Fatalf("%s: %s, want status %d code %s with a message and request ID", what, se.Error(), status, code)
	}
}

// The official SDK, built with AK/SK and WithEndpoints pointing at dbtrust,
// calls DDS ListSslCertDownloadAddress and DCS DownloadSslCert unchanged;
// each link serves the instance's CA bundle.
func TestHuaweiSDKDownloadLinks(t *testing.T) {
	s := dbtrusttest.Start(t)
	mongo := createInstance(t, s, "--name", "docs", "--engine", "mongodb")
	redis := createInstance(t, s, "--name", "cache", "--engine", "redis", "--version", "7.0")
	k := createAccessKey(t, s, "--name", "ci")
	if k.ProjectID != s.ProjectID {
		t.Fatalf("access key project %s, want the account's %s", k.ProjectID, s.ProjectID)
	}

	ddsResp, err := newDDS(t, s.URL, credentials(t, k, k.ProjectID)).ListSslCertDownloadAddress(&ddsmodel.ListSslCertDownloadAddressRequest{InstanceId: mongo})
	if err != nil {
		t.Fatalf("DDS ListSslCertDownloadAddress: %v", err)
	}
	if ddsResp.Certs == nil || len(*ddsResp.Certs) != 1 || (*ddsResp.Certs)[0].Category.Value() != "international" {
		t.Fatalf("DDS ListSslCertDownloadAddress = %v", ddsResp)
	}
	ddsBundle := download(t, (*ddsResp.Certs)[0].DownloadLink)
	wantSameCA(t, "DDS link", ddsBundle, doCA(t, s, mongo), mongo)
	wantVerifies(t, s, mongo, ddsBundle)

	dcsClient := newDCS(t, s.URL, credentials(t, k, k.ProjectID))
	dcsResp, err := dcsClient.DownloadSslCert(&dcsmodel.DownloadSslCertRequest{InstanceId: redis})
	if err != nil {
		t.Fatalf("DCS DownloadSslCert: %v", err)
	}
	if dcsResp.Link == nil || dcsResp.BucketName == nil || *dcsResp.FileName != "ca.crt" {
		t.Fatalf("DCS DownloadSslCert = %v", dcsResp)
	}
	dcsBundle := download(t, *dcsResp.Link)
	wantSameCA(t, "DCS link", dcsBundle, doCA(t, s, redis), redis)
	wantVerifies(t, s, redis, dcsBundle)
	// A link reads the bundle when it is fetched: after a rotation starts, the
	// same link serves current + next.
	native(t, s, "POST", "/v1/instances/"+redis+"/rotation/start", "{}", nil)
	if got := download(t, *dcsResp.Link); len(got) != 2 || !got[0].Equal(dcsBundle[0]) {
		t.Fatalf("link after rotation start served %d certificates, want current then next", len(got))
	}

	// Neither the SK nor a link's signature reaches the log.
	if log := s.Log(); strings.Contains(log, k.SecretKey) || strings.Contains(log, "Signature=") || strings.Contains(log, "AWSAccessKeyId") {
		t.Fatal("the server log holds the secret key or a link signature")
	}

	// The same calls through the Invokers.
	if _, err := dcsClient.DownloadSslCertInvoker(&dcsmodel.DownloadSslCertRequest{InstanceId: redis}).Invoke(); err != nil {
		t.Fatalf("DCS DownloadSslCertInvoker: %v", err)
	}
	if _, err := newDDS(t, s.URL, credentials(t, k, k.ProjectID)).ListSslCertDownloadAddressInvoker(&ddsmodel.ListSslCertDownloadAddressRequest{InstanceId: mongo}).Invoke(); err != nil {
		t.Fatalf("DDS ListSslCertDownloadAddressInvoker: %v", err)
	}
}

// With a region and no project ID, the SDK asks IAM for the project first.
func TestHuaweiSDKProjectLookup(t *testing.T) {
	s := dbtrusttest.Start(t)
	mongo := createInstance(t, s, "--name", "docs", "--engine", "mongodb")
	k := createAccessKey(t, s, "--role", "viewer")
	c, err := basic.NewCredentialsBuilder().WithAk(k.AccessKey).WithSk(k.SecretKey).WithIamEndpointOverride(s.URL).SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	hc, err := dds.DdsClientBuilder().WithRegion(region.NewRegion("cn-north-4", s.URL)).WithCredential(c).SafeBuild()
	if err != nil {
		t.Fatalf("DdsClientBuilder with a region: %v", err)
	}
	resp, err := dds.NewDdsClient(hc).ListSslCertDownloadAddress(&ddsmodel.ListSslCertDownloadAddressRequest{InstanceId: mongo})
	if err != nil {
		t.Fatalf("DDS ListSslCertDownloadAddress after the IAM project lookup: %v", err)
	}
	download(t, (*resp.Certs)[0].DownloadLink)
}

// DCS.4201 comes back through the SDK, and the SSL switch cures it.
func TestHuaweiSDKSSLSwitch(t *testing.T) {
	s := dbtrusttest.Start(t)
	plain := createInstance(t, s, "--name", "plain", "--engine", "redis", "--version", "6.2", "--no-tls")
	member := newDCS(t, s.URL, credentials(t, createAccessKey(t, s), s.ProjectID))
	admin := newDCS(t, s.URL, credentials(t, createAccessKey(t, s, "--role", "admin"), s.ProjectID))

	_, err := member.DownloadSslCert(&dcsmodel.DownloadSslCertRequest{InstanceId: plain})
	wantSDKError(t, "DownloadSslCert with SSL off", err, 400, "DCS.4201")

	detail, err := member.ShowInstanceSslDetail(&dcsmodel.ShowInstanceSslDetailRequest{InstanceId: plain})
	if err != nil || detail.Enabled == nil || *detail.Enabled {
		t.Fatalf("ShowInstanceSslDetail = %v, %v; want enabled false", detail, err)
	}
	on := &dcsmodel.UpdateSslSwitchRequest{InstanceId: plain, Body: &dcsmodel.UpdateSslSwitchRequestBody{Enabled: true}}
	_, err = member.UpdateSslSwitch(on)
	wantSDKError(t, "UpdateSslSwitch with a member key", err, 403, "APIGW.0302")
	sw, err := admin.UpdateSslSwitch(on)
	if err != nil || sw.Result == nil || *sw.Result != "success" {
		t.Fatalf("UpdateSslSwitch = %v, %v", sw, err)
	}
	detail, err = member.ShowInstanceSslDetail(&dcsmodel.ShowInstanceSslDetailRequest{InstanceId: plain})
	if err != nil || !*detail.Enabled || detail.SslExpiredAt == nil {
		t.Fatalf("ShowInstanceSslDetail after the switch = %v, %v", detail, err)
	}
	resp, err := member.DownloadSslCert(&dcsmodel.DownloadSslCertRequest{InstanceId: plain})
	if err != nil {
		t.Fatalf("DownloadSslCert after the switch: %v", err)
	}
	download(t, *resp.Link)
}

// Errors reach the SDK as ServiceResponseError with Huawei's codes.
func TestHuaweiSDKErrors(t *testing.T) {
	s := dbtrusttest.Start(t)
	mongo := createInstance(t, s, "--name", "docs", "--engine", "mongodb")
	k := createAccessKey(t, s)
	var beta struct {
		ID        string `json:"id"`
		ProjectID string `json:"project_id"`
	}
	if err := json.Unmarshal(s.CLI(t, "account", "create", "beta", "-o", "json"), &beta); err != nil {
		t.Fatal(err)
	}
	betaKey := createAccessKey(t, s, "--account", "beta")
	betaInst := createInstance(t, s, "--account", "beta", "--name", "docs", "--engine", "mongodb")
	req := &ddsmodel.ListSslCertDownloadAddressRequest{InstanceId: mongo}

	wrongSK := k
	wrongSK.SecretKey = strings.Repeat("x", 40)
	_, err := newDDS(t, s.URL, credentials(t, wrongSK, k.ProjectID)).ListSslCertDownloadAddress(req)
	wantSDKError(t, "wrong SK", err, 401, "APIGW.0301")

	unknown := k
	unknown.AccessKey = "DBTKAAAAAAAAAAAAAAAA"
	_, err = newDDS(t, s.URL, credentials(t, unknown, k.ProjectID)).ListSslCertDownloadAddress(req)
	wantSDKError(t, "unknown AK", err, 401, "APIGW.0301")

	_, err = newDDS(t, s.URL, credentials(t, k, beta.ProjectID)).ListSslCertDownloadAddress(&ddsmodel.ListSslCertDownloadAddressRequest{InstanceId: betaInst})
	wantSDKError(t, "foreign project", err, 404, "DBS.200002")
	_, err = newDDS(t, s.URL, credentials(t, betaKey, beta.ProjectID)).ListSslCertDownloadAddress(req)
	wantSDKError(t, "foreign instance", err, 404, "DBS.200002")

	_, err = newDDS(t, s.URL, credentials(t, k, "")).ListSslCertDownloadAddress(req)
	wantSDKError(t, "no project ID (placeholder in the path)", err, 400, "DBS.200001")

	_, err = newDDS(t, s.URL, credentials(t, k, k.ProjectID)).ListSslCertDownloadAddress(&ddsmodel.ListSslCertDownloadAddressRequest{InstanceId: "inst-1"})
	wantSDKError(t, "malformed instance ID", err, 400, "DBS.200001")

	// Revoked through the CLI, in another process: the server notices within
	// about 0.1 s (its read cache watches the store).
	s.CLI(t, "accesskey", "revoke", k.AccessKey, "--yes", "--account", "default")
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err = newDDS(t, s.URL, credentials(t, k, k.ProjectID)).ListSslCertDownloadAddress(req)
		if err != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	wantSDKError(t, "revoked AK", err, 401, "APIGW.0301")
}

// Huawei's pages show raw HTTP with X-Auth-Token; a dbtrust token works there.
func TestHuaweiXAuthToken(t *testing.T) {
	s := dbtrusttest.Start(t)
	redis := createInstance(t, s, "--name", "cache", "--engine", "redis")
	req, _ := http.NewRequest("POST", s.URL+"/v2/"+s.ProjectID+"/instances/"+redis+"/ssl-certs/download", nil)
	req.Header.Set("X-Auth-Token", s.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b struct {
		Link string `json:"link"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil || resp.StatusCode != 200 || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("POST ssl-certs/download with X-Auth-Token = %d (%v)", resp.StatusCode, err)
	}
	wantSameCA(t, "DCS link (token)", download(t, b.Link), doCA(t, s, redis), redis)
}

// TestHuaweiSDKHuaweiFormIDs: an instance created with an ID in Huawei's own
// form (32 hex digits and "in02") serves its CA to the SDK, and an unknown ID
// of that form is DDS's 404, not a malformed-ID 400.
func TestHuaweiSDKHuaweiFormIDs(t *testing.T) {
	s := dbtrusttest.Start(t)
	raw := make([]byte, 16)
	rand.Read(raw)
	id := hex.EncodeToString(raw) + "in02"
	if got := createInstance(t, s, "--id", id, "--name", "docs", "--engine", "mongodb"); got != id {
		t.Fatalf("instance create --id %s made %s", id, got)
	}
	k := createAccessKey(t, s)
	dds := newDDS(t, s.URL, credentials(t, k, k.ProjectID))
	resp, err := dds.ListSslCertDownloadAddress(&ddsmodel.ListSslCertDownloadAddressRequest{InstanceId: id})
	if err != nil || resp.Certs == nil || len(*resp.Certs) != 1 {
		t.Fatalf("DDS ListSslCertDownloadAddress(%s) = %v, %v", id, resp, err)
	}
	bundle := download(t, (*resp.Certs)[0].DownloadLink)
	wantSameCA(t, "DDS link", bundle, doCA(t, s, id), id)

	_, err = dds.ListSslCertDownloadAddress(&ddsmodel.ListSslCertDownloadAddressRequest{InstanceId: strings.Repeat("0", 32) + "in02"})
	wantSDKError(t, "unknown Huawei-form ID", err, 404, "DBS.200002")
}
