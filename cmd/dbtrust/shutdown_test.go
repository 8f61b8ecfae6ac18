package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io/fs"
	"net/http"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"testing"
	"time"
)

// serveLabel is the profiler label startServe runs serve under; every
// goroutine serve starts inherits it, so a test can tell serve's goroutines
// from those of the other servers running beside it.
const serveLabel = "dbtrust-serve"

// leftovers returns the stacks of the goroutines labelled id that are still
// in dbtrust's code: work serve started and did not wait for. The standard
// library's own goroutines (a closed connection's reader, database/sql's
// opener) end on their own and are not counted.
func leftovers(id string) []string {
	var b bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&b, 1); err != nil {
		return []string{"goroutine profile: " + err.Error()}
	}
	var left []string
	for _, rec := range strings.Split(b.String(), "\n\n") {
		if !strings.Contains(rec, `"`+serveLabel+`":"`+id+`"`) {
			continue
		}
		for _, line := range strings.Split(rec, "\n") {
			if strings.HasPrefix(line, "#\t0x") && strings.Contains(line, "github.com/dbtrust/dbtrust") && !strings.Contains(line, "_test.go:") {
				left = append(left, rec)
				break
			}
		}
	}
	return left
}

// TestServeStopWaitsForItsWork: with every background loop of serve kept
// busy (intervals of a millisecond), cancelling serve stops them all before
// run returns (stop checks that no goroutine of serve is left), and nothing
// writes into the data folder afterwards.
func TestServeStopWaitsForItsWork(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	probe := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	s := startServe(t, probe, nil, "serve", "--https", "--addr", "127.0.0.1:0", "--data", data,
		"--adoption-flush", "1ms", "--webhook-interval", "1ms", "--auto-rotate-interval", "1ms")
	if code := getJSON(t, probe, s.url+"/v2/databases", s.token, nil); code != http.StatusOK {
		t.Errorf("GET /v2/databases = %d, want 200", code)
	}
	time.Sleep(50 * time.Millisecond) // let the loops run a few rounds
	if err := s.stop(t); err != nil {
		t.Fatalf("serve stop = %v, want nil", err)
	}
	before := listing(t, data)
	time.Sleep(300 * time.Millisecond)
	if after := listing(t, data); after != before {
		t.Errorf("the data folder changed after serve returned:\nat return:\n%s\n300ms later:\n%s", before, after)
	}
}

// listing describes every file under dir: path, size and modification time.
func listing(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		fmt.Fprintf(&b, "%s %s %d %s\n", rel, info.Mode(), info.Size(), info.ModTime().Format(time.RFC3339Nano))
		return nil
	})
	if err != nil {
		t.Fatalf("list %s: %v", dir, err)
	}
	return b.String()
}
