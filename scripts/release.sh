#!/usr/bin/env bash
# Release build: static binaries with the version in them, for the platforms
# given (default: this machine's), in dist/.
#
#   scripts/release.sh v1.2.0                       # dist/dbtrust-v1.2.0-linux-amd64
#   scripts/release.sh v1.2.0 linux/amd64 linux/arm64 darwin/arm64
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:?usage: scripts/release.sh VERSION [OS/ARCH ...]}
shift
platforms=("$@")
[ ${#platforms[@]} -gt 0 ] || platforms=("$(go env GOOS)/$(go env GOARCH)")
dist=${DIST:-dist}
mkdir -p "$dist"
for p in "${platforms[@]}"; do
  os=${p%/*} arch=${p#*/}
  out="$dist/dbtrust-$version-$os-$arch"
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$out" ./cmd/dbtrust
  echo "$out"
done
