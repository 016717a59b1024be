# tenantfleet — `make help` lists the targets.
PULUMI_VERSION := v3.232.0
# Adapters with a golden resource graph under providers/<name>/testdata.
ADAPTERS := aws

.DEFAULT_GOAL := help
.PHONY: help cli test vet fmt-check golden

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

cli: ## Build the pinned Pulumi CLI into ./bin/pulumi (no-op when already built)
	@scripts/build-pulumi-cli.sh

test: cli vet fmt-check ## Set up and run the whole test suite (what CI runs)
	@test "$$(./bin/pulumi version)" = "$(PULUMI_VERSION)" || { echo "bin/pulumi is not $(PULUMI_VERSION)"; exit 1; }
	go test ./...

vet: ## go vet every package
	go vet ./...

fmt-check: ## Fail when a Go file is not gofmt-formatted
	@files=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$files" ]; then echo "not gofmt-formatted:"; echo "$$files"; exit 1; fi

golden: ## Rewrite each adapter's testdata/graph.golden after an intended change
	go test $(addprefix ./providers/,$(ADAPTERS)) -run TestConformance -update
