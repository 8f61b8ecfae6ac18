package digitalocean_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/pki"
)

// TestConnectionNamesEndpoints: an instance with endpoints shows them in
// connection (the primary) and private_connection (the "private" one),
// host, port and URI alike.
func TestConnectionNamesEndpoints(t *testing.T) {
	e := newEnv(t, 1000)
	ctx := context.Background()
	inst, err := e.svc.CreateInstance(ctx, dbtrust.Operator(e.acct.ID), dbtrust.InstanceSpec{Name: "orders", Engine: "pg",
		Endpoints: []dbtrust.Endpoint{{Host: "db1.example.internal", Port: 5432, Role: "primary"}, {Host: "10.0.0.7", Port: 6432, Role: "private"}}})
	if err != nil {
		t.Fatal(err)
	}
	r := e.do(t, "GET", "/v2/databases/"+inst.ID, e.token, nil)
	validate(t, r)
	type conn struct {
		URI  string `json:"uri"`
		Host string `json:"host"`
		Port int    `json:"port"`
	}
	var v struct {
		Database struct {
			Connection        conn `json:"connection"`
			PrivateConnection conn `json:"private_connection"`
		} `json:"database"`
	}
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatal(err)
	}
	want := conn{"postgresql://doadmin@db1.example.internal:5432/defaultdb?sslmode=verify-full", "db1.example.internal", 5432}
	if v.Database.Connection != want {
		t.Errorf("connection = %+v, want %+v", v.Database.Connection, want)
	}
	want = conn{"postgresql://doadmin@10.0.0.7:6432/defaultdb?sslmode=verify-full", "10.0.0.7", 6432}
	if v.Database.PrivateConnection != want {
		t.Errorf("private_connection = %+v, want %+v", v.Database.PrivateConnection, want)
	}
}

// TestNodeTokenScope: through the DigitalOcean API a node token reads its
// own instance's CA and nothing else: listing is 403, another instance is
// the same 404 as one that does not exist, changes are 403 whatever they
// name, in DO's shape.
func TestNodeTokenScope(t *testing.T) {
	e := newEnv(t, 1000)
	own := e.createCluster(t, "orders")
	other := e.createCluster(t, "billing")
	_, node, err := e.svc.CreateNodeToken(context.Background(), dbtrust.Operator(e.acct.ID), own, "orders-1")
	if err != nil {
		t.Fatal(err)
	}
	missing := "9cc10173-e9ea-4176-9dbc-a4cee4c4ff30"
	tests := []struct {
		method, path string
		want         int
		id           string
	}{
		{"GET", "/v2/databases/" + own + "/ca", 200, ""},
		{"GET", "/v2/databases/" + other + "/ca", 404, "not_found"},
		{"GET", "/v2/databases/" + other, 404, "not_found"},
		{"GET", "/v2/databases", 403, "forbidden"},
		{"DELETE", "/v2/databases/" + own, 403, "forbidden"},
		{"DELETE", "/v2/databases/" + other, 403, "forbidden"}, // refused before any lookup: tells nothing
		{"DELETE", "/v2/databases/" + missing, 403, "forbidden"},
	}
	for _, tt := range tests {
		r := e.do(t, tt.method, tt.path, node, nil)
		validate(t, r)
		var body struct {
			ID string `json:"id"`
		}
		json.Unmarshal(r.body, &body)
		if r.status != tt.want || body.ID != tt.id {
			t.Errorf("%s %s as a node token = %d %s, want %d %q", tt.method, tt.path, r.status, r.body, tt.want, tt.id)
		}
	}
	foreign := e.do(t, "GET", "/v2/databases/"+other+"/ca", node, nil)
	absent := e.do(t, "GET", "/v2/databases/"+missing+"/ca", node, nil)
	if foreign.status != absent.status || len(foreign.body) != len(absent.body) {
		t.Errorf("another instance (%d %s) and a missing one (%d %s) read differently", foreign.status, foreign.body, absent.status, absent.body)
	}
}

// TestCreateWithServiceNames: custom host names sent in the create body
// (godo's DatabaseCreateRequest.DOSettings) become endpoints of the new
// cluster, so its certificates name them; a bad name creates nothing.
func TestCreateWithServiceNames(t *testing.T) {
	e := newEnv(t, 1000)
	body := `{"name":"orders","engine":"pg","size":"db-s-1vcpu-1gb","region":"nyc1","num_nodes":1,"do_settings":{"service_cnames":["db.example.com"]}}`
	r := e.do(t, "POST", "/v2/databases", e.token, []byte(body))
	validate(t, r)
	var v struct {
		Database struct {
			ID         string `json:"id"`
			DOSettings struct {
				ServiceCnames []string `json:"service_cnames"`
			} `json:"do_settings"`
			Connection struct {
				Host string `json:"host"`
			} `json:"connection"`
		} `json:"database"`
	}
	if err := json.Unmarshal(r.body, &v); err != nil || r.status != 201 {
		t.Fatalf("create with service_cnames = %d %s", r.status, r.body)
	}
	if len(v.Database.DOSettings.ServiceCnames) != 1 || v.Database.DOSettings.ServiceCnames[0] != "db.example.com" || !strings.HasPrefix(v.Database.Connection.Host, "orders-") {
		t.Fatalf("created cluster: do_settings %v, connection host %q; want the name kept and the generated host as the connection", v.Database.DOSettings.ServiceCnames, v.Database.Connection.Host)
	}
	c, err := e.svc.IssueCertificate(context.Background(), dbtrust.Operator(e.acct.ID), v.Database.ID, dbtrust.IssueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := pki.ParseCertsPEM(c.CertPEM)
	for _, h := range []string{"db.example.com", v.Database.Connection.Host} {
		if err := leaf[0].VerifyHostname(h); err != nil {
			t.Errorf("certificate of the new cluster: VerifyHostname(%q) = %v", h, err)
		}
	}

	bad := strings.Replace(strings.Replace(body, "db.example.com", "10.0.0.1", 1), `"orders"`, `"billing"`, 1)
	r = e.do(t, "POST", "/v2/databases", e.token, []byte(bad))
	validate(t, r)
	if r.status/100 != 4 {
		t.Fatalf("create with an IP as a service name = %d %s, want a 4xx", r.status, r.body)
	}
	if list, _ := e.svc.ListInstances(context.Background(), dbtrust.Operator(e.acct.ID), ""); len(list) != 1 {
		t.Fatalf("a refused create left %d clusters, want 1", len(list))
	}
}
