package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust/client"
	"github.com/dbtrust/dbtrust/internal/pgtest"
	_ "github.com/jackc/pgx/v5/stdlib"
)

// buildBinary builds the dbtrust command into a temporary folder.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "dbtrust")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// process is a dbtrust command running as a process of its own.
type process struct {
	cmd       *exec.Cmd
	out, logs syncBuffer
	exited    chan error
}

// startBin runs 'BIN ARGS' as a process of its own; it is killed when the
// test ends if it still runs.
func startBin(t *testing.T, bin string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin, args...), exited: make(chan error, 1)}
	p.cmd.Env = []string{"HOME=" + t.TempDir()}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() { p.cmd.Process.Kill() })
	return p
}

// signal sends sig and waits until the log holds one more wantLog line.
func (p *process) signal(t *testing.T, sig os.Signal, wantLog string) {
	t.Helper()
	before := strings.Count(p.logs.String(), wantLog)
	p.cmd.Process.Signal(sig)
	for deadline := time.Now().Add(10 * time.Second); strings.Count(p.logs.String(), wantLog) == before; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log after %v:\n%s", wantLog, sig, p.logs.String())
		}
	}
}

// stop interrupts the process and reports how it exited.
func (p *process) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-p.exited:
		if err != nil {
			t.Errorf("dbtrust exited with %v after an interrupt, want 0\n%s", err, p.logs.String())
		}
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		t.Errorf("dbtrust did not stop on interrupt")
	}
}

// startProcess runs 'BIN serve ARGS' as a process of its own until the test
// ends, and returns its URL and first-start token.
func startProcess(t *testing.T, bin string, args ...string) (url, token string) {
	t.Helper()
	p := startBin(t, bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	t.Cleanup(func() { p.stop(t) })
	return waitServing(t, &p.out, p.exited)
}

// TestTwoProcesses runs two dbtrust processes on one PostgreSQL database,
// sharing a KEK file: what one creates the other serves, and 1,000 writes
// interleaved between them (plus names raced through both) leave exactly one
// record per acknowledged write.
func TestTwoProcesses(t *testing.T) {
	t.Parallel()
	pg := pgtest.FreshDB(t)
	bin := buildBinary(t)
	kek := filepath.Join(t.TempDir(), "kek")
	urlA, token := startProcess(t, bin, "--store", pg, "--kek-file", kek, "--data", t.TempDir())
	if token == "" {
		t.Fatal("the first replica printed no first-start token")
	}
	urlB, tokenB := startProcess(t, bin, "--store", pg, "--kek-file", kek, "--data", t.TempDir())
	if tokenB != "" {
		t.Fatal("the second replica bootstrapped a second account")
	}
	urls := []string{urlA, urlB}
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: time.Minute}

	create := func(url, name string) (int, string) {
		st, body := doRequest(t, hc, "POST", url+"/v2/databases", token,
			`{"name":"`+name+`","engine":"pg","num_nodes":1,"size":"db-s-1vcpu-1gb","region":"nyc1"}`)
		var r struct{ Database struct{ ID string } }
		json.Unmarshal(body, &r)
		if st != http.StatusCreated && st != http.StatusConflict {
			t.Errorf("create %s via %s = %d %s", name, url, st, body)
		}
		return st, r.Database.ID
	}

	// Create through A, read through B.
	st, id := create(urlA, "first")
	if st != http.StatusCreated {
		t.Fatalf("create via A = %d", st)
	}
	stA, caA := doRequest(t, hc, "GET", urlA+"/v2/databases/"+id+"/ca", token, "")
	stB, caB := doRequest(t, hc, "GET", urlB+"/v2/databases/"+id+"/ca", token, "")
	if stA != http.StatusOK || stB != http.StatusOK || !bytes.Equal(caA, caB) {
		t.Fatalf("GET ca via A = %d %s, via B = %d %s; want the same 200", stA, caA, stB, caB)
	}
	if st, body := doRequest(t, hc, "GET", urlB+"/v2/databases/"+id, token, ""); st != http.StatusOK {
		t.Fatalf("GET cluster via B = %d %s", st, body)
	}

	// 1,000 writes, alternating between the replicas, from 8 clients; and 50
	// names each sent to both replicas at once.
	const writes, raced = 1000, 50
	var mu sync.Mutex
	acked := map[string]string{"first": id}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				name := fmt.Sprintf("w-%04d", i)
				if st, id := create(urls[i%2], name); st == http.StatusCreated {
					mu.Lock()
					acked[name] = id
					mu.Unlock()
				}
			}
		}()
	}
	for i := range writes {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	for i := range raced {
		name := fmt.Sprintf("race-%02d", i)
		var sts [2]int
		var ids [2]string
		var rw sync.WaitGroup
		for r := range 2 {
			rw.Add(1)
			go func() { defer rw.Done(); sts[r], ids[r] = create(urls[r], name) }()
		}
		rw.Wait()
		switch {
		case sts[0] == http.StatusCreated && sts[1] == http.StatusConflict:
			acked[name] = ids[0]
		case sts[1] == http.StatusCreated && sts[0] == http.StatusConflict:
			acked[name] = ids[1]
		default:
			t.Errorf("%s raced through both replicas: %v, want one 201 and one 409", name, sts)
		}
	}
	if len(acked) != 1+writes+raced {
		t.Fatalf("%d creates acknowledged, want %d", len(acked), 1+writes+raced)
	}

	// Both replicas list exactly the acknowledged instances.
	for _, url := range urls {
		st, body := doRequest(t, hc, "GET", url+"/v2/databases", token, "")
		var list struct{ Databases []struct{ ID, Name string } }
		if st != http.StatusOK || json.Unmarshal(body, &list) != nil {
			t.Fatalf("list via %s = %d", url, st)
		}
		seen := map[string]bool{}
		for _, d := range list.Databases {
			if seen[d.Name] {
				t.Errorf("%s lists %s twice", url, d.Name)
			}
			seen[d.Name] = true
			if acked[d.Name] != d.ID {
				t.Errorf("%s lists %s as %s, acknowledged as %q", url, d.Name, d.ID, acked[d.Name])
			}
		}
		if len(list.Databases) != len(acked) {
			t.Errorf("%s lists %d instances, want %d", url, len(list.Databases), len(acked))
		}
	}
	// And the database holds one instance and one CA per acknowledged create.
	db, err := sql.Open("pgx", pg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var instances, names, cas, caInstances int
	err = db.QueryRowContext(context.Background(), `SELECT (SELECT COUNT(*) FROM instances), (SELECT COUNT(DISTINCT name) FROM instances),
		(SELECT COUNT(*) FROM cas), (SELECT COUNT(DISTINCT instance_id) FROM cas)`).Scan(&instances, &names, &cas, &caInstances)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(acked); instances != want || names != want || cas != want || caInstances != want {
		t.Fatalf("database holds %d instances (%d names), %d CAs (of %d instances); want %d of each", instances, names, cas, caInstances, want)
	}

	// A token made and then revoked with the CLI (a third client of the
	// database) stops working on both replicas, though both had it cached.
	var tok client.Token
	cliJSON(t, &tok, "token", "create", "--name", "ci", "--role", "viewer", "--store", pg, "--kek-file", kek, "--data", t.TempDir())
	for _, url := range urls {
		if st, body := doRequest(t, hc, "GET", url+"/v2/databases/"+id+"/ca", tok.Secret, ""); st != http.StatusOK {
			t.Fatalf("new token via %s = %d %s", url, st, body)
		}
	}
	cli(t, "token", "revoke", tok.ID, "--yes", "--store", pg, "--kek-file", kek, "--data", t.TempDir())
	for _, url := range urls {
		deadline := time.Now().Add(10 * time.Second)
		for {
			st, _ := doRequest(t, hc, "GET", url+"/v2/databases/"+id+"/ca", tok.Secret, "")
			if st == http.StatusUnauthorized {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("revoked token via %s = %d after 10s, want 401", url, st)
			}
			time.Sleep(time.Millisecond)
		}
	}
}
