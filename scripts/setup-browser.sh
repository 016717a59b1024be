#!/usr/bin/env bash
# Installs what the console's browser test (e2e TestConsole) needs:
# - the headless browser it drives: Debian's chromium package (a test
#   tool's own browser download, npx playwright install or puppeteer, cannot
#   reach the internet here; Debian's package can be installed);
# - axe-core, the accessibility rules engine the test runs in each page,
#   pinned, from the npm registry (npm checks the tarball's integrity), into
#   bin/axe-core/axe.min.js.
#
# Idempotent: prints nothing and changes nothing when both are present.
# TENANTFLEET_CHROMIUM names another Chromium or Chrome binary to use.
set -euo pipefail
cd "$(dirname "$0")/.."

AXE_VERSION=4.14.1
if [ ! -f bin/axe-core/axe.min.js ] || [ "$(cat bin/axe-core/VERSION 2>/dev/null)" != "$AXE_VERSION" ]; then
  command -v npm >/dev/null 2>&1 || { echo "setup-browser: npm is needed to fetch axe-core $AXE_VERSION (the browser test's accessibility check)" >&2; exit 1; }
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "setup-browser: fetching axe-core $AXE_VERSION (npm registry)" >&2
  (cd "$tmp" && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null && tar -xzf "axe-core-$AXE_VERSION.tgz")
  mkdir -p bin/axe-core
  cp "$tmp/package/axe.min.js" "$tmp/package/LICENSE" bin/axe-core/
  echo "$AXE_VERSION" > bin/axe-core/VERSION
fi

if [ -n "${TENANTFLEET_CHROMIUM:-}" ]; then
  if [ -x "$TENANTFLEET_CHROMIUM" ]; then exit 0; fi
  echo "setup-browser: TENANTFLEET_CHROMIUM=$TENANTFLEET_CHROMIUM is not an executable file" >&2
  exit 1
fi
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then exit 0; fi
done

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "setup-browser: need root to run: $*" >&2
    exit 1
  fi
}

if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-browser: chromium not found and apt-get is not available:" >&2
  echo "  install Chromium or Chrome, or set TENANTFLEET_CHROMIUM to its binary (the console's browser test needs it)" >&2
  exit 1
fi
echo "setup-browser: installing chromium (Debian package; the console's browser test drives it headless)" >&2
export DEBIAN_FRONTEND=noninteractive
as_root apt-get update -qq
as_root apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
command -v chromium >/dev/null 2>&1 || { echo "setup-browser: installed chromium, yet it is not on PATH" >&2; exit 1; }
