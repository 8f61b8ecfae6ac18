package main

import (
	"context"
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
	"github.com/dbtrust/dbtrust/internal/postgres"
	"github.com/dbtrust/dbtrust/internal/sqlite"
)

// TestCrashKeepsAuditEvents kills a serving dbtrust with SIGKILL while four
// clients create tokens, 20 times on each store: after every restart each
// acknowledged token has its token.create event and the audit chain
// verifies.
func TestCrashKeepsAuditEvents(t *testing.T) {
	bin := buildBinary(t)
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
			var token string
			acked, missing := 0, 0
			for round := range 20 {
				p := startBin(t, bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--rate-limit", "1000000"}, args...)...)
				url, tok := waitServing(t, &p.out, p.exited)
				if tok != "" {
					token = tok
				}
				ids := crashWrites(url, token, round, 300*time.Millisecond, func() { p.cmd.Process.Kill() })
				<-p.exited
				st, err := open()
				if err != nil {
					t.Fatal(err)
				}
				svc := dbtrust.NewService(st, nil, dbtrust.Options{})
				rep, err := svc.VerifyAudit(context.Background())
				if err != nil || rep.Broken != nil {
					t.Fatalf("round %d: VerifyAudit = %+v (%+v), %v", round, rep, rep.Broken, err)
				}
				for _, id := range ids {
					ev, err := svc.ListAuditEvents(context.Background(), dbtrust.AuditFilter{Action: "token.create", Resource: "token/" + id})
					if err != nil {
						t.Fatal(err)
					}
					if len(ev) != 1 {
						missing++
					}
				}
				acked += len(ids)
				st.Close()
			}
			t.Logf("%s: 20 kill -9 rounds, %d token creations acknowledged, %d audit events missing", backend, acked, missing)
			if missing != 0 || acked == 0 {
				t.Fatalf("%d of %d acknowledged changes have no audit event", missing, acked)
			}
		})
	}
}

// crashWrites creates tokens from four clients, calls kill after d while
// they write, and returns the IDs of those acknowledged (201); requests cut
// by the kill are not.
func crashWrites(url, token string, round int, d time.Duration, kill func()) []string {
	var mu sync.Mutex
	var ids []string
	var wg sync.WaitGroup
	stop := time.Now().Add(d + 5*time.Second) // the kill ends the writes well before
	client := &http.Client{Timeout: 10 * time.Second}
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; time.Now().Before(stop); n++ {
				body := fmt.Sprintf(`{"name":"r%d-g%d-%d","role":"viewer"}`, round, g, n)
				req, _ := http.NewRequest("POST", url+"/v1/tokens", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := client.Do(req)
				if err != nil {
					return
				}
				var tok struct{ ID string }
				if resp.StatusCode == http.StatusCreated && json.NewDecoder(resp.Body).Decode(&tok) == nil {
					mu.Lock()
					ids = append(ids, tok.ID)
					mu.Unlock()
				}
				resp.Body.Close()
			}
		}()
	}
	time.Sleep(d)
	kill()
	wg.Wait()
	return ids
}
