package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// config is one measurement's settings.
type config struct {
	Dbtrust      string        // the dbtrust binary to run
	Rounds       int           // rounds of each target per scenario
	Duration     time.Duration // length of one round
	Conns        int           // concurrent keep-alive connections for CA fetches
	IssueClients int           // concurrent clients for issuance
	Instances    []int         // fleet sizes for the random CA fetch
	HTTPS        bool          // also measure CA fetch over HTTPS
	ServerCPU    int           // core the servers are pinned to; -1: no pinning
	Self         string        // this binary, for its helper processes
	// AstraCredentials is how many credentials the Astra list scenario
	// stores; 0 skips it.
	AstraCredentials int
	// Fleet is how many instances the fleet scenario imports (fleet.go);
	// 0 skips it.
	Fleet int
	// Postgres, when set, is a PostgreSQL server's URL for the issuance
	// scenario on PostgreSQL (postgres.go).
	Postgres string
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("dbtrust-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Dbtrust, "dbtrust", "dbtrust", "the dbtrust binary to measure (scripts/bench.sh builds the release one)")
	fs.IntVar(&c.Rounds, "rounds", 3, "rounds of each target per scenario (1 to 50)")
	fs.DurationVar(&c.Duration, "duration", time.Second, "length of one round (100ms to 1m)")
	fs.IntVar(&c.Conns, "conns", 32, "concurrent keep-alive connections for the CA fetches (1 to 1024)")
	fs.IntVar(&c.IssueClients, "issue-clients", 8, "concurrent clients for issuance (1 to 256)")
	instances := fs.String("instances", "1000", "fleet sizes for the random CA fetch, comma-separated (such as 1000,10000); 0 skips it")
	fs.StringVar(&c.Postgres, "postgres", getenv("DBTRUST_LOAD_POSTGRES"), "also measure issuance on PostgreSQL: a server's URL, on which a database is created for the run and dropped after (default $DBTRUST_LOAD_POSTGRES)")
	fs.BoolVar(&c.HTTPS, "https", true, "also measure the CA fetch over HTTPS keep-alive")
	fs.IntVar(&c.ServerCPU, "server-cpu", -2, "core to pin the servers to with taskset; -1 turns pinning off (default: the last core, when there are two or more and taskset is installed)")
	fs.IntVar(&c.AstraCredentials, "astra-credentials", 10000, "credentials stored for the Astra list scenario (0 skips it, else 100 to 1000000)")
	fs.IntVar(&c.Fleet, "fleet", 0, "instances the fleet scenario imports before restarting dbtrust on them (0 skips it, else 2000 to 1000000)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q: dbtrust-load takes flags only (see -h)", fs.Arg(0))
	}
	var err error
	if c.Instances, err = parseSizes(*instances); err != nil {
		return c, err
	}
	switch {
	case c.Rounds < 1 || c.Rounds > 50:
		return c, fmt.Errorf("--rounds %d: want 1 to 50", c.Rounds)
	case c.Duration < 100*time.Millisecond || c.Duration > time.Minute:
		return c, fmt.Errorf("--duration %s: want 100ms to 1m", c.Duration)
	case c.Conns < 1 || c.Conns > 1024:
		return c, fmt.Errorf("--conns %d: want 1 to 1024", c.Conns)
	case c.AstraCredentials != 0 && (c.AstraCredentials < 100 || c.AstraCredentials > 1_000_000):
		return c, fmt.Errorf("--astra-credentials %d: want 0, or 100 to 1000000", c.AstraCredentials)
	case c.Fleet != 0 && (c.Fleet < 2000 || c.Fleet > 1_000_000):
		return c, fmt.Errorf("--fleet %d: want 0, or 2000 to 1000000", c.Fleet)
	case c.IssueClients < 1 || c.IssueClients > 256:
		return c, fmt.Errorf("--issue-clients %d: want 1 to 256", c.IssueClients)
	}
	return c, nil
}

// parseSizes reads "1000,10000"; "0" or "" is none.
func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" || f == "0" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 1_000_000 {
			return nil, errors.New("--instances " + strconv.Quote(s) + ": want fleet sizes from 1 to 1000000, comma-separated, in increasing order")
		}
		if len(out) > 0 && n <= out[len(out)-1] {
			return nil, errors.New("--instances " + strconv.Quote(s) + ": list the sizes in increasing order")
		}
		out = append(out, n)
	}
	return out, nil
}
