package digitalocean_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/dbtrust/dbtrust"
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
