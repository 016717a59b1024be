#!/usr/bin/env bash
# make demo: the dev stack (Pulumi.dev.yaml) on the embedded local cloud, end
# to end, through the real Pulumi engine: bring it up, print each tenant's URL,
# publish one event to the fanout and show it arriving at every subscriber.
# `make down` tears it all down. Assumes `make setup` ran (make demo does).
set -euo pipefail
cd "$(dirname "$0")/.."
tf=bin/tenantfleet
stack=dev

step() { printf '\n==> %s\n' "$*"; }

step "tenantfleet up --stack $stack (the local cloud starts on demand)"
$tf up --stack "$stack"

outputs=$($tf outputs --stack "$stack" --json)
step "Tenants"
printf '%s' "$outputs" | jq -r '.tenants | to_entries[] | "  \(.key)\t\(.value.webUrl)\tdatabase \(.value.databaseName) at \(.value.databaseEndpoint)"'

step "Waiting for every web app to answer /healthz"
for url in $(printf '%s' "$outputs" | jq -r '.tenants[].webUrl'); do
  for _ in $(seq 1 120); do
    curl -fsS -o /dev/null "$url/healthz" && break
    sleep 0.5
  done
  curl -fsS -o /dev/null "$url/healthz" || { echo "$url does not answer: see tenantfleet local status" >&2; exit 1; }
  echo "  $url/healthz 200"
done

event="account.created demo $(date -u +%Y-%m-%dT%H:%M:%SZ)"
step "Publishing one event to the fanout: \"$event\""
$tf publish --stack "$stack" --data "$event" --attr event_type=account.created

step "The event arriving at every subscriber (each tenant's worker stores it; its web app lists it)"
for tenant in $(printf '%s' "$outputs" | jq -r '.tenants | keys[]'); do
  url=$(printf '%s' "$outputs" | jq -r --arg t "$tenant" '.tenants[$t].webUrl')
  got=0
  for _ in $(seq 1 120); do
    got=$(curl -fsS "$url/api/events" | jq --arg e "$event" '[.[] | select(.body == $e)] | length')
    [ "$got" -ge 1 ] && break
    sleep 0.5
  done
  if [ "$got" -lt 1 ]; then
    echo "  $tenant: the event did not arrive (worker log: tenantfleet local status)" >&2
    exit 1
  fi
  echo "  $tenant received it ($got copy): $url/api/events"
done

step "Done. Open a tenant's URL above to see its page; tear everything down with: make down"
