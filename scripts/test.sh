#!/usr/bin/env bash
# Runs dbtrust's whole test suite: the server module and the compatibility
# module (real vendor SDKs against a real dbtrust). PostgreSQL tests use
# DBTRUST_TEST_POSTGRES, which defaults to the local server below; set it to
# "" explicitly (DBTRUST_TEST_POSTGRES= scripts/test.sh) to skip them.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DBTRUST_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
export DBTRUST_TEST_POSTGRES
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" $unformatted >&2
  exit 1
fi
go vet ./...
go test -count=1 ./...
(cd compat && go vet ./... && go test -count=1 ./...)
scripts/fuzz.sh
