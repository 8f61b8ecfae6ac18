package digitalocean_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/dbtrust/dbtrust"
)

// TestServiceCnamesAreSANs: the custom DNS names set through do_settings are
// subject alternative names of the certificates issued for the cluster from
// then on, a client connecting by one of them verifies the server with the
// CA the /ca endpoint serves, and the cluster's connection does not change.
func TestServiceCnamesAreSANs(t *testing.T) {
	e := newEnv(t, 1000)
	id := e.createCluster(t, "backend")
	c := "/v2/databases/" + id
	type view struct {
		Database struct {
			Connection        struct{ Host string } `json:"connection"`
			PrivateConnection struct{ Host string } `json:"private_connection"`
			DOSettings        struct {
				ServiceCnames []string `json:"service_cnames"`
			} `json:"do_settings"`
		} `json:"database"`
	}
	get := func() view {
		t.Helper()
		r := e.check(t, "GET", c, e.token, "", 200)
		var v view
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := get()

	for _, tc := range []struct {
		name, body string
		want       int
	}{
		{"get", "", 200},
		{"set", `{"do_settings":{"service_cnames":["db.example.com","Database.MyApp.io."]}}`, 204},
		{"an IP address", `{"do_settings":{"service_cnames":["10.0.0.1"]}}`, 422},
		{"a single label", `{"do_settings":{"service_cnames":["localhost"]}}`, 422},
		{"a wildcard", `{"do_settings":{"service_cnames":["*.example.com"]}}`, 422},
		{"twice", `{"do_settings":{"service_cnames":["a.example.com","A.example.com"]}}`, 422},
		{"the cluster's own host", `{"do_settings":{"service_cnames":["` + before.Database.Connection.Host + `"]}}`, 422},
		{"too many", `{"do_settings":{"service_cnames":["` + strings.Repeat(`x.example.com","`, 16) + `y.example.com"]}}`, 422},
		{"no do_settings", `{}`, 422},
		{"not JSON", `{"do_settings":`, 400},
	} {
		method := "PUT"
		if tc.body == "" {
			method = "GET"
		}
		e.check(t, method, c+"/do_settings", e.token, tc.body, tc.want)
	}
	r := e.do(t, "GET", c+"/do_settings", e.token, nil)
	want := `{"do_settings":{"service_cnames":["db.example.com","database.myapp.io"]}}`
	if string(r.body) != want {
		t.Fatalf("GET do_settings = %s, want %s (the rejected PUTs changed nothing)", r.body, want)
	}
	after := get()
	if after.Database.Connection != before.Database.Connection || after.Database.PrivateConnection != before.Database.PrivateConnection {
		t.Fatalf("connection after setting names = %+v, want it unchanged from %+v", after.Database, before.Database)
	}
	if !slices.Equal(after.Database.DOSettings.ServiceCnames, []string{"db.example.com", "database.myapp.io"}) {
		t.Fatalf("cluster do_settings = %v", after.Database.DOSettings)
	}

	issued, err := e.svc.IssueCertificate(context.Background(), dbtrust.Operator(e.acct.ID), id, dbtrust.IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"db.example.com", "database.myapp.io", before.Database.Connection.Host} {
		if !slices.Contains(issued.DNSNames, name) {
			t.Fatalf("issued certificate names %v, want %s among them", issued.DNSNames, name)
		}
	}
	pool := e.fetchCA(t, id)
	if err := handshake(t, issued, pool, "database.myapp.io"); err != nil {
		t.Fatalf("handshake by a service name with the served CA: %v", err)
	}
	if err := handshake(t, issued, pool, "other.example.com"); err == nil {
		t.Fatal("handshake by a name that is not the cluster's succeeded, want a verification failure")
	}

	// Clearing the names keeps the cluster's connection too.
	if r := e.do(t, "PUT", c+"/do_settings", e.token, []byte(`{"do_settings":{}}`)); r.status != 204 {
		t.Fatalf("clearing do_settings = %d %s", r.status, r.body)
	}
	if v := get(); len(v.Database.DOSettings.ServiceCnames) != 0 || v.Database.Connection != before.Database.Connection {
		t.Fatalf("after clearing: %+v", v.Database)
	}
}
