#!/usr/bin/env bash
# Installs what the embedded local cloud (internal/localcloud) needs on the
# machine: the PostgreSQL server binaries (initdb, postgres) and, for a root
# runtime, the postgres OS user PostgreSQL runs as (it refuses to run as root);
# and curl and jq, which make demo uses.
# NATS is embedded in the tenantfleet binary and needs nothing.
#
# The runtime finds the binaries the same way as this script: the highest
# /usr/lib/postgresql/<version>/bin, else `pg_config --bindir`.
#
# Idempotent: prints nothing and changes nothing when all is present.
# Installs Debian's postgresql package otherwise (as root, or through sudo),
# without creating or starting the system-wide "main" cluster.
set -euo pipefail

have_server_binaries() {
  local initdb
  for initdb in /usr/lib/postgresql/*/bin/initdb; do
    if [ -x "$initdb" ] && [ -x "$(dirname "$initdb")/postgres" ]; then
      return 0
    fi
  done
  if command -v pg_config >/dev/null 2>&1; then
    local bindir
    bindir=$(pg_config --bindir 2>/dev/null || true)
    if [ -n "$bindir" ] && [ -x "$bindir/initdb" ] && [ -x "$bindir/postgres" ]; then
      return 0
    fi
  fi
  return 1
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "setup-local: need root to run: $*" >&2
    exit 1
  fi
}

if ! have_server_binaries; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup-local: PostgreSQL server binaries not found and apt-get is not available:" >&2
    echo "  install PostgreSQL (14 or later) so that initdb and postgres are in /usr/lib/postgresql/<version>/bin or in \`pg_config --bindir\`" >&2
    exit 1
  fi
  echo "setup-local: installing PostgreSQL (Debian package postgresql)" >&2
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  # The local cloud runs clusters of its own: keep the package from creating
  # (and starting) the system-wide one.
  as_root apt-get install -y -qq postgresql-common >/dev/null
  as_root sed -i -E 's/^#?[[:space:]]*create_main_cluster[[:space:]]*=.*/create_main_cluster = false/' \
    /etc/postgresql-common/createcluster.conf
  as_root apt-get install -y -qq postgresql >/dev/null
  if ! have_server_binaries; then
    echo "setup-local: installed postgresql, yet initdb is still not in /usr/lib/postgresql/*/bin" >&2
    exit 1
  fi
fi

# make demo talks to the tenants' web apps with curl and reads the CLI's JSON with jq.
missing=()
for tool in curl jq; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup-local: install ${missing[*]} (make demo uses them)" >&2
    exit 1
  fi
  echo "setup-local: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# A root runtime runs PostgreSQL as the postgres user (the Debian package
# creates it; a server built otherwise may not have).
if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
  echo "setup-local: creating the postgres system user" >&2
  useradd --system --user-group --home-dir /var/lib/postgresql --shell /usr/sbin/nologin postgres
fi
