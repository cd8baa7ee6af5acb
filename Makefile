# loggy - see README.md. Every target works from a fresh clone.
SHELL := /bin/bash
GO ?= go
BIN := bin/otelcol-loggy

.PHONY: all build run test test-unit test-e2e test-deploy bench fuzz generate image clean

all: build

## --- receiver ---------------------------------------------------------------
generate:
	$(GO) generate ./receiver/...

test-unit:
	$(GO) vet ./...
	$(GO) test -race ./...

# A short run of every fuzz target (go test -fuzz takes one target per call).
# FUZZTIME=5m make fuzz for a longer hunt; findings land in testdata/fuzz.
FUZZTIME ?= 10s
FUZZ_TARGETS := \
	internal/parse:FuzzParseDocker internal/parse:FuzzParseCRI internal/parse:FuzzMerger \
	internal/k8spath:FuzzParse internal/checkpoint:FuzzDecode internal/body:FuzzParse
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=./receiver/loggyreceiver/$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

## --- distribution (issue 3) -------------------------------------------------
# BUILD-TARGETS (owned by the distribution work)
.PHONY: tools
# Tools go into bin/tools under versioned names, so changing a pin reinstalls them.
OCB_VERSION := v0.165.0
OCB := $(CURDIR)/bin/tools/ocb-$(OCB_VERSION)
VICTORIALOGS_VERSION := v1.52.1
VICTORIALOGS := $(CURDIR)/bin/tools/victoria-logs-$(VICTORIALOGS_VERSION)
# What the collector binary is made from: rebuilt only when one of these changes.
BUILD_INPUTS := builder-config.yaml go.mod go.sum $(shell find receiver -name '*.go' 2>/dev/null)

tools: $(OCB) $(VICTORIALOGS)

$(OCB):
	GOBIN=$(CURDIR)/bin/tools $(GO) install go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION)
	mv $(CURDIR)/bin/tools/builder $@

$(VICTORIALOGS):
	GOBIN=$(CURDIR)/bin/tools $(GO) install github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@$(VICTORIALOGS_VERSION)
	mv $(CURDIR)/bin/tools/victoria-logs $@

# ocb generates the distribution's sources into distribution/build (not committed),
# then the binary is compiled from them: static, trimmed, stripped.
build: $(BIN)
$(BIN): $(OCB) $(BUILD_INPUTS)
	$(OCB) --config builder-config.yaml --skip-compilation
	cd distribution/build && CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o $(CURDIR)/$(BIN) .

# The demo: a temporary node tree with live container logs, and the collector printing
# what it collects. Ctrl-C stops it and removes everything. DEMO_FLAGS: see -help.
run: $(BIN)
	$(GO) build -o bin/loggy-demo ./distribution/demo
	bin/loggy-demo -collector $(BIN) $(DEMO_FLAGS)

# End-to-end: the collector against a real VictoriaLogs, logs written by containerd's
# CRI writer (test/e2e is its own Go module, so its dependencies stay out of go.mod).
test-e2e: $(BIN) $(VICTORIALOGS)
	cd test/e2e && $(GO) vet ./... && \
	  LOGGY_COLLECTOR=$(CURDIR)/$(BIN) LOGGY_VICTORIALOGS=$(VICTORIALOGS) \
	  $(GO) test -count=1 -timeout 10m -v ./...

## --- deploy (issue 5) --------------------------------------------------------
# DEPLOY-TARGETS
.PHONY: deploy-config kustomize
# kustomize is installed under a versioned name, so changing the pin reinstalls it.
KUSTOMIZE_VERSION := v5.8.2
KUSTOMIZE := $(CURDIR)/bin/tools/kustomize-$(KUSTOMIZE_VERSION)
IMAGE ?= loggy:0.1.0

kustomize: $(KUSTOMIZE)
$(KUSTOMIZE):
	GOBIN=$(CURDIR)/bin/tools $(GO) install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)
	mv $(CURDIR)/bin/tools/kustomize $@

# deploy/base/config.yaml is a copy of distribution/config.yaml (kustomize reads no file outside
# the base); test-deploy fails when they differ.
deploy-config:
	cp distribution/config.yaml deploy/base/config.yaml

# Offline validation of deploy/ and distribution/Dockerfile (test/deploy is its own Go module).
test-deploy: build $(KUSTOMIZE)
	cd test/deploy && $(GO) vet ./... && \
	  LOGGY_BIN=$(CURDIR)/$(BIN) KUSTOMIZE_BIN=$(KUSTOMIZE) $(GO) test -count=1 ./...

# The container image; needs a Docker engine (and says so when there is none).
image:
	@command -v docker >/dev/null 2>&1 || { echo "image: no Docker engine: the docker command is not installed; build $(IMAGE) on a machine with Docker" >&2; exit 1; }
	@docker info >/dev/null 2>&1 || { echo "image: no Docker engine: 'docker info' reaches no daemon (start one, or point DOCKER_HOST at one); $(IMAGE) was not built" >&2; exit 1; }
	docker build -f distribution/Dockerfile -t $(IMAGE) .

## --- benchmarks (issue 6) ----------------------------------------------------
# BENCH-TARGETS
# make bench: loggy against contrib's filelog receiver, the original Node.js Loggy and a
# plain newline counter, each in its own process on the same generated node (default
# 50 files, 1 GiB, kept in bench/data), then idle CPU, write-to-delivery latency and the
# Go benchmarks of the hot path. BENCH_FLAGS=-size-mib=256 for a quicker run.
BENCH_FLAGS ?=
bench:
	cd bench && $(GO) build -o $(CURDIR)/bin/bench .
	cd bench/filelog && $(GO) build -o $(CURDIR)/bin/bench-filelog .
	cd bench/node-loggy && npm ci --no-audit --no-fund --silent
	bin/bench run -dir bench/data -filelog bin/bench-filelog -node bench/node-loggy/loggy.js $(BENCH_FLAGS)
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./receiver/loggyreceiver/ ./receiver/loggyreceiver/internal/parse/ ./receiver/loggyreceiver/internal/tail/

## --- everything CI runs --------------------------------------------------------
test: test-unit fuzz test-e2e test-deploy

clean:
	rm -rf bin distribution/build
