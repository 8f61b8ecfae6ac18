#!/usr/bin/env bash
# Runs every fuzz target of the decoders of outside input for a short while
# (FUZZTIME, default 3s each, one worker) and prints each one's executions.
# The seeds of every target also run in the normal 'go test'.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-3s}"
targets=(
  "./internal/server FuzzDigitalOceanCreate"
  "./internal/server FuzzNativeBodies"
  "./internal/server FuzzLinkRequest"
  "./internal/dialect/huaweicloud FuzzSDKSignature"
  "./internal/dialect/huaweicloud FuzzLinkObject"
  "./internal/dialect/astra FuzzParseListQuery"
  "./internal/pki FuzzParseCSRPEM"
  "./internal/pki FuzzParseCertsPEM"
)
for t in "${targets[@]}"; do
  set -- $t
  out=$(go test "$1" -run '^$' -fuzz "^$2\$" -fuzztime "$fuzztime" -parallel 1 2>&1) || { echo "$out" >&2; exit 1; }
  execs=$(echo "$out" | grep -o 'execs: [0-9]*' | tail -1 || true)
  echo "fuzz $2 ($1): ${execs:-execs: ?} in $fuzztime"
done
