package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer that a command writes while a test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var (
	servingRE = regexp.MustCompile(`serving on (\S+)`)
	tokenRE   = regexp.MustCompile(`token:\s+(dbt_\S+)`)
)

// waitServing waits until the serve output in out names its URL and the
// server answers /healthz, and returns the URL and the first-start token (""
// when the store already had an account).
func waitServing(t *testing.T, out *syncBuffer, exited <-chan error) (url, token string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Fatalf("serve exited before serving: %v\n%s", err, out.String())
		default:
		}
		if m := servingRE.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
			if resp, err := http.Get(url + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					if m := tokenRE.FindStringSubmatch(out.String()); m != nil {
						token = m[1]
					}
					return url, token
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("serve did not come up:\n%s", out.String())
	return "", ""
}

// serveInProcess runs 'dbtrust serve ARGS' in a goroutine until the test ends.
func serveInProcess(t *testing.T, args ...string) (url, token string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	exited := make(chan error, 1)
	go func() {
		exited <- run(ctx, append([]string{"dbtrust", "serve", "--addr", "127.0.0.1:0"}, args...), noEnv, nil, &out, &errOut)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-exited; err != nil {
			t.Errorf("serve: %v\n%s", err, errOut.String())
		}
	})
	return waitServing(t, &out, exited)
}

func noEnv(string) string { return "" }

// cli runs one dbtrust command and returns its standard output.
func cli(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), append([]string{"dbtrust"}, args...), noEnv, strings.NewReader(""), &out, &errOut); err != nil {
		t.Fatalf("dbtrust %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}

// cliJSON runs one dbtrust command with -o json and decodes its output.
func cliJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out := cli(t, append(args, "-o", "json")...)
	if err := decodeOutput(out, v, false); err != nil {
		t.Fatalf("dbtrust %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// decodeOutput decodes a command's JSON output into v. When v points to a
// slice, the output must be a list in the commands' one shape, an object
// with one member, the array of items: {"instances":[...]}.
func decodeOutput(out string, v any, strict bool) error {
	data := []byte(out)
	if reflect.TypeOf(v).Elem().Kind() == reflect.Slice {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(data, &obj); err != nil || len(obj) != 1 {
			return fmt.Errorf("a list is not an object with one member: %v", err)
		}
		for _, items := range obj {
			data = items
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if strict {
		dec.DisallowUnknownFields()
	}
	return dec.Decode(v)
}

// doRequest sends one request with a bearer token and returns status and body.
func doRequest(t testing.TB, c *http.Client, method, url, token string, body string) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
