#!/usr/bin/env bash
# Builds the pinned golangci-lint from the Go module proxy into ./bin/golangci-lint.
#
# The linter is built from tools/golangci-lint, a module of its own, so its large
# dependency graph never moves the versions the tenantfleet program builds
# against. The version is stamped with -ldflags (as the project's own release
# build does), so `golangci-lint version` names it and this script can tell a
# stale binary from the pinned one.
#
# Does nothing when ./bin/golangci-lint already reports the pinned version.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^GOLANGCI_LINT_VERSION *:\?= *//p' "$root/Makefile")
out="$root/bin/golangci-lint"

# `golangci-lint version --short` prints the stamped version without the leading v.
if [ -x "$out" ] && [ "v$("$out" version --short 2>/dev/null)" = "$version" ]; then
  exit 0
fi

echo "building golangci-lint $version into bin/golangci-lint (cold: a few minutes, cached afterwards)" >&2
mkdir -p "$root/bin"
cd "$root/tools/golangci-lint"
want=$(go list -m -f '{{.Version}}' github.com/golangci/golangci-lint/v2)
if [ "$want" != "$version" ]; then
  echo "tools/golangci-lint/go.mod pins golangci-lint $want, the Makefile $version" >&2
  exit 1
fi
go build -trimpath \
  -ldflags "-X main.version=${version#v} -X main.commit=$version -X main.date=unknown" \
  -o "$out.tmp" github.com/golangci/golangci-lint/v2/cmd/golangci-lint
mv "$out.tmp" "$out"
got=v$("$out" version --short)
if [ "$got" != "$version" ]; then
  echo "bin/golangci-lint reports version '$got', want '$version'" >&2
  exit 1
fi
