# Lookout — build, run and test. Everything a fresh Debian 12 machine lacks is
# installed by the targets that need it, idempotently (apt-get / go install).
#
#   make run    build both programs and start router + sensor locally
#   make test   install test dependencies, then run every test
#   make build  bin/lookout-sensor and bin/lookout-router
#   make bench  benchmarks (numbers for docs/benchmarks.md)
#   make bpf    regenerate the committed bpf2go output (needs clang-19)

SHELL        := /bin/bash
.SHELLFLAGS  := -eu -o pipefail -c
GO           ?= go
BIN          := $(CURDIR)/bin
TOOLS        := $(CURDIR)/.tools
export GOBIN := $(TOOLS)/bin
export PATH  := $(TOOLS)/bin:$(PATH)
MODULES      := ./router/api/... ./router/... ./outputs/... ./sensor/...
GOTEST_FLAGS ?= -race -count=1 -timeout 20m

.PHONY: all build run test test-go test-deps bench bpf lint fmt clean

all: build

## ---- build ----------------------------------------------------------------
build: $(BIN)/lookout-router $(BIN)/lookout-sensor

$(BIN)/lookout-router: FORCE
	$(GO) build -trimpath -o $@ ./router/cmd/lookout-router

$(BIN)/lookout-sensor: FORCE
	@if [ -d sensor/cmd/lookout-sensor ]; then \
		$(GO) build -trimpath -o $@ ./sensor/cmd/lookout-sensor; \
	else echo "lookout-sensor: sensor/cmd/lookout-sensor does not exist yet (issue 7); skipped"; fi

FORCE:

## ---- run ------------------------------------------------------------------
run: build
	./deploy/local/run.sh

## ---- test -----------------------------------------------------------------
# test-deps gathers everything the tests need; each part is idempotent.
test-deps: test-deps-router test-deps-outputs test-deps-sensor test-deps-app test-deps-deploy

test: test-deps build test-go test-deploy

test-go:
	$(GO) vet $(MODULES)
	$(GO) test $(GOTEST_FLAGS) $(MODULES)

## ---- router (issues 2, 3) --------------------------------------------------
.PHONY: test-deps-router bench-router
# The router's tests need nothing beyond Go (the disk-full test mounts a
# tmpfs as root and skips with a reason otherwise).
test-deps-router:
	@true

# bench-router: loopback benchmarks of the real binary with router/tools/loadgen
# (numbers and method in docs/benchmarks-router.md). BENCH_DURATION per run.
BENCH_DURATION ?= 10s
bench-router: $(BIN)/lookout-router
	$(GO) build -o $(BIN)/lookout-loadgen ./router/tools/loadgen
	$(BIN)/lookout-loadgen -router $(BIN)/lookout-router -scenario intake   -duration $(BENCH_DURATION)
	$(BIN)/lookout-loadgen -router $(BIN)/lookout-router -scenario intake   -duration $(BENCH_DURATION) -durable=false
	$(BIN)/lookout-loadgen -router $(BIN)/lookout-router -scenario delivery -duration $(BENCH_DURATION)
	$(BIN)/lookout-loadgen -router $(BIN)/lookout-router -scenario saturate -duration $(BENCH_DURATION) -clients 64 -concurrency 1
	$(BIN)/lookout-loadgen -router $(BIN)/lookout-router -scenario hung -backlog 10000
	LOOKOUT_CRASH_REPORT=$(CURDIR)/bin/crash-report.txt $(GO) test -count=1 -run TestCrashLosesNothingAcked ./router/cmd/lookout-router/ && cat bin/crash-report.txt

## ---- outputs (issue 4) -----------------------------------------------------
.PHONY: test-deps-outputs
# ZincSearch (an Elasticsearch-API server) for outputs/elasticsearch's
# integration tests; built once from the Go module proxy (see the script).
test-deps-outputs:
	GO=$(GO) ./outputs/tools/build-zincsearch.sh $(TOOLS)/bin

## ---- sensor, probe and rules (issues 5, 6, 7) -------------------------------
.PHONY: test-deps-sensor
test-deps-sensor:
	@true

.PHONY: bpf bench-probe
# bpf regenerates sensor/internal/probe/bpf_{x86,arm64}_bpfel.{go,o} from bpf/.
# The output is committed, so only this target needs clang.
bpf:
	@command -v clang-19 >/dev/null || { apt-get update -qq && apt-get install -y clang-19 llvm-19; }
	$(GO) generate ./sensor/internal/probe

# bench-probe measures the probe's overhead and reader throughput (root, BTF kernel).
bench-probe:
	$(GO) test -run '^$$' -bench . -benchtime 1x -count 1 -timeout 20m ./sensor/internal/probe/...

## ---- sensor app, emit and end-to-end (issue 7) -------------------------------
.PHONY: test-deps-app
test-deps-app:
	@true

## ---- deploy (issue 8) ------------------------------------------------------
.PHONY: test-deps-deploy test-deploy
test-deps-deploy:
	@true

test-deploy:
	@true

## ---- benchmarks -----------------------------------------------------------
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(MODULES)

## ---- housekeeping ---------------------------------------------------------
lint:
	$(GO) vet $(MODULES)
	@test -z "$$(gofmt -l router outputs sensor)" || { gofmt -l router outputs sensor; exit 1; }

fmt:
	gofmt -w router outputs sensor

clean:
	rm -rf $(BIN)
