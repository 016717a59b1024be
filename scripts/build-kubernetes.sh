#!/usr/bin/env bash
# Builds what the Kubernetes tests (providers/kubernetes/kubetest) run against,
# from the Go module proxy, into ./bin:
# - bin/kube-apiserver and bin/kube-controller-manager, Kubernetes
#   $KUBERNETES_VERSION (Makefile), from tools/kubernetes;
# - bin/pulumi-resource-kubernetes, the pulumi-kubernetes provider plugin
#   $PULUMI_KUBERNETES_VERSION (Makefile), from tools/pulumi-kubernetes;
# - bin/messaging-topology-operator, RabbitMQ's messaging topology operator
#   $RABBITMQ_TOPOLOGY_OPERATOR_VERSION (Makefile), from
#   tools/rabbitmq-topology-operator;
# and installs Debian's etcd-server when etcd is not on PATH and Debian's
# rabbitmq-server when /usr/lib/rabbitmq/bin/rabbitmq-server is missing (the
# tests run nodes of their own: on a systemd host the packages' system-wide
# services are stopped and disabled).
#
# Each lives in a module of its own, so their large dependency graphs never
# move the versions the tenantfleet program builds against. The versions are
# stamped with -ldflags, as upstream's release builds do: without them
# kube-apiserver reports v0.0.0-master and the plugin an empty version. The
# operator has no version to stamp; its build info (`go version -m`) must
# name the pinned release and the dependency versions its tools module selects.
#
# Idempotent: prints nothing and changes nothing when every binary is the
# pinned version and etcd and RabbitMQ are installed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
kube_version=$(sed -n 's/^KUBERNETES_VERSION *:\?= *//p' "$root/Makefile")
plugin_version=$(sed -n 's/^PULUMI_KUBERNETES_VERSION *:\?= *//p' "$root/Makefile")
operator_version=$(sed -n 's/^RABBITMQ_TOPOLOGY_OPERATOR_VERSION *:\?= *//p' "$root/Makefile")
plugin_module=github.com/pulumi/pulumi-kubernetes/provider/v4
sdk_module=github.com/pulumi/pulumi-kubernetes/sdk/v4
operator_module=github.com/rabbitmq/messaging-topology-operator
rabbitmq_server=/usr/lib/rabbitmq/bin/rabbitmq-server
tmp=

fail() {
  echo "build-kubernetes: $*" >&2
  exit 1
}
cleanup() {
  if [ -n "$tmp" ]; then rm -rf "$tmp"; fi
}
trap cleanup EXIT

[ -n "$kube_version" ] || fail "KUBERNETES_VERSION is not set in the Makefile"
[ -n "$plugin_version" ] || fail "PULUMI_KUBERNETES_VERSION is not set in the Makefile"
[ -n "$operator_version" ] || fail "RABBITMQ_TOPOLOGY_OPERATOR_VERSION is not set in the Makefile"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    fail "need root to run: $*"
  fi
}

# --- etcd ----------------------------------------------------------------------
# Any etcd 3.4 or later does; the tests start their own on free loopback ports.
if ! command -v etcd >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "build-kubernetes: etcd not found and apt-get is not available:" >&2
    echo "  install etcd (3.4 or later) so that etcd is on PATH (the Kubernetes tests run it)" >&2
    exit 1
  fi
  echo "build-kubernetes: installing etcd (Debian package etcd-server)" >&2
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq || fail "apt-get update failed"
  as_root apt-get install -y -qq etcd-server >/dev/null || fail "apt-get install etcd-server failed"
  command -v etcd >/dev/null 2>&1 || fail "installed etcd-server, yet etcd is still not on PATH"
  # The tests run etcds of their own: keep the package's system-wide one
  # (started on a systemd host) from running.
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    as_root systemctl disable --now etcd.service >/dev/null 2>&1 || true
  fi
fi

# --- RabbitMQ ------------------------------------------------------------------
# The topology operator's test declares through a RabbitMQ node that
# queue/rabbittest starts (with the management plugin, on free loopback ports)
# from Debian's rabbitmq-server.
if [ ! -x "$rabbitmq_server" ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "build-kubernetes: $rabbitmq_server not found and apt-get is not available:" >&2
    echo "  install Debian's rabbitmq-server (the Kubernetes tests run it)" >&2
    exit 1
  fi
  echo "build-kubernetes: installing RabbitMQ (Debian package rabbitmq-server)" >&2
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq || fail "apt-get update failed"
  as_root apt-get install -y -qq rabbitmq-server >/dev/null || fail "apt-get install rabbitmq-server failed"
  [ -x "$rabbitmq_server" ] || fail "installed rabbitmq-server, yet $rabbitmq_server is still missing"
  # The tests run nodes of their own: keep the package's system-wide one
  # (started on a systemd host) from running.
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    as_root systemctl disable --now rabbitmq-server.service >/dev/null 2>&1 || true
  fi
fi

# --- kube-apiserver, kube-controller-manager ------------------------------------
kube_stale=()
for cmd in kube-apiserver kube-controller-manager; do
  out="$root/bin/$cmd"
  if [ -x "$out" ] && [ "$("$out" --version 2>/dev/null)" = "Kubernetes $kube_version" ]; then
    continue
  fi
  kube_stale+=("$cmd")
done

if [ ${#kube_stale[@]} -gt 0 ]; then
  cd "$root/tools/kubernetes"
  want=$(go list -m -f '{{.Version}}' k8s.io/kubernetes) || fail "cannot read tools/kubernetes/go.mod"
  [ "$want" = "$kube_version" ] || fail "tools/kubernetes/go.mod pins k8s.io/kubernetes $want, the Makefile $kube_version"
  # The stamps k8s's hack/lib/version.sh sets (the build date fixed, so a
  # rebuild is the same binary).
  major=${kube_version#v}
  major=${major%%.*}
  minor=${kube_version#v*.}
  minor=${minor%%.*}
  ld=""
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    ld+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  pkgs=()
  for cmd in "${kube_stale[@]}"; do
    case $cmd in
      kube-apiserver) cold="about 10 minutes" ;;
      *) cold="about 4 minutes more than kube-apiserver, with which it shares most packages" ;;
    esac
    echo "build-kubernetes: building $cmd $kube_version into bin/$cmd (cold: $cold; cached afterwards)" >&2
    pkgs+=("k8s.io/kubernetes/cmd/$cmd")
  done
  mkdir -p "$root/bin"
  tmp=$(mktemp -d "$root/bin/.build-kubernetes.XXXXXX")
  go build -trimpath -ldflags "$ld" -o "$tmp/" "${pkgs[@]}" ||
    fail "building ${kube_stale[*]} failed (see the go build output above)"
  for cmd in "${kube_stale[@]}"; do
    got=$("$tmp/$cmd" --version) || fail "the built $cmd does not run"
    [ "$got" = "Kubernetes $kube_version" ] || fail "the built $cmd reports '$got', want 'Kubernetes $kube_version'"
    mv "$tmp/$cmd" "$root/bin/$cmd"
  done
  rm -rf "$tmp"
  tmp=
fi

# --- messaging-topology-operator -----------------------------------------------
# main has no version variable to stamp, so the build info decides: it must
# name the pinned release, and every module linked in must be at the version
# tools/rabbitmq-topology-operator/go.mod selects (so a changed go.mod rebuilds).
operator_out="$root/bin/messaging-topology-operator"
operator_current() {
  local info selected stale
  [ -x "$operator_out" ] || return 1
  info=$(go version -m "$operator_out" 2>/dev/null) || return 1
  grep -qE "^[[:space:]]+mod[[:space:]]+$operator_module[[:space:]]+$operator_version[[:space:]]" <<<"$info" || return 1
  selected=$(cd "$root/tools/rabbitmq-topology-operator" && go list -m -f '{{.Path}} {{.Version}}{{with .Replace}}{{"\n"}}{{.Path}} {{.Version}}{{end}}' all) || return 1
  stale=$(awk '$1 == "dep" || $1 == "=>" { print $2, $3 }' <<<"$info" | grep -vxF -f <(printf '%s\n' "$selected")) || true
  [ -z "$stale" ]
}

if ! operator_current; then
  cd "$root/tools/rabbitmq-topology-operator"
  want=$(go list -m -f '{{.Version}}' "$operator_module") || fail "cannot read tools/rabbitmq-topology-operator/go.mod"
  [ "$want" = "$operator_version" ] ||
    fail "tools/rabbitmq-topology-operator/go.mod pins $operator_module $want, the Makefile $operator_version"
  echo "build-kubernetes: building messaging-topology-operator $operator_version into bin/messaging-topology-operator (cold: about 3 minutes; cached afterwards)" >&2
  mkdir -p "$root/bin"
  tmp=$(mktemp -d "$root/bin/.build-kubernetes.XXXXXX")
  go build -trimpath -o "$tmp/messaging-topology-operator" "$operator_module" ||
    fail "building messaging-topology-operator failed (see the go build output above)"
  # It has no --version; -h prints its flags and exits 0 when it runs at all.
  "$tmp/messaging-topology-operator" -h >/dev/null 2>&1 || fail "the built messaging-topology-operator does not run"
  mv "$tmp/messaging-topology-operator" "$operator_out"
  rm -rf "$tmp"
  tmp=
  operator_current || fail "the built bin/messaging-topology-operator does not carry the build info of $operator_module $operator_version"
fi

# --- pulumi-resource-kubernetes --------------------------------------------------
# The plugin has no --version flag (it reports its version over gRPC), and
# -trimpath keeps -ldflags out of its build info; so the build info must name
# this module, the pinned provider commit and, replacing sdk/v4, the release
# cut from that commit: the one the Makefile pins (checked against go.mod below).
plugin_out="$root/bin/pulumi-resource-kubernetes"
plugin_current() {
  local info provider
  [ -x "$plugin_out" ] || return 1
  info=$(go version -m "$plugin_out" 2>/dev/null) || return 1
  provider=$(cd "$root/tools/pulumi-kubernetes" && go list -m -f '{{.Version}}' "$plugin_module") || return 1
  grep -qE "^[[:space:]]+mod[[:space:]]+github.com/tenantfleet/tenantfleet/tools/pulumi-kubernetes[[:space:]]" <<<"$info" &&
    grep -qE "^[[:space:]]+dep[[:space:]]+$plugin_module[[:space:]]+$provider[[:space:]]" <<<"$info" &&
    grep -qE "^[[:space:]]+=>[[:space:]]+$sdk_module[[:space:]]+$plugin_version[[:space:]]" <<<"$info"
}

if ! plugin_current; then
  cd "$root/tools/pulumi-kubernetes"
  want=$(go list -m -f '{{.Replace.Version}}' "$sdk_module") || fail "cannot read tools/pulumi-kubernetes/go.mod"
  [ "$want" = "$plugin_version" ] ||
    fail "tools/pulumi-kubernetes/go.mod replaces $sdk_module with $want, the Makefile pins $plugin_version (the provider commit and the sdk come from one release tag)"
  echo "build-kubernetes: building pulumi-resource-kubernetes $plugin_version into bin/pulumi-resource-kubernetes (cold: about 20 minutes; cached afterwards)" >&2
  # pkg/v3 is not in the checksum database; its hashes are pinned in go.sum.
  export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/pulumi/pulumi/pkg/v3"
  mkdir -p "$root/bin"
  tmp=$(mktemp -d "$root/bin/.build-kubernetes.XXXXXX")
  go mod download "$plugin_module" || fail "cannot download $plugin_module"
  src=$(go list -m -f '{{.Dir}}' "$plugin_module")/cmd/pulumi-resource-kubernetes
  # The module zip lacks the *-embed.json files main.go embeds (upstream's
  # go generate writes them, and git ignores them there as here): run
  # upstream's generate.go, unchanged, on a copy of its inputs.
  go build -o "$tmp/generate" "$src/generate.go" || fail "building upstream's generate.go failed"
  cp "$src/schema.json" "$src/terraform-mapping.json" "$tmp/"
  chmod u+w "$tmp/schema.json" "$tmp/terraform-mapping.json"
  (cd "$tmp" && VERSION=${plugin_version#v} ./generate) || fail "upstream's generate.go failed"
  mv "$tmp/schema-embed.json" "$tmp/terraform-mapping-embed.json" cmd/pulumi-resource-kubernetes/
  go build -trimpath \
    -ldflags "-X $plugin_module/pkg/version.Version=${plugin_version#v}" \
    -o "$tmp/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes ||
    fail "building pulumi-resource-kubernetes failed (see the go build output above)"
  mv "$tmp/pulumi-resource-kubernetes" "$plugin_out"
  plugin_current || fail "the built bin/pulumi-resource-kubernetes does not carry the build info of $plugin_version"
fi
