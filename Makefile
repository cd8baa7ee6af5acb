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

## --- distribution (issue 3) -------------------------------------------------
# BUILD-TARGETS

## --- deploy (issue 5) --------------------------------------------------------
# DEPLOY-TARGETS

## --- benchmarks (issue 6) ----------------------------------------------------
# BENCH-TARGETS

## --- everything CI runs --------------------------------------------------------
test: test-unit

clean:
	rm -rf bin distribution/build
