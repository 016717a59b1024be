#!/usr/bin/env bash
# Installs the headless browser the console's browser test drives
# (internal/signup/console, e2e TestConsole): Debian's chromium package.
# A test tool's own browser download (npx playwright install, puppeteer)
# cannot reach the internet here; Debian's package can be installed.
#
# Idempotent: prints nothing and changes nothing when chromium is present.
# TENANTFLEET_CHROMIUM names another Chromium or Chrome binary to use.
set -euo pipefail

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
