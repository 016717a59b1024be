#!/usr/bin/env bash
# Builds the pinned Pulumi CLI from the Go module proxy into ./bin/pulumi.
#
# The CLI is built from tools/pulumi, a module of its own, so the CLI's large
# dependency graph never moves the versions the tenantfleet program builds
# against. The version is stamped with -ldflags: without it `pulumi version`
# prints nothing and the Automation API refuses the binary.
#
# Does nothing when ./bin/pulumi already reports the pinned version.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^PULUMI_VERSION *:\?= *//p' "$root/Makefile")
out="$root/bin/pulumi"

if [ -x "$out" ] && [ "$("$out" version 2>/dev/null)" = "$version" ]; then
  exit 0
fi

echo "building Pulumi CLI $version into bin/pulumi (cold: about 6 minutes, cached afterwards)" >&2
mkdir -p "$root/bin"
cd "$root/tools/pulumi"
# pkg/v3 is not in the checksum database; its hashes are pinned in tools/pulumi/go.sum.
GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/pulumi/pulumi/pkg/v3" \
  go build -trimpath \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
    -o "$out.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
mv "$out.tmp" "$out"
got=$("$out" version)
if [ "$got" != "$version" ]; then
  echo "bin/pulumi reports version '$got', want '$version'" >&2
  exit 1
fi
