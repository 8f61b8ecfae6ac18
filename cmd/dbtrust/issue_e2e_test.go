package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust"
	"github.com/dbtrust/dbtrust/internal/pgtest"
	"github.com/dbtrust/dbtrust/internal/pki"
	"github.com/dbtrust/dbtrust/internal/postgres"
	"github.com/dbtrust/dbtrust/internal/sqlite"
)

// issueBackends runs fn with a serving dbtrust's arguments and a way to
// open its store, on SQLite and on PostgreSQL.
func issueBackends(t *testing.T, fn func(t *testing.T, args []string, open func() (dbtrust.Store, error))) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			data := t.TempDir()
			args := []string{"--data", data}
			open := func() (dbtrust.Store, error) {
				return sqlite.Open(context.Background(), filepath.Join(data, "dbtrust.db"))
			}
			if backend == "postgres" {
				url := pgtest.FreshDB(t)
				args = append(args, "--store", url)
				open = func() (dbtrust.Store, error) { return postgres.Open(context.Background(), url) }
			}
			fn(t, args, open)
		})
	}
}

// issued is the part of an issuance answer the tests look at.
type issued struct {
	Serial         string `json:"serial"`
	CAID           string `json:"ca_id"`
	CertificatePEM string `json:"certificate_pem"`
	PrivateKeyPEM  string `json:"private_key_pem"`
	CAPEM          string `json:"ca_pem"`
}

func newTestInstance(t *testing.T, c *http.Client, url, token, name string) string {
	t.Helper()
	st, body := doRequest(t, c, "POST", url+"/v1/instances", token, `{"name":"`+name+`","engine":"pg"}`)
	var inst struct{ ID string }
	if st != http.StatusCreated || json.Unmarshal(body, &inst) != nil {
		t.Fatalf("POST /v1/instances = %d %s", st, body)
	}
	return inst.ID
}

// checkIssued verifies each answered certificate against the CA it names
// with crypto/x509, and, in the store, its record and its one audit event
// and the whole audit chain.
func checkIssued(t *testing.T, st dbtrust.Store, accountOf func(string) string, certs []issued) {
	t.Helper()
	ctx := context.Background()
	svc := dbtrust.NewService(st, nil, dbtrust.Options{})
	if rep, err := svc.VerifyAudit(ctx); err != nil || rep.Broken != nil {
		t.Fatalf("VerifyAudit = %+v (%+v), %v", rep, rep.Broken, err)
	}
	for _, c := range certs {
		leaf, err := pki.ParseCertsPEM([]byte(c.CertificatePEM))
		if err != nil {
			t.Fatalf("certificate %s: %v", c.Serial, err)
		}
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM([]byte(c.CAPEM))
		if _, err := leaf[0].Verify(x509.VerifyOptions{Roots: roots, DNSName: leaf[0].DNSNames[0]}); err != nil {
			t.Errorf("certificate %s does not verify against its CA %s: %v", c.Serial, c.CAID, err)
		}
		rec, err := st.GetIssuedCert(ctx, accountOf(c.Serial), c.Serial)
		if err != nil || rec.CAID != c.CAID || string(rec.CertPEM) != c.CertificatePEM {
			t.Errorf("answered certificate %s: in the store %+v, %v", c.Serial, rec.CAID, err)
			continue
		}
		ev, err := svc.ListAuditEvents(ctx, dbtrust.AuditFilter{Action: "certificate.issue", Resource: "instance/" + rec.InstanceID + "/certificate/" + c.Serial})
		if err != nil || len(ev) != 1 {
			t.Errorf("answered certificate %s: %d audit events (%v), want 1", c.Serial, len(ev), err)
		}
	}
}

// TestConcurrentIssuanceHTTP issues certificates from 50 concurrent clients
// through a real server, with requests that must fail mixed in: a bad name,
// a revoked token, an instance deleted while the others issue. Every
// answered certificate verifies against its CA and has its record and its
// audit event; the chain verifies; each failing request gets its own
// answer and fails none of the others.
func TestConcurrentIssuanceHTTP(t *testing.T) {
	bin := buildBinary(t)
	issueBackends(t, func(t *testing.T, args []string, open func() (dbtrust.Store, error)) {
		p := startBin(t, bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--rate-limit", "1000000"}, args...)...)
		url, owner := waitServing(t, &p.out, p.exited)
		c := &http.Client{Timeout: 30 * time.Second}
		inst := newTestInstance(t, c, url, owner, "issuing")
		doomed := newTestInstance(t, c, url, owner, "doomed")
		st, body := doRequest(t, c, "POST", url+"/v1/tokens", owner, `{"name":"revoked","role":"member"}`)
		var tok struct{ ID, Token string }
		if st != http.StatusCreated || json.Unmarshal(body, &tok) != nil {
			t.Fatalf("POST /v1/tokens = %d %s", st, body)
		}
		if st, body := doRequest(t, c, "DELETE", url+"/v1/tokens/"+tok.ID, owner, ""); st/100 != 2 {
			t.Fatalf("DELETE /v1/tokens/%s = %d %s", tok.ID, st, body)
		}

		const n = 50
		var mu sync.Mutex
		var good []issued
		var doomedOK int
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id, token, want := inst, owner, http.StatusCreated
				body := fmt.Sprintf(`{"dns_names":["node-%d.example"],"key_type":"ecdsa-p256"}`, i)
				switch {
				case i == 25:
					if st, b := doRequest(t, c, "DELETE", url+"/v1/instances/"+doomed, owner, ""); st/100 != 2 {
						t.Errorf("DELETE /v1/instances/%s = %d %s", doomed, st, b)
					}
					return
				case i%10 == 3:
					body, want = `{"dns_names":["not a name"]}`, http.StatusBadRequest
				case i%10 == 5:
					token, want = tok.Token, http.StatusUnauthorized
				case i%10 == 7:
					id, want = doomed, 0 // created or not found, as the deletion falls
				}
				st, b := doRequest(t, c, "POST", url+"/v1/instances/"+id+"/certificates", token, body)
				switch {
				case want == 0 && (st == http.StatusCreated || st == http.StatusNotFound):
					if st == http.StatusCreated {
						mu.Lock()
						doomedOK++
						mu.Unlock()
					}
				case st != want:
					t.Errorf("request %d: POST .../certificates = %d %s, want %d", i, st, b, want)
				case st == http.StatusCreated:
					var ic issued
					if err := json.Unmarshal(b, &ic); err != nil || ic.PrivateKeyPEM == "" {
						t.Errorf("request %d: answer %s: %v", i, b, err)
					}
					mu.Lock()
					good = append(good, ic)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(good) != 35 { // 50 less 5 bad names, 4 revoked, 5 to the doomed instance and the deletion
			t.Errorf("%d certificates issued for the live instance, want 35", len(good))
		}
		p.stop(t)
		s, err := open()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		acct := accountOfInstance(t, s, inst)
		checkIssued(t, s, func(string) string { return acct }, good)
		t.Logf("%d issued, %d issued for the deleted instance before its deletion", len(good), doomedOK)
	})
}

// accountOfInstance finds the account that owns instance id.
func accountOfInstance(t *testing.T, s dbtrust.Store, id string) string {
	t.Helper()
	accts, err := s.ListAccounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range accts {
		if _, err := s.GetInstance(context.Background(), a.ID, id); err == nil {
			return a.ID
		}
	}
	t.Fatalf("no account owns instance %s", id)
	return ""
}

// TestCrashKeepsIssuedCertificates kills a serving dbtrust with SIGKILL
// while eight clients issue certificates, 5 times on each store: after
// every restart each answered certificate is in the store with its audit
// event, and the audit chain verifies.
func TestCrashKeepsIssuedCertificates(t *testing.T) {
	bin := buildBinary(t)
	issueBackends(t, func(t *testing.T, args []string, open func() (dbtrust.Store, error)) {
		var token, inst, acct string
		var all []issued
		for round := range 5 {
			p := startBin(t, bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--rate-limit", "1000000"}, args...)...)
			url, tok := waitServing(t, &p.out, p.exited)
			if tok != "" {
				token = tok
				inst = newTestInstance(t, &http.Client{}, url, token, "crash")
			}
			got := crashIssues(url, token, inst, 400*time.Millisecond, func() { p.cmd.Process.Kill() })
			<-p.exited
			s, err := open()
			if err != nil {
				t.Fatal(err)
			}
			if acct == "" {
				acct = accountOfInstance(t, s, inst)
			}
			checkIssued(t, s, func(string) string { return acct }, got)
			s.Close()
			all = append(all, got...)
			t.Logf("round %d: %d certificates answered before the kill", round, len(got))
		}
		if len(all) == 0 {
			t.Fatal("no certificate was answered in any round")
		}
	})
}

// crashIssues issues certificates from eight clients, calls kill after d,
// and returns those answered (201); requests cut by the kill are not.
func crashIssues(url, token, inst string, d time.Duration, kill func()) []issued {
	time.AfterFunc(d, kill)
	return issueUntil(url, token, inst, time.Now().Add(d+5*time.Second)) // the kill ends the requests well before
}

// issueUntil issues certificates from eight clients until the time given
// (or until the server stops answering) and returns those answered (201).
func issueUntil(url, token, inst string, stop time.Time) []issued {
	var mu sync.Mutex
	var out []issued
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				req, _ := http.NewRequest("POST", url+"/v1/instances/"+inst+"/certificates", strings.NewReader(`{"dns_names":["node.example"]}`))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					return
				}
				var c issued
				if resp.StatusCode == http.StatusCreated && json.NewDecoder(resp.Body).Decode(&c) == nil {
					mu.Lock()
					out = append(out, c)
					mu.Unlock()
				}
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	return out
}

// TestIssuanceTwoReplicas issues certificates through two replicas on one
// PostgreSQL database at once, each writing its own batches: every answered
// certificate is recorded with its event, and the one audit chain they
// share verifies.
func TestIssuanceTwoReplicas(t *testing.T) {
	bin := buildBinary(t)
	dbURL := pgtest.FreshDB(t)
	kek := filepath.Join(t.TempDir(), "kek")
	var urls [2]string
	var token string
	for i := range urls {
		url, tok := startProcess(t, bin, "--rate-limit", "1000000", "--data", t.TempDir(), "--store", dbURL, "--kek-file", kek)
		urls[i] = url
		if tok != "" {
			token = tok
		}
	}
	inst := newTestInstance(t, &http.Client{}, urls[0], token, "replicated")
	var mu sync.Mutex
	var got []issued
	var wg sync.WaitGroup
	for _, url := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := issueUntil(url, token, inst, time.Now().Add(time.Second))
			mu.Lock()
			got = append(got, c...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	s, err := postgres.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	acct := accountOfInstance(t, s, inst)
	checkIssued(t, s, func(string) string { return acct }, got)
	t.Logf("%d certificates issued through two replicas", len(got))
}
