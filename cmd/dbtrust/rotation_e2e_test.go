package main

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbtrust/dbtrust/internal/kek"
	"github.com/dbtrust/dbtrust/internal/seal"
)

// loadResult counts a load run's requests.
type loadResult struct {
	fetches, issues, failed atomic.Int64
	mu                      sync.Mutex
	firstFailure            string
}

func (r *loadResult) fail(what string, status int, body []byte) {
	if r.failed.Add(1) == 1 {
		r.mu.Lock()
		r.firstFailure = fmt.Sprintf("%s = %d %s", what, status, body)
		r.mu.Unlock()
	}
}

// runLoad fetches CAs (the DigitalOcean API) and issues certificates (the
// native API) from several clients until stop is closed.
func runLoad(t *testing.T, url, token string, ids []string, stop <-chan struct{}) *loadResult {
	t.Helper()
	res := &loadResult{}
	client := &http.Client{Timeout: time.Minute}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := ids[i%len(ids)]
				if i%3 == 0 {
					st, body := doRequest(t, client, "POST", url+"/v1/instances/"+id+"/certificates", token, `{"common_name":"node.example.test"}`)
					if st != http.StatusCreated && st != http.StatusOK {
						res.fail("issue on "+id, st, body)
					}
					res.issues.Add(1)
					continue
				}
				st, body := doRequest(t, client, "GET", url+"/v2/databases/"+id+"/ca", token, "")
				if st != http.StatusOK {
					res.fail("GET ca of "+id, st, body)
				}
				res.fetches.Add(1)
			}
		}()
	}
	t.Cleanup(wg.Wait)
	return res
}

// keyStatus runs 'kek status -o json'.
func keyStatus(t *testing.T, data string, args ...string) statusOut {
	t.Helper()
	var st statusOut
	cliJSON(t, &st, append([]string{"kek", "status", "--data", data}, args...)...)
	return st
}

// TestKEKRotationUnderLoad rotates the KEK of a store that a server is
// serving, under concurrent CA fetches and issuance: the rotation process is
// killed halfway once and run again, no request fails, and afterwards the old
// KEK opens nothing and a raw scan of the store finds no value under it.
func TestKEKRotationUnderLoad(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	data := t.TempDir()
	var acct accountOut
	cliJSON(t, &acct, "account", "create", "acme", "--data", data)
	var ids []string
	for i := range 30 {
		var inst struct{ ID string }
		cliJSON(t, &inst, "instance", "create", "--name", fmt.Sprintf("db-%02d", i), "--engine", "pg", "--account", "acme", "--data", data)
		ids = append(ids, inst.ID)
	}
	cli(t, "accesskey", "create", "--account", "acme", "--name", "sdk", "--data", data)
	oldRaw, _ := os.ReadFile(filepath.Join(data, "kek"))
	oldKey, _ := seal.DecodeKey(string(oldRaw))
	oldID := seal.KeyID(oldKey)

	// The first run makes the new key and stops, so that it can be handed
	// to every replica first.
	newFile := filepath.Join(t.TempDir(), "kek.next")
	if out := cli(t, "kek", "rotate", "--new-kek-file", newFile, "--data", data); !strings.Contains(out, "copy it to every replica") {
		t.Fatalf("kek rotate without a new key file = %q, want it to make one and stop", out)
	}
	newRaw, _ := os.ReadFile(newFile)
	newKey, _ := seal.DecodeKey(string(newRaw))
	newID := seal.KeyID(newKey)

	url, _ := serveInProcess(t, "--data", data, "--new-kek-file", newFile, "--rate-limit", "1000000")
	stop := make(chan struct{})
	load := runLoad(t, url, acct.Token, ids, stop)

	// The rotation, killed once after its first batches.
	p := startBin(t, bin, "kek", "rotate", "--data", data, "--new-kek-file", newFile, "--batch", "2", "--batch-pause", "50ms")
	for deadline := time.Now().Add(time.Minute); strings.Count(p.logs.String(), "re-sealed") < 3; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the rotation printed no progress:\n%s", p.logs.String())
		}
	}
	p.cmd.Process.Kill()
	<-p.exited
	half := keyStatus(t, data, "--new-kek-file", newFile)
	if half.SealedBy[oldID] == 0 || half.SealedBy[newID] == 0 || len(half.Keys) != 2 {
		t.Fatalf("after the kill: %+v, want values under both keys and both recorded", half)
	}
	t.Logf("killed halfway: %v", half.SealedBy)

	var res rotateOut
	cliJSON(t, &res, "kek", "rotate", "--data", data, "--new-kek-file", newFile, "--batch", "5")
	time.Sleep(200 * time.Millisecond) // load after the rotation's end too
	close(stop)
	fetches, issues := load.fetches.Load(), load.issues.Load()
	if load.failed.Load() != 0 || fetches == 0 || issues == 0 {
		t.Fatalf("under rotation: %d CA fetches, %d issuances, %d failed (first: %s), want none failed", fetches, issues, load.failed.Load(), load.firstFailure)
	}
	t.Logf("under rotation: %d CA fetches and %d issuances, none failed; resumed run: %+v", fetches, issues, res.Tables)

	// The replica's configuration now names the new key alone.
	after := keyStatus(t, data, "--kek-file", newFile)
	if len(after.Keys) != 1 || after.Keys[0].KeyID != newID || after.Keys[0].State != "current" || len(after.SealedBy) != 1 || after.SealedBy[newID] == 0 {
		t.Fatalf("after the rotation: %+v, want every value under %s, the only key recorded", after, newID)
	}
	if _, err := runCmd(data, nil, "instance", "list"); !errors.Is(err, kek.ErrMismatch) {
		t.Errorf("instance list with the old KEK after the rotation = %v, want ErrMismatch", err)
	}
	var issued struct{ Serial string }
	cliJSON(t, &issued, "cert", "issue", "db-00", "--key-out", filepath.Join(t.TempDir(), "db-00.key"), "--kek-file", newFile, "--account", "acme", "--data", data)
	if issued.Serial == "" {
		t.Error("cert issue under the new key alone gave no serial")
	}
	// Raw bytes: no value anywhere in the files names the old key.
	oldHeader, _ := hex.DecodeString("02" + oldID)
	for name, raw := range storeFiles(t, filepath.Join(data, "dbtrust.db")) {
		if bytes.Contains(raw, oldHeader) {
			t.Errorf("%s still holds a value sealed under the old key %s", name, oldID)
		}
	}
}

// storeFiles reads the SQLite file and its WAL, when there is one.
func storeFiles(t *testing.T, path string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(path + suffix)
		if err != nil && suffix == "" {
			t.Fatal(err)
		}
		out[filepath.Base(path+suffix)] = b
	}
	return out
}
