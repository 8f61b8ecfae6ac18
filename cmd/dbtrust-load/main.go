// Command dbtrust-load measures dbtrust end to end: it starts the real
// `dbtrust serve` on a fresh data folder (SQLite) and a bare net/http handler
// serving the same bytes (the ceiling), pins both to one core with taskset
// where it can, drives them over loopback sockets from this process, and
// prints requests/s, p50, p99 and the ratio to the ceiling, rounds
// interleaved so that both see the same machine. It is a measuring tool, not
// a test: scripts/bench.sh builds the release binary and runs it.
//
// The tool starts two helpers as processes of itself, pinned beside the
// server: `dbtrust-load ceiling` (the bare handler) and `dbtrust-load
// rawcrypto` (issuance's crypto with no server around it).
//
//	dbtrust-load --dbtrust dist/dbtrust --rounds 3 --duration 2s --instances 1000,10000
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dbtrust-load:", err)
		os.Exit(1)
	}
}

// run dispatches: the helper processes the tool starts of itself (the
// ceiling and the raw crypto loop, both pinned beside the server), or a
// whole measurement.
func run(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "ceiling":
			return runCeiling(ctx, args[1:], stdout)
		case "rawcrypto":
			return runRawCrypto(args[1:], stdout)
		}
	}
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	return measure(ctx, cfg, stdout, stderr)
}
