# tenantfleet — `make help` lists the targets.
PULUMI_VERSION := v3.232.0
GOLANGCI_LINT_VERSION := v2.15.0
# What the Kubernetes tests run against (scripts/build-kubernetes.sh): the control
# plane (tools/kubernetes), the pulumi-kubernetes plugin (tools/pulumi-kubernetes)
# and RabbitMQ's messaging topology operator (tools/rabbitmq-topology-operator;
# v1.17 is not on the module proxy).
KUBERNETES_VERSION := v1.34.4
PULUMI_KUBERNETES_VERSION := v4.25.0
RABBITMQ_TOPOLOGY_OPERATOR_VERSION := v1.16.0
# The images' version (label and tag): make images IMAGE_VERSION=1.4.0
IMAGE_VERSION ?= dev
# How the images' programs are built: static, as the images hold no libc,
# for linux/amd64 (internal/image's tests build them the same way).
STATIC_GO_BUILD := CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags='-s -w'
# Adapters with a golden resource graph under providers/<name>/testdata.
ADAPTERS := aws azure digitalocean gcp kubernetes local

.DEFAULT_GOAL := help
.PHONY: help demo down setup build images cli browser kube lint-tool lint test vet fmt-check golden bench

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

demo: setup ## Bring the dev stack up on the local cloud, publish an event, show it arrive
	@scripts/demo.sh

down: ## Destroy the dev stack and stop the local cloud
	@if [ -x bin/tenantfleet ]; then bin/tenantfleet destroy --stack dev && bin/tenantfleet local stop; fi

setup: cli build ## Install what the local cloud needs (PostgreSQL) and build everything
	@scripts/setup-local.sh

build: ## Build bin/tenantfleet, the local provider plugin, DigitalOcean's fanout forwarder and the example app image
	go build -o bin/tenantfleet ./cmd/tenantfleet
	go build -o bin/tenantfleet-forwarder ./cmd/tenantfleet-forwarder
	go build -o bin/pulumi-resource-tenantfleet-local ./cmd/pulumi-resource-tenantfleet-local
	go build -o bin/images/tenant-app/dev/entrypoint ./examples/tenant-app

images: ## Build OCI images of the example app and the forwarder without Docker into bin/oci (layouts, docker-load tarballs)
	go build -o bin/tenantfleet ./cmd/tenantfleet
	$(STATIC_GO_BUILD) -o bin/oci/linux_amd64/tenant-app ./examples/tenant-app
	$(STATIC_GO_BUILD) -o bin/oci/linux_amd64/tenantfleet-forwarder ./cmd/tenantfleet-forwarder
	bin/tenantfleet image build --out bin/oci --binaries bin/oci/linux_amd64 --version $(IMAGE_VERSION) \
	  --revision "$$(git rev-parse HEAD 2>/dev/null)"

cli: ## Build the pinned Pulumi CLI into ./bin/pulumi (no-op when already built)
	@scripts/build-pulumi-cli.sh

lint-tool: ## Build the pinned golangci-lint into ./bin/golangci-lint (no-op when already built)
	@scripts/build-golangci-lint.sh

# golangci-lint's analysis cache lives inside Go's build cache, so whatever
# keeps the one (CI caches what Go caches) keeps the other.
lint: lint-tool ## Run golangci-lint (.golangci.yaml) on every package
	GOLANGCI_LINT_CACHE="$$(go env GOCACHE)/golangci-lint" ./bin/golangci-lint run ./...

browser: ## Install the headless Chromium the console's browser test drives (Debian's chromium; no-op when present)
	@scripts/setup-browser.sh

kube: ## Build the Kubernetes control plane, the pulumi-kubernetes plugin and RabbitMQ's topology operator the Kubernetes tests run against, install etcd and RabbitMQ (no-op when done)
	@scripts/build-kubernetes.sh

test: setup browser kube vet fmt-check lint ## Set up and run the whole test suite, end-to-end and browser tests included (what CI runs)
	@test "$$(./bin/pulumi version)" = "$(PULUMI_VERSION)" || { echo "bin/pulumi is not $(PULUMI_VERSION)"; exit 1; }
	go test -timeout 45m ./...

vet: ## go vet every package
	go vet ./...

fmt-check: ## Fail when a Go file is not gofmt-formatted
	@files=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$files" ]; then echo "not gofmt-formatted:"; echo "$$files"; exit 1; fi

bench: setup ## Measure `up`, the signup service and `cost` on the local cloud, and the offline cost plan (100, 1,000 tenants)
	go test ./e2e/ -run '^$$' -bench . -benchtime 1x -timeout 60m
	go test ./internal/cost/ -run '^$$' -bench 'Plan/tenants=100$$' -benchtime 1x
	go test ./internal/cost/ -run '^$$' -bench 'Plan/tenants=1000$$' -benchtime 1x

golden: ## Rewrite each adapter's testdata/graph.golden after an intended change
	go test $(addprefix ./providers/,$(ADAPTERS)) -run TestConformance -update
