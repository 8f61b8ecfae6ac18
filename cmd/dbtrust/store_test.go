package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/client"
	"github.com/dbtrust/dbtrust/clustersettings"
	"github.com/dbtrust/dbtrust/credential"
	"github.com/dbtrust/dbtrust/internal/pgtest"
	"github.com/dbtrust/dbtrust/internal/pki"
	"github.com/dbtrust/dbtrust/internal/postgres"
	"github.com/dbtrust/dbtrust/internal/seal"
	"github.com/dbtrust/dbtrust/internal/selftls"
	"github.com/dbtrust/dbtrust/internal/sqlite"
	"github.com/dbtrust/dbtrust/internal/webhook"
	"github.com/dbtrust/dbtrust/trustcert"
)

func TestMigrate(t *testing.T) {
	t.Parallel()
	pg := pgtest.FreshDB(t)
	data := t.TempDir()

	// serve --migrate=false refuses a schema that is not current.
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"dbtrust", "serve", "--migrate=false", "--store", pg, "--data", data, "--addr", "127.0.0.1:0"}, noEnv, nil, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "dbtrust migrate") {
		t.Fatalf("serve --migrate=false on an empty database: %v, want a request to run 'dbtrust migrate'", err)
	}

	var first, second migrateOut
	cliJSON(t, &first, "migrate", "--store", pg, "--data", data)
	if len(first.Applied) == 0 || first.Applied[0] != 1 || first.Version != first.Applied[len(first.Applied)-1] {
		t.Fatalf("first migrate = %+v, want versions from 1 up to the current one", first)
	}
	cliJSON(t, &second, "migrate", "--store", pg, "--data", data)
	if len(second.Applied) != 0 || second.Version != first.Version {
		t.Fatalf("second migrate = %+v, want nothing applied at version %d", second, first.Version)
	}
	// Now serve starts without migrating.
	url, token := serveInProcess(t, "--migrate=false", "--store", pg, "--data", data)
	if token == "" {
		t.Fatalf("serve on a migrated, empty database printed no first token")
	}
	if status, body := doRequest(t, http.DefaultClient, "GET", url+"/v2/databases", token, ""); status != http.StatusOK {
		t.Fatalf("GET /v2/databases = %d %s", status, body)
	}
}

// TestStoreCopy moves an embedded SQLite deployment into PostgreSQL and
// serves it from there: every row of every table arrives unchanged, the CA
// bundle is the same, and the moved CA keys still open and sign.
func TestStoreCopy(t *testing.T) {
	t.Parallel()
	pg := pgtest.FreshDB(t)
	data := t.TempDir()
	dbPath := filepath.Join(data, "dbtrust.db")
	kek := filepath.Join(data, "kek")

	// An SQLite deployment with a bit of everything.
	var acme, beta accountOut
	cliJSON(t, &acme, "account", "create", "acme", "--data", data)
	cliJSON(t, &beta, "account", "create", "beta", "--data", data)
	var tok, revoked client.Token
	cliJSON(t, &tok, "token", "create", "--account", "acme", "--name", "ci", "--role", "admin", "--data", data)
	cliJSON(t, &revoked, "token", "create", "--account", "acme", "--name", "old", "--data", data)
	cli(t, "token", "revoke", revoked.ID, "--yes", "--account", "acme", "--data", data)
	var instances []instanceOut
	for i, spec := range [][]string{
		{"--name", "orders", "--engine", "pg", "--tag", "prod"},
		{"--name", "cache", "--engine", "redis", "--ca-key-type", "rsa-2048"},
		{"--name", "gone", "--engine", "mysql"},
		{"--name", "events", "--engine", "mongodb", "--no-tls", "--account", "beta"},
	} {
		if !slices.Contains(spec, "--account") {
			spec = append(spec, "--account", "acme")
		}
		var inst instanceOut
		cliJSON(t, &inst, append([]string{"instance", "create", "--data", data}, spec...)...)
		if i != 2 {
			instances = append(instances, inst)
		} else {
			cli(t, "instance", "delete", inst.ID, "--yes", "--account", "acme", "--data", data)
		}
	}
	orders, cache := instances[0], instances[1]
	var ak map[string]any
	cliJSON(t, &ak, "accesskey", "create", "--account", "acme", "--name", "sdk", "--data", data)

	// What the other features keep: issued certificates, a finished CA
	// rotation, a rotation policy, cluster settings, Astra certificates and
	// credentials.
	func() {
		ctx := context.Background()
		key, _, err := seal.LoadOrCreateKeyFile(kek)
		if err != nil {
			t.Fatal(err)
		}
		sealer, err := seal.New(key)
		if err != nil {
			t.Fatal(err)
		}
		store, err := sqlite.Open(ctx, dbPath)
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		svc := dbtrust.NewService(store, sealer, dbtrust.Options{})
		p := dbtrust.Operator(acme.ID)
		if _, err := svc.IssueCertificate(ctx, p, orders.ID, dbtrust.IssueRequest{CommonName: "node-0.orders.example", DNSNames: []string{"node-0.orders.example"}}); err != nil {
			t.Fatal(err)
		}
		// A webhook, so that the rotation below writes an outbox event and a
		// delivery; one attempt at it, to a real receiver.
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		defer hook.Close()
		if _, _, err := svc.CreateWebhook(ctx, p, dbtrust.WebhookSpec{URL: hook.URL}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.RotateStart(ctx, p, cache.ID, ""); err != nil {
			t.Fatal(err)
		}
		if n, err := svc.DeliverWebhooks(ctx, webhook.New(), 10); err != nil || n != 1 {
			t.Fatalf("DeliverWebhooks = %d, %v; want the rotation's event", n, err)
		}
		if _, err := svc.InstanceCABundle(ctx, p, cache.ID); err != nil { // a client holding the bundle
			t.Fatal(err)
		}
		if err := svc.FlushAdoptions(ctx); err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.RotateFinish(ctx, p, cache.ID, false); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.SetRotationPolicy(ctx, p, orders.ID, dbtrust.RotationPolicySpec{Enabled: true}); err != nil {
			t.Fatal(err)
		}
		settings := clustersettings.New(svc, store)
		if _, err := settings.SetFirewallRules(ctx, p, orders.ID, []clustersettings.FirewallRule{{Type: "ip_addr", Value: "192.0.2.0/24"}}); err != nil {
			t.Fatal(err)
		}
		if err := settings.SetStorageAutoscale(ctx, p, orders.ID, clustersettings.StorageAutoscale{Enabled: true}); err != nil { // a boolean column on both stores
			t.Fatal(err)
		}
		cas, err := svc.InstanceCAs(ctx, p, orders.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := trustcert.New(svc, store).Create(ctx, p, trustcert.Input{Version: "1.1", CertPEM: cas[0].CertPEM}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.SignLink(ctx, []byte("link")); err != nil { // the link signing key
			t.Fatal(err)
		}
		if _, err := selftls.Open(ctx, selftls.Config{Store: store, Dir: t.TempDir(), Sealer: sealer}); err != nil { // serve --https
			t.Fatal(err)
		}
		name := "s3-backup"
		if _, err := credential.New(svc, store).Create(ctx, p, credential.Input{Version: "1.1", Name: &name, KeyType: "s3",
			KeyStore: map[string][]byte{"accessKey": []byte("AKIA0000"), "accessSecret": []byte("very-secret")}}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.SignIn(ctx, acme.Token, 0); err != nil { // a console session
			t.Fatal(err)
		}
	}()

	// The bundles as the SQLite deployment serves them.
	url, _ := serveInProcess(t, "--data", data)
	status, before := doRequest(t, http.DefaultClient, "GET", url+"/v2/databases/"+orders.ID+"/ca", acme.Token, "")
	if status != http.StatusOK {
		t.Fatalf("GET ca from SQLite = %d %s", status, before)
	}
	status, rotatedBefore := doRequest(t, http.DefaultClient, "GET", url+"/v2/databases/"+cache.ID+"/ca", acme.Token, "")
	if status != http.StatusOK {
		t.Fatalf("GET ca of the rotated instance from SQLite = %d %s", status, rotatedBefore)
	}

	// Copy. A second copy into the now non-empty target is refused unless forced.
	var res copyOut
	cliJSON(t, &res, "store", "copy", "--from", dbPath, "--to", pg, "--data", data)
	// Every table of the schema had rows to copy, whichever feature added it.
	for _, c := range res.Tables {
		if c.Rows == 0 {
			t.Errorf("copy reported no rows for table %s (%+v): give the test data for it", c.Table, res.Tables)
		}
	}
	if len(res.Tables) < 5 {
		t.Errorf("copy reported %+v, want every table", res.Tables)
	}
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"dbtrust", "store", "copy", "--from", dbPath, "--to", pg, "--data", data}, noEnv, nil, &out, &errOut)
	if dbtrust.ErrorCode(err) != dbtrust.Conflict {
		t.Fatalf("copy into a non-empty target: %v, want Code %s", err, dbtrust.Conflict)
	}
	var forced copyOut
	cliJSON(t, &forced, "store", "copy", "--from", dbPath, "--to", pg, "--data", data, "--force")
	if forced.Rows != res.Rows {
		t.Fatalf("forced copy moved %d rows, first copy %d", forced.Rows, res.Rows)
	}

	// Every table, row for row and byte for byte.
	compareStores(t, dbPath, pg)

	// And the way back, into a new SQLite file.
	back := filepath.Join(t.TempDir(), "back.db")
	var returned copyOut
	cliJSON(t, &returned, "store", "copy", "--from", pg, "--to", back, "--data", data)
	if returned.Rows != res.Rows {
		t.Fatalf("copy back moved %d rows, want %d", returned.Rows, res.Rows)
	}
	compareStores(t, back, pg)

	// Serve from PostgreSQL with the same KEK and a data folder of its own.
	pgURL, token := serveInProcess(t, "--store", pg, "--kek-file", kek, "--data", t.TempDir())
	if token != "" {
		t.Fatalf("serve on the copied store bootstrapped a new account")
	}
	status, after := doRequest(t, http.DefaultClient, "GET", pgURL+"/v2/databases/"+orders.ID+"/ca", acme.Token, "")
	if status != http.StatusOK || !bytes.Equal(after, before) {
		t.Fatalf("GET ca from PostgreSQL = %d %s, want 200 %s", status, after, before)
	}
	status, rotatedAfter := doRequest(t, http.DefaultClient, "GET", pgURL+"/v2/databases/"+cache.ID+"/ca", acme.Token, "")
	if status != http.StatusOK || !bytes.Equal(rotatedAfter, rotatedBefore) {
		t.Fatalf("GET ca of the rotated instance from PostgreSQL = %d %s, want 200 %s", status, rotatedAfter, rotatedBefore)
	}
	status, body := doRequest(t, http.DefaultClient, "GET", pgURL+"/v2/databases", revoked.Secret, "")
	if status != http.StatusUnauthorized {
		t.Fatalf("revoked token on the copied store = %d %s, want 401", status, body)
	}

	// The CA key opens after the move: issue from it and verify the chain
	// against the bundle fetched before the move.
	var ca struct {
		CA struct {
			Certificate []byte `json:"certificate"`
		} `json:"ca"`
	}
	if err := json.Unmarshal(before, &ca); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca.CA.Certificate) {
		t.Fatalf("bundle has no certificate: %q", ca.CA.Certificate)
	}
	key, _, err := seal.LoadOrCreateKeyFile(kek)
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := seal.New(key)
	if err != nil {
		t.Fatal(err)
	}
	store, err := postgres.Open(context.Background(), pg)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	svc := dbtrust.NewService(store, sealer, dbtrust.Options{})
	host := "node-1.orders.example"
	cert, err := svc.IssueCertificate(context.Background(), dbtrust.Operator(acme.ID), orders.ID, dbtrust.IssueRequest{CommonName: host, DNSNames: []string{host}})
	if err != nil {
		t.Fatalf("IssueCertificate from the copied CA: %v", err)
	}
	leaf := parseCert(t, cert.CertPEM)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: host, CurrentTime: time.Now()}); err != nil {
		t.Fatalf("certificate issued after the move does not verify against the bundle from before: %v", err)
	}
	// New audit rows follow the copied ones (the identity sequence moved past them).
	events, err := svc.Audit(context.Background(), dbtrust.Operator(acme.ID), dbtrust.AuditFilter{Limit: 1})
	if err != nil || len(events) != 1 || events[0].Action != "certificate.issue" {
		t.Fatalf("Audit after the move = %+v, %v; want the certificate.issue event first", events, err)
	}
	// The audit chain moved whole and goes on from where it was.
	if rep, err := svc.VerifyAudit(context.Background()); err != nil || rep.Broken != nil || rep.Events < 2 {
		t.Fatalf("VerifyAudit after the move = %+v, %v; want an intact chain", rep, err)
	}
}

func parseCert(t *testing.T, pemBytes []byte) *x509.Certificate {
	t.Helper()
	certs, err := pki.ParseCertsPEM(pemBytes)
	if err != nil {
		t.Fatalf("parse certificate: %v", err)
	}
	return certs[0]
}

// compareStores checks that every table of the SQLite file at path holds the
// same rows as the PostgreSQL database at pg, comparing values as the copy
// carries them (SQLite's 0/1 booleans as PostgreSQL booleans, bytes as bytes).
func compareStores(t *testing.T, path, pg string) {
	t.Helper()
	ctx := context.Background()
	src, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	tables, err := sqlite.Backend().Schema(ctx, src.SQL())
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		if table.Name == "goose_db_version" || table.Name == "rate_windows" || table.Name == "change_log" { // not copied
			continue
		}
		var cols []string
		for _, c := range table.Columns {
			cols = append(cols, `"`+c.Name+`"`)
		}
		q := `SELECT ` + strings.Join(cols, ", ") + ` FROM "` + table.Name + `"`
		a, b := dumpRows(t, src.SQL(), q), dumpRows(t, dst.DB.SQL(), q)
		if !slices.Equal(a, b) {
			t.Errorf("table %s differs after the copy:\nsqlite:   %q\npostgres: %q", table.Name, a, b)
		}
	}
}

func dumpRows(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, v := range vals {
			switch x := v.(type) {
			case []byte:
				parts = append(parts, "x"+hex.EncodeToString(x))
			case bool:
				parts = append(parts, map[bool]string{false: "0", true: "1"}[x])
			default:
				parts = append(parts, fmt.Sprint(x))
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	slices.Sort(out)
	return out
}
