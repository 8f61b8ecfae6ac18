package main

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust/client"
)

// TestRotationAdoption: two clients fetch an instance's bundle before a
// rotation starts (one through the DigitalOcean API, one through the native
// API), and so does the instance's agent (a node token); one client fetches
// it again after the start (through a Huawei presigned link it asked for).
// 'rotate status' lists exactly that one as holding the next CA, the metrics
// count them once the fetches are flushed, 'rotate finish' refuses while the
// agent has not installed the next CA and goes through with --force, naming
// the clients that lack it.
func TestRotationAdoption(t *testing.T) {
	t.Parallel()
	s := startServe(t, http.DefaultClient, nil, "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "d"),
		"--adoption-flush", "50ms")
	project := accountLineRE.FindStringSubmatch(s.out.String())[3]
	var alpha, beta client.Token
	call(t, s, "POST", "/v1/tokens", s.token, `{"name":"alpha","role":"viewer"}`, http.StatusCreated, &alpha)
	call(t, s, "POST", "/v1/tokens", s.token, `{"name":"beta","role":"member"}`, http.StatusCreated, &beta)
	var inst client.Instance
	call(t, s, "POST", "/v1/instances", s.token, `{"name":"orders","engine":"pg"}`, http.StatusCreated, &inst)

	call(t, s, "GET", "/v2/databases/"+inst.ID+"/ca", alpha.Secret, "", http.StatusOK, nil)
	call(t, s, "GET", "/v1/instances/"+inst.ID+"/ca-bundle", beta.Secret, "", http.StatusOK, nil)
	var agent client.Token
	call(t, s, "POST", "/v1/instances/"+inst.ID+"/node-tokens", s.token, `{"name":"orders-node-1"}`, http.StatusCreated, &agent)
	call(t, s, "GET", "/v1/instances/"+inst.ID+"/ca-bundle", agent.Secret, "", http.StatusOK, nil)
	remote := []string{"--server", s.url, "--token", s.token}
	cli(t, append([]string{"rotate", "start", "orders"}, remote...)...)

	// beta asks for a DDS download link and downloads the bundle with it.
	req, _ := http.NewRequest("GET", s.url+"/v3/"+project+"/instances/"+inst.ID+"/ssl-cert/download-link", nil)
	req.Header.Set("X-Auth-Token", beta.Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var links struct {
		Certs []struct {
			DownloadLink string `json:"download_link"`
		} `json:"certs"`
	}
	json.NewDecoder(resp.Body).Decode(&links)
	resp.Body.Close()
	if len(links.Certs) != 1 {
		t.Fatalf("DDS download-link = %d %+v", resp.StatusCode, links)
	}
	resp, err = http.Get(links.Certs[0].DownloadLink)
	if err != nil {
		t.Fatal(err)
	}
	pem, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.Count(string(pem), "BEGIN CERTIFICATE") != 2 {
		t.Fatalf("GET link = %d, %d certificates, want the 2-CA bundle", resp.StatusCode, strings.Count(string(pem), "BEGIN CERTIFICATE"))
	}

	var st client.RotationStatus
	cliJSON(t, &st, append([]string{"rotate", "status", "orders"}, remote...)...)
	holding := map[string]client.RotationClient{}
	for _, c := range st.Clients {
		if c.HoldsNext {
			holding[c.Name] = c
		}
	}
	if st.Stage != "started" || len(st.Clients) != 3 || st.HoldingCount != 1 || st.LackingCount != 2 || len(holding) != 1 {
		t.Fatalf("rotate status = %+v, want 3 clients, exactly one holding the next CA", st)
	}
	if b, ok := holding["beta"]; !ok || b.Via != "link" || b.Kind != "token" || b.Subject != "token:"+beta.ID || len(b.Fingerprints) != 2 {
		t.Fatalf("the client holding the next CA = %+v, want beta through its link", holding)
	}
	table := cli(t, append([]string{"rotate", "status", "orders"}, remote...)...)
	if !regexp.MustCompile(`clients: 1 hold it, 2 do not`).MatchString(table) || !regexp.MustCompile(`(?m)^no\s+token\s+alpha\s`).MatchString(table) ||
		!regexp.MustCompile(`(?m)^no\s+agent\s+orders-node-1\s`).MatchString(table) {
		t.Fatalf("rotate status table:\n%s", table)
	}

	// The gauges follow once this replica has flushed what it counted.
	want := `dbtrust_rotation_clients{holds_new_ca="true",instance_id="` + inst.ID + `",stage="started"} 1`
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(s.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks %s:\n%s", want, grepLines(string(body), "dbtrust_rotation"))
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The agent has not installed the next CA: finish refuses, for the
	// operator at the CLI and through the API alike.
	if out, err := runCmd("", nil, append([]string{"rotate", "finish", "orders"}, remote...)...); err == nil || !strings.Contains(err.Error(), "orders-node-1") {
		t.Fatalf("rotate finish while the agent lacks the next CA = %v\n%s, want a refusal naming the agent", err, out)
	}
	call(t, s, "POST", "/v1/instances/"+inst.ID+"/rotation/finish", s.token, "", http.StatusConflict, nil)
	out := cli(t, append([]string{"rotate", "finish", "orders", "--force"}, remote...)...)
	if !strings.Contains(out, "Warning: 2 known client(s) had not fetched the bundle with the new CA") || !strings.Contains(out, "alpha") ||
		!strings.Contains(out, "orders-node-1") {
		t.Fatalf("rotate finish --force output lacks the warning about alpha and the agent:\n%s", out)
	}
	cliJSON(t, &st, append([]string{"rotate", "status", "orders"}, remote...)...)
	if st.Stage != "finished" {
		t.Fatalf("stage after finish --force = %q, want finished", st.Stage)
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
