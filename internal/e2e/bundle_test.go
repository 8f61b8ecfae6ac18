package e2e_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/dbtrust/dbtrust/internal/pki"
)

// fingerprints returns the sorted SHA-256 fingerprints of a PEM bundle.
func fingerprints(t *testing.T, bundle []byte) []string {
	t.Helper()
	certs, err := pki.ParseCertsPEM(bundle)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range certs {
		out = append(out, pki.Fingerprint(c.Raw))
	}
	sort.Strings(out)
	return out
}

// ddsBundle fetches the bundle as a Huawei DDS client does: the download
// link list, then a GET of the link.
func (d *trust) ddsBundle(instanceID string) []byte {
	d.t.Helper()
	var resp struct {
		Certs []struct {
			DownloadLink string `json:"download_link"`
		} `json:"certs"`
	}
	d.call("GET", "/v3/"+d.project+"/instances/"+instanceID+"/ssl-cert/download-link", "X-Auth-Token", nil, &resp, 200)
	if len(resp.Certs) == 0 {
		d.t.Fatal("DDS answered no download link")
	}
	r, err := http.Get(resp.Certs[0].DownloadLink)
	if err != nil {
		d.t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	if r.StatusCode != 200 {
		d.t.Fatalf("GET DDS download link = %d %s", r.StatusCode, b)
	}
	return b
}

// astraCAs returns the instance's CAs as Astra's certificates collection
// shows them: the fingerprints of the certificates labelled with the instance.
func (d *trust) astraCAs(accountID, instanceID string) (fps []string, states []string) {
	d.t.Helper()
	var resp struct {
		Items []struct {
			Cert     string `json:"cert"`
			Metadata struct {
				Labels []struct {
					Name  string `json:"name"`
					Value string `json:"value"`
				} `json:"labels"`
			} `json:"metadata"`
		} `json:"items"`
	}
	d.call("GET", "/accounts/"+accountID+"/core/v1/certificates", "Authorization", nil, &resp, 200)
	for _, it := range resp.Items {
		labels := map[string]string{}
		for _, l := range it.Metadata.Labels {
			labels[l.Name] = l.Value
		}
		if labels["dbtrust.io/instance-id"] != instanceID {
			continue
		}
		pem, err := base64.StdEncoding.DecodeString(it.Cert)
		if err != nil {
			d.t.Fatalf("Astra certificate: cert is not base64: %v", err)
		}
		fps = append(fps, fingerprints(d.t, pem)...)
		states = append(states, labels["dbtrust.io/ca-state"])
	}
	sort.Strings(fps)
	sort.Strings(states)
	return fps, states
}

// TestEveryDialectServesTheBundle checks, at each stage of a rotation, that
// the DigitalOcean CA, the DDS and DCS link files, the Astra certificates
// collection and the native API all serve the same CAs.
func TestEveryDialectServesTheBundle(t *testing.T) {
	t.Parallel()
	d := startTrust(t)
	inst := d.createInstance("cache", "redis")
	accountID := d.account

	for _, stage := range []struct {
		step   string // "" for none
		states string // the served states, sorted
	}{
		{"", "current"},
		{"start", "current,next"},
		{"finish", "current,previous"},
		{"rollback", "current,next"},
		{"finish", "current,previous"},
		{"retire", "current"},
	} {
		if stage.step != "" {
			var body any
			if stage.step == "retire" {
				body = map[string]bool{"force": true}
			}
			var l struct{}
			d.call("POST", "/v1/instances/"+inst.ID+"/rotation/"+stage.step, "Authorization", body, &l, 200)
		}
		var native []byte
		d.call("GET", "/v1/instances/"+inst.ID+"/ca-bundle", "Authorization", nil, &native, 200)
		want := strings.Join(fingerprints(t, native), ",")
		for name, got := range map[string][]byte{
			"DigitalOcean /ca": d.doBundle(inst.ID),
			"DCS link":         d.dcsBundle(inst.ID),
			"DDS link":         d.ddsBundle(inst.ID),
		} {
			if g := strings.Join(fingerprints(t, got), ","); g != want {
				t.Fatalf("after %q: %s serves %s, want %s", stage.step, name, g, want)
			}
		}
		fps, states := d.astraCAs(accountID, inst.ID)
		if strings.Join(fps, ",") != want || strings.Join(states, ",") != stage.states {
			t.Fatalf("after %q: Astra shows %v in states %v, want %s in states %s", stage.step, fps, states, want, stage.states)
		}
	}
}
