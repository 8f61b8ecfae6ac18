package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for the tool when the tool starts
// its own helper processes (the ceiling, the raw crypto loop) through
// os.Executable.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && (os.Args[1] == "ceiling" || os.Args[1] == "rawcrypto") {
		if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestSmoke runs every scenario once, for a moment each, against a freshly
// built dbtrust: it checks that the tool works end to end and prints its
// table, not how fast anything is.
func TestSmoke(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "dbtrust")
	if out, err := exec.Command("go", "build", "-o", bin, "../dbtrust").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var stdout, stderr strings.Builder
	args := []string{"--dbtrust", bin, "--rounds", "1", "--duration", "100ms", "--conns", "2", "--issue-clients", "2", "--instances", "3", "--server-cpu", "-1",
		"--astra-credentials", "300", "--fleet", "2000"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, args, os.Getenv, nil, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{
		"| CA fetch, one hot instance, HTTP | dbtrust |", "| CA fetch, one hot instance, HTTP | bare handler |",
		"| instance creation (3, 8 clients) | dbtrust |", "| CA fetch, random among 3 instances, HTTP | dbtrust |",
		"| issuance, server-generated P-256 key, 2 clients | dbtrust |", "| CA fetch, one hot instance, HTTPS keep-alive | dbtrust |",
		"| Astra list, first page of 100, filter + count, of 300 | dbtrust |", "load average at start:",
		"| instance import (1000, batches of 1000, 2 clients) | dbtrust |", "| fleet: CA fetch, random among 2000, after a restart | dbtrust |",
		"fleet of 2000: start to ready",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("the output lacks %q:\n%s", want, stdout.String())
		}
	}
}

func TestConfigRejects(t *testing.T) {
	for _, args := range [][]string{
		{"--rounds", "0"}, {"--duration", "1ms"}, {"--conns", "0"}, {"--issue-clients", "1000"},
		{"--instances", "10,5"}, {"--instances", "x"}, {"--astra-credentials", "5"}, {"--fleet", "10"}, {"extra"},
	} {
		if _, err := parseConfig(args, os.Getenv, new(strings.Builder)); err == nil {
			t.Errorf("parseConfig(%q) accepted it", args)
		}
	}
}
