#!/usr/bin/env bash
# End-to-end load measurement: builds the release dbtrust binary and the
# load tool, then runs cmd/dbtrust-load, which starts `dbtrust serve` on a
# fresh data folder and a bare net/http handler beside it (both pinned to the
# last core when taskset is installed), drives them over loopback from the
# other cores, and prints req/s, p50, p99 and ratios to the ceiling.
# Arguments go to the tool, for example:
#
#   scripts/bench.sh                                   # defaults, under a minute
#   scripts/bench.sh --rounds 5 --duration 3s --instances 1000,10000
#   scripts/bench.sh --fleet 100000                    # adds the fleet scenario: import, restart, fetch among 100k
#                                                      # (1000000: tens of minutes and ~3 GB in TMPDIR)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=bench" -o "$bin/dbtrust" ./cmd/dbtrust
go build -o "$bin/dbtrust-load" ./cmd/dbtrust-load
pin=()
cpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
if command -v taskset >/dev/null && [ "$cpus" -ge 2 ]; then
  # The servers on the last core, the load generator on all the others.
  pin=(taskset -c "0-$((cpus - 2))" "$bin/dbtrust-load" --server-cpu "$((cpus - 1))")
else
  pin=("$bin/dbtrust-load")
fi
"${pin[@]}" --dbtrust "$bin/dbtrust" "$@"
