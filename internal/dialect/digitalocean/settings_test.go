package digitalocean_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/clustersettings"
)

// TestSubResourcesMatchSpec drives the sub-resources tools call around a
// cluster (maintenance, autoscale, firewall, users, dbs, pools, options,
// account) to each status they answer, and validates every response against
// DigitalOcean's own OpenAPI document.
func TestSubResourcesMatchSpec(t *testing.T) {
	e := newEnv(t, 1000)
	id := e.createCluster(t, "backend")
	c := "/v2/databases/" + id
	missing := "/v2/databases/9cc10173-e9ea-4176-9dbc-a4cee4c4ff30"
	cases := []struct {
		name, method, path, body string
		want                     int
	}{
		{"options", "GET", "/v2/databases/options", "", 200},
		{"account", "GET", "/v2/account", "", 200},
		{"maintenance", "PUT", c + "/maintenance", `{"day":"tuesday","hour":"14:00"}`, 204},
		{"maintenance 404", "PUT", missing + "/maintenance", `{"day":"tuesday","hour":"14:00"}`, 404},
		{"maintenance 422 (default)", "PUT", c + "/maintenance", `{"day":"someday","hour":"14:00"}`, 422},
		{"autoscale get", "GET", c + "/autoscale", "", 200},
		{"autoscale put", "PUT", c + "/autoscale", `{"storage":{"enabled":true,"threshold_percent":80,"increment_gib":10}}`, 204},
		{"autoscale put 422", "PUT", c + "/autoscale", `{"storage":{"enabled":true,"threshold_percent":5}}`, 422},
		{"autoscale 404", "GET", missing + "/autoscale", "", 404},
		{"firewall put", "PUT", c + "/firewall", `{"rules":[{"type":"ip_addr","value":"192.0.2.0/24"},{"type":"tag","value":"web"}]}`, 204},
		{"firewall put 422 (default)", "PUT", c + "/firewall", `{"rules":[{"type":"ip_addr","value":"not-an-ip"}]}`, 422},
		{"firewall get", "GET", c + "/firewall", "", 200},
		{"firewall 404", "GET", missing + "/firewall", "", 404},
		{"users", "GET", c + "/users", "", 200},
		{"user", "GET", c + "/users/doadmin", "", 200},
		{"user 404", "GET", c + "/users/nobody", "", 404},
		{"users 404", "GET", missing + "/users", "", 404},
		{"add user (default)", "POST", c + "/users", `{"name":"app"}`, 422},
		{"dbs", "GET", c + "/dbs", "", 200},
		{"db", "GET", c + "/dbs/defaultdb", "", 200},
		{"db 404", "GET", c + "/dbs/other", "", 404},
		{"pools", "GET", c + "/pools", "", 200},
		{"pools 404", "GET", missing + "/pools", "", 404},
		{"get after all", "GET", c, "", 200},
		{"list after all", "GET", "/v2/databases", "", 200},
		{"projects (default)", "GET", "/v2/projects", "", 404},
		{"account keys (default)", "GET", "/v2/account/keys", "", 404},
		{"droplets (default)", "GET", "/v2/droplets", "", 404},
		{"unknown sub-resource", "GET", c + "/backups", "", 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { e.check(t, tc.method, tc.path, e.token, tc.body, tc.want) })
	}
}

// TestSettingsRoundTrip checks that what a tool writes is what it reads back,
// through the sub-resource and through the cluster object.
func TestSettingsRoundTrip(t *testing.T) {
	e := newEnv(t, 1000)
	id := e.createCluster(t, "backend")
	c := "/v2/databases/" + id
	var v struct {
		Database struct {
			ProjectID         string `json:"project_id"`
			MaintenanceWindow struct {
				Day, Hour string
				Pending   bool
			} `json:"maintenance_window"`
			StorageAutoscale struct {
				Enabled          bool `json:"enabled"`
				ThresholdPercent int  `json:"threshold_percent"`
			} `json:"storage_autoscale"`
			Users []struct{ Name, Role string } `json:"users"`
		} `json:"database"`
	}
	getCluster := func() {
		t.Helper()
		r := e.do(t, "GET", c, e.token, nil)
		if r.status != 200 || json.Unmarshal(r.body, &v) != nil {
			t.Fatalf("GET cluster = %d %s", r.status, r.body)
		}
	}
	getCluster()
	def := clustersettings.DefaultMaintenanceWindow(id)
	if v.Database.MaintenanceWindow.Day != def.Day || v.Database.MaintenanceWindow.Hour != def.Hour || v.Database.MaintenanceWindow.Pending {
		t.Fatalf("default maintenance_window = %+v, want %+v and nothing pending", v.Database.MaintenanceWindow, def)
	}
	if want := e.acct.ProjectID; strings.ReplaceAll(v.Database.ProjectID, "-", "") != want || len(v.Database.ProjectID) != 36 {
		t.Fatalf("project_id = %q, want the account's project %s in UUID form", v.Database.ProjectID, want)
	}
	if len(v.Database.Users) != 1 || v.Database.Users[0].Name != "doadmin" || v.Database.Users[0].Role != "primary" {
		t.Fatalf("users = %+v, want the one user the connection names", v.Database.Users)
	}
	for _, put := range []struct{ path, body string }{
		{"/maintenance", `{"day":"Friday","hour":"23:30"}`},
		{"/autoscale", `{"storage":{"enabled":true,"threshold_percent":75}}`},
		{"/firewall", `{"rules":[{"type":"ip_addr","value":"2001:db8::/32"}]}`},
	} {
		if r := e.do(t, "PUT", c+put.path, e.token, []byte(put.body)); r.status != http.StatusNoContent || len(r.body) != 0 {
			t.Fatalf("PUT %s = %d %s, want 204 with no body", put.path, r.status, r.body)
		}
	}
	getCluster()
	if mw := v.Database.MaintenanceWindow; mw.Day != "friday" || mw.Hour != "23:30:00" {
		t.Fatalf("maintenance_window after PUT = %+v, want friday 23:30:00", mw)
	}
	if as := v.Database.StorageAutoscale; !as.Enabled || as.ThresholdPercent != 75 {
		t.Fatalf("storage_autoscale after PUT = %+v, want enabled at 75%%", as)
	}
	r := e.do(t, "GET", c+"/firewall", e.token, nil)
	var fw struct {
		Rules []struct{ UUID, ClusterUUID, Type, Value string } `json:"rules"`
	}
	if json.Unmarshal(r.body, &fw) != nil || len(fw.Rules) != 1 || fw.Rules[0].Value != "2001:db8::/32" || fw.Rules[0].UUID == "" {
		t.Fatalf("GET firewall = %s, want the one rule with a UUID", r.body)
	}

	// Another account: every sub-resource reads as a missing cluster.
	_, other, err := e.svc.CreateAccount(context.Background(), "other")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/autoscale", "/firewall", "/users", "/dbs", "/pools"} {
		if r := e.do(t, "GET", c+p, other, nil); r.status != 404 {
			t.Fatalf("GET %s as another account = %d %s, want 404", p, r.status, r.body)
		}
	}
	if r := e.do(t, "PUT", c+"/maintenance", other, []byte(`{"day":"monday","hour":"01:00"}`)); r.status != 404 {
		t.Fatalf("PUT maintenance as another account = %d, want 404", r.status)
	}
}

// TestPathsAnswerInTheirDialectsShape checks that DigitalOcean-looking paths
// get DigitalOcean's error body and Huawei's only under a project ID.
func TestPathsAnswerInTheirDialectsShape(t *testing.T) {
	e := newEnv(t, 1000)
	cases := []struct {
		path   string
		huawei bool
	}{
		{"/v2/projects", false},
		{"/v2/projects/default", false},
		{"/v2/account/keys", false},
		{"/v2/droplets/123", false},
		{"/v2/databases/metrics/credentials", false},
		{"/v2/" + e.acct.ProjectID + "/nothing", true},
		{"/v2/" + e.acct.ProjectID + "/instances/x/ssl", true},
		{"/v3/" + e.acct.ProjectID + "/nothing", true},
	}
	for _, c := range cases {
		r := e.do(t, "GET", c.path, e.token, nil)
		var v map[string]any
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Fatalf("GET %s: body %q is not JSON", c.path, r.body)
		}
		_, isHuawei := v["error_code"]
		_, isDO := v["id"]
		if r.status == 200 || isHuawei != c.huawei || isDO == c.huawei {
			t.Fatalf("GET %s = %d %s; want an error in the %s shape", c.path, r.status, r.body, map[bool]string{true: "Huawei", false: "DigitalOcean"}[c.huawei])
		}
	}
}

func TestTokenInfoForDoctlAuthInit(t *testing.T) {
	e := newEnv(t, 1000)
	r := e.do(t, "GET", "/v1/oauth/token/info", e.token, nil)
	var v struct {
		Scopes []string `json:"scopes"`
	}
	if r.status != 200 || json.Unmarshal(r.body, &v) != nil || !strings.Contains(strings.Join(v.Scopes, " "), "database:read") {
		t.Fatalf("GET /v1/oauth/token/info = %d %s, want 200 with the token's scopes", r.status, r.body)
	}
	if r := e.do(t, "GET", "/v1/oauth/token/info", "dbt_bad", nil); r.status != 401 || !strings.Contains(string(r.body), `"id":"unauthorized"`) {
		t.Fatalf("GET /v1/oauth/token/info with a bad token = %d %s, want DigitalOcean's 401", r.status, r.body)
	}
}

// TestNodeTokenReadsItsCluster: a node token reads its own cluster and its
// settings as an account token does, changes none of them, and reads any
// other cluster as a missing one.
func TestNodeTokenReadsItsCluster(t *testing.T) {
	e := newEnv(t, 1000)
	id := e.createCluster(t, "backend")
	other := e.createCluster(t, "other")
	_, node, err := e.svc.CreateNodeToken(context.Background(), dbtrust.Operator(e.acct.ID), id, "node-1")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/v2/databases/" + id, "", 200},
		{"GET", "/v2/databases/" + id + "/autoscale", "", 200},
		{"GET", "/v2/databases/" + id + "/firewall", "", 200},
		{"PUT", "/v2/databases/" + id + "/maintenance", `{"day":"monday","hour":"01:00"}`, 403},
		{"PUT", "/v2/databases/" + id + "/firewall", `{"rules":[]}`, 403},
		{"GET", "/v2/databases/" + other, "", 404},
		{"GET", "/v2/account", "", 403},
	} {
		e.check(t, c.method, c.path, node, c.body, c.want)
	}
}
