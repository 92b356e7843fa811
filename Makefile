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
# apt waits for its lock (unattended upgrades on a fresh machine) instead of failing.
APT          := apt-get -o DPkg::Lock::Timeout=300

.PHONY: all build run test test-go test-deps bench bpf lint fmt clean

all: build

## ---- build ----------------------------------------------------------------
build: $(BIN)/lookout-router $(BIN)/lookout-sensor

# Version, commit and build date for --version, `version` and the build-info
# metric (Go's own VCS stamp is not written in workspace mode).
VERSION      ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT       ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BUILD_DATE   ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS      := -X github.com/lookout-sec/lookout/router/api/buildinfo.Version=$(VERSION) \
                -X github.com/lookout-sec/lookout/router/api/buildinfo.Date=$(BUILD_DATE) \
                -X github.com/lookout-sec/lookout/router/api/buildinfo.Commit=$(COMMIT)

$(BIN)/lookout-router: FORCE
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@ ./router/cmd/lookout-router

# grpcnotrace drops grpc's request tracing (off unless enabled; ~5 MB of binary).
$(BIN)/lookout-sensor: FORCE
	$(GO) build -trimpath -tags grpcnotrace -ldflags '$(LDFLAGS)' -o $@ ./sensor/cmd/lookout-sensor

FORCE:

## ---- run ------------------------------------------------------------------
run: build
	./deploy/local/run.sh

## ---- test -----------------------------------------------------------------
# test-deps gathers everything the tests need; each part is idempotent.
test-deps: test-deps-router test-deps-outputs test-deps-sensor test-deps-app test-deps-deploy test-deps-containers test-deps-ui test-deps-k8s-audit

test: test-deps build test-go test-deploy

test-go:
	$(GO) vet $(MODULES)
	LOOKOUT_K8S_AUDIT_REQUIRED=1 LOOKOUT_KUBE_APISERVER=$(KUBE_APISERVER) $(GO) test $(GOTEST_FLAGS) $(MODULES)

## ---- router (issues 2, 3) --------------------------------------------------
.PHONY: test-deps-router bench-router bench-replicas
# The router's tests need Debian's PostgreSQL for the shared noise state
# (router/internal/pgtest starts its own cluster in a temp dir, on a unix
# socket; issue 18); otherwise only Go (the disk-full test mounts a tmpfs as
# root and skips with a reason otherwise).
test-deps-router:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		{ $(APT) update -qq && $(APT) install -y --no-install-recommends postgresql; }

# bench-router: loopback benchmarks of the real binary with router/tools/loadgen
# (numbers and method in docs/benchmarks-router.md). BENCH_DURATION per run.
BENCH_DURATION ?= 10s
bench-router: $(BIN)/lookout-router
	$(GO) build -o $(BIN)/lookout-loadgen ./router/tools/loadgen
	$(BIN)/lookout-loadgen -router $(BIN)/lookout-router -scenario intake   -duration $(BENCH_DURATION)
	$(BIN)/lookout-loadgen -router $(BIN)/lookout-router -scenario intake   -duration $(BENCH_DURATION) -durable=false
	$(BIN)/lookout-loadgen -router $(BIN)/lookout-router -scenario intake   -duration $(BENCH_DURATION) -batch 100 -clients 4
	$(BIN)/lookout-loadgen -router $(BIN)/lookout-router -scenario intake   -duration $(BENCH_DURATION) -rate 2000
	$(BIN)/lookout-loadgen -router $(BIN)/lookout-router -scenario saturate -duration $(BENCH_DURATION) -clients 16 -concurrency 1
	$(BIN)/lookout-loadgen -router $(BIN)/lookout-router -scenario delivery -duration $(BENCH_DURATION)
	$(BIN)/lookout-loadgen -router $(BIN)/lookout-router -scenario saturate -duration $(BENCH_DURATION) -clients 64 -concurrency 1
	$(BIN)/lookout-loadgen -router $(BIN)/lookout-router -scenario hung -backlog 10000
	LOOKOUT_CRASH_REPORT=$(CURDIR)/bin/crash-report.txt $(GO) test -count=1 -run TestCrashLosesNothingAcked ./router/cmd/lookout-router/ && cat bin/crash-report.txt

## ---- triage UI (issue 13) ---------------------------------------------------
.PHONY: test-deps-ui ui-screenshots bench-ui bench-ui-load bench-ui-postgres
# The UI's browser test (router/cmd/lookout-router TestUIInBrowser) drives
# Debian's headless chromium with chromedp. Idempotent.
test-deps-ui:
	@command -v chromium >/dev/null || { $(APT) update -qq && $(APT) install -y chromium; }
# ui-screenshots: the browser test writes the PNGs of docs/img/ui-*.png.
ui-screenshots: test-deps-ui
	LOOKOUT_UI_SCREENSHOTS=$(CURDIR)/docs/img $(GO) test -count=1 -run TestUIInBrowser ./router/cmd/lookout-router/
# bench-ui: search and chart over 1 M stored alerts (docs/ui.md).
bench-ui:
	$(GO) test -run '^$$' -bench '^Benchmark(Search|Overview)' -benchtime 20x -timeout 30m ./router/internal/history/

# bench-ui-load: 1,000 alerts/s into the real binary with the UI off, on,
# and on with headless chromium on the live page: ingest rate and latency,
# the page's event-loop lag and filter-change time (docs/ui.md).
bench-ui-load: test-deps-ui
	flock /tmp/bench.lock $(GO) test -count=1 -run '^$$' -bench '^BenchmarkUIUnderLoad$$' -benchtime 1x ./router/cmd/lookout-router/

# bench-ui-postgres: the same queries over 100 k alerts in a real PostgreSQL
# (the UI's history with state.postgres; docs/ui.md).
bench-ui-postgres: test-deps-router
	$(GO) test -run '^$$' -bench '^BenchmarkPostgres$$' -benchtime 20x -timeout 30m ./router/internal/history/

# bench-replicas: the noise stage's decisions (what ingest waits for) on the
# embedded store and on one real PostgreSQL shared by 1, 2 and 3 replicas:
# alerts/s and p50/p99 per decision (docs/replicas.md). Needs test-deps-router.
BENCH_REPLICAS_N ?= 10000x
bench-replicas: test-deps-router
	$(GO) test -count=1 -run '^$$' -bench NoiseStage -benchtime $(BENCH_REPLICAS_N) ./router/internal/pgstate/

## ---- outputs (issue 4) -----------------------------------------------------
.PHONY: test-deps-outputs
# ZincSearch (an Elasticsearch-API server) for outputs/elasticsearch's
# integration tests; built once from the Go module proxy (see the script).
test-deps-outputs:
	GO=$(GO) ./outputs/tools/build-zincsearch.sh $(TOOLS)/bin

## ---- sensor, probe and rules (issues 5, 6, 7) -------------------------------
.PHONY: test-deps-sensor
# The probe's kernel tests need nothing installed: the bpf2go output is
# committed (no clang), and they use only /bin/sh, env, true, cat, mkdir, sleep.
test-deps-sensor:
	@true

.PHONY: test-deps-containers
# The container end-to-end tests (sensor/e2e TestPodmanContainers,
# TestContainerdCRIPod) run real containers: Debian's podman, runc and
# containerd (1.6, CRI), and busybox-static for the image's rootfs (no
# registry). Idempotent: installs only what is missing. The tests start
# their own podman API service and containerd (private root and socket).
test-deps-containers:
	@command -v podman >/dev/null && command -v runc >/dev/null && command -v containerd >/dev/null && dpkg -s busybox-static >/dev/null 2>&1 || \
		{ $(APT) update -qq && $(APT) install -y podman runc containerd busybox-static; }

.PHONY: bench-rules fuzz-rules
# bench-rules: the rule engine over the full stable ruleset (events/s, events/cpu-s, allocs/event).
bench-rules:
	$(GO) test -run '^$$' -bench . -benchmem -count 3 ./sensor/internal/rules/
# fuzz-rules: the condition parser and the YAML loader (FUZZTIME each).
FUZZTIME ?= 60s
fuzz-rules:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME) ./sensor/internal/rules/parse/
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./sensor/internal/rules/
	$(GO) test -run '^$$' -fuzz '^FuzzLoadMemory$$' -fuzztime $(FUZZTIME) ./sensor/internal/rules/

.PHONY: bpf bench-probe
# bpf regenerates sensor/internal/probe/bpf_{x86,arm64}_bpfel.{go,o} from bpf/.
# The output is committed, so only this target needs clang.
bpf:
	@command -v clang-19 >/dev/null || { $(APT) update -qq && $(APT) install -y clang-19 llvm-19; }
	$(GO) generate ./sensor/internal/probe/...

# bench-probe measures the probe's overhead and reader throughput (root, BTF kernel).
bench-probe:
	$(GO) test -run '^$$' -bench . -benchtime 1x -count 1 -timeout 20m ./sensor/internal/probe/...

## ---- sensor app, emit and end-to-end (issue 7) -------------------------------
.PHONY: test-deps-app
# The sensor end-to-end test (sensor/e2e, root) runs cat, ln, find, shred,
# sh and setpriv, and builds both programs with the go toolchain.
test-deps-app:
	@command -v shred >/dev/null && command -v find >/dev/null && command -v setpriv >/dev/null || \
		{ $(APT) update -qq && $(APT) install -y coreutils findutils util-linux; }

.PHONY: bench-sensor bench-sensor-throughput
# bench-sensor: overhead of the full sensor (default rules) on getppid, open+close and exec loops,
# as ratios of interleaved medians, plus the sensor's RSS and CPU idle and under load (root),
# then bench-sensor-throughput.
bench-sensor: bench-sensor-throughput
	$(GO) test -run '^$$' -bench "SensorOverhead|SensorIdle|SensorForkStorm" -benchtime 1x -count 1 -timeout 20m ./sensor/e2e/

# bench-sensor-throughput: the sensor pipeline (probe, reader, decode, state, the embedded rules)
# under open+close load from several writer threads: events/s offered and handled, exact kernel
# drops, sensor CPU and allocations per event; and the loop's one-core ceiling on a backlog
# (docs/benchmarks-probe.md, issue 19). Root. LOOKOUT_BENCH_SECONDS sets a load run's length.
bench-sensor-throughput:
	$(GO) test -run '^$$' -bench "SensorThroughput|SensorDrain" -benchtime 1x -count 1 -timeout 10m ./sensor/internal/app/

## ---- sensor k8s_audit source (issue 15) -----------------------------------
.PHONY: test-deps-k8s-audit bench-k8s-audit fuzz-k8s-audit
# sensor/e2e TestK8sAuditRealAPIServer runs a real kube-apiserver and etcd:
# etcd from Debian's etcd-server, kube-apiserver built once from the Go
# module proxy by the wrapper module sensor/tools/kube-apiserver into
# $(TOOLS)/bin (~10+ minutes cold on 2 cores; a stamp names the version).
KUBE_APISERVER := $(TOOLS)/bin/kube-apiserver
test-deps-k8s-audit:
	@command -v etcd >/dev/null || { $(APT) install -y etcd-server || { $(APT) update -qq && $(APT) install -y etcd-server; }; }
	GO=$(GO) ./sensor/tools/kube-apiserver/build.sh $(TOOLS)/bin

# bench-k8s-audit: decode + dedup + Falco's k8s_audit rules, events/s on one core.
bench-k8s-audit:
	$(GO) test -run '^$$' -bench Source -benchmem -cpu 1 -count 3 ./sensor/internal/k8saudit/
# fuzz-k8s-audit: the audit event decoder (FUZZTIME).
fuzz-k8s-audit:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./sensor/internal/k8saudit/

## ---- deploy (issue 8) ------------------------------------------------------
# The Helm chart, systemd units and Dockerfiles are validated offline by the
# Go module deploy/validate (kept out of go.work so its k8s.io dependencies
# never move the other modules' versions). helm is built from the Go module
# proxy once into $(TOOLS)/bin (several minutes cold); a stamp names the version.
.PHONY: test-deps-deploy test-deploy
HELM_VERSION        := v3.22.0
DEPLOY_KUBE_VERSION := 1.33.0
HELM                := $(TOOLS)/bin/helm
DEPLOY_CHART        := deploy/helm/lookout
test-deps-deploy:
	@command -v systemd-analyze >/dev/null && command -v busybox >/dev/null || \
		{ $(APT) install -y systemd busybox || { $(APT) update -qq && $(APT) install -y systemd busybox; }; }
	@if [ ! -x $(HELM) ] || [ ! -f $(TOOLS)/bin/.helm-$(HELM_VERSION) ]; then \
		echo "installing helm $(HELM_VERSION) (go install, several minutes on a cold cache)"; \
		start=$$(date +%s); \
		$(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION); \
		touch $(TOOLS)/bin/.helm-$(HELM_VERSION); \
		echo "helm installed in $$(( $$(date +%s) - start ))s"; \
	fi

# promtool checks and unit-tests the chart's alert rules (deploy/helm/lookout/monitoring).
# Taken from Debian's prometheus package (2.42, unpacked into .tools, the daemon is never
# installed or started): seconds, where `go install` of a current promtool took ~20 min cold
# on 2 cores and would eat half of the fresh-machine test budget.
PROMTOOL            := $(TOOLS)/bin/promtool
.PHONY: test-deps-promtool
test-deps-deploy: test-deps-promtool
test-deps-promtool:
	@if [ ! -x $(PROMTOOL) ]; then \
		rm -rf $(TOOLS)/tmp/prometheus-deb && mkdir -p $(TOOLS)/tmp/prometheus-deb $(TOOLS)/bin && \
		cd $(TOOLS)/tmp/prometheus-deb && \
		{ apt-get download prometheus 2>/dev/null || { $(APT) update -qq && apt-get download prometheus; }; } && \
		dpkg-deb -x prometheus_*.deb root && install -m 0755 root/usr/bin/promtool $(PROMTOOL) && \
		rm -rf $(TOOLS)/tmp/prometheus-deb && $(PROMTOOL) --version | head -1; \
	fi

test-deploy: $(BIN)/lookout-router $(BIN)/lookout-sensor
	$(PROMTOOL) check rules $(DEPLOY_CHART)/monitoring/lookout-alerts.yaml
	cd $(DEPLOY_CHART)/monitoring && $(PROMTOOL) test rules lookout-alerts.test.yaml
	$(HELM) template lookout $(DEPLOY_CHART) >/dev/null # no --kube-version: helm's default must work
	$(HELM) lint --strict --kube-version $(DEPLOY_KUBE_VERSION) $(DEPLOY_CHART)
	$(HELM) lint --strict --kube-version $(DEPLOY_KUBE_VERSION) -f $(DEPLOY_CHART)/ci/all-outputs-values.yaml $(DEPLOY_CHART)
	cd deploy/validate && GOWORK=off $(GO) vet ./...
	cd deploy/validate && GOWORK=off LOOKOUT_DEPLOY_TOOLS_REQUIRED=1 LOOKOUT_HELM=$(HELM) \
		LOOKOUT_ROUTER_BIN=$(BIN)/lookout-router LOOKOUT_SENSOR_BIN=$(BIN)/lookout-sensor $(GO) test $(GOTEST_FLAGS) ./...
	@# The objects the chart renders, validated by the CLI too; and a broken manifest must fail it.
	cd deploy/validate && GOWORK=off $(GO) build -o $(TOOLS)/bin/kvalidate ./cmd/kvalidate
	$(HELM) template lookout $(DEPLOY_CHART) --kube-version $(DEPLOY_KUBE_VERSION) \
		-f $(DEPLOY_CHART)/ci/all-outputs-values.yaml | $(TOOLS)/bin/kvalidate
	@if $(TOOLS)/bin/kvalidate deploy/validate/testdata/broken/unknown-field.yaml 2>/dev/null; then \
		echo "kvalidate accepted a broken manifest"; exit 1; else echo "kvalidate rejects a broken manifest: ok"; fi

## ---- benchmarks -----------------------------------------------------------
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(MODULES)

## ---- release (issue 17) ---------------------------------------------------
# make release: static binaries (CGO_ENABLED=0) for linux/amd64 and
# linux/arm64, the versioned Helm chart and SHA256SUMS in dist/. The container
# images are built from deploy/docker/*.Dockerfile with buildx where a
# container engine runs (release-images; docs/releasing.md); here their
# rootfs is assembled and run by deploy/validate's TestImageRootfs.
.PHONY: release release-images
RELEASE_ARCHES := amd64 arm64
DIST           := $(CURDIR)/dist
# The chart's version: the tag without its v on a tagged commit, else the
# chart's own version with a -dev pre-release of the commit count and hash.
CHART_BASE     := $(shell sed -n 's/^version: *//p' $(DEPLOY_CHART)/Chart.yaml)
CHART_VERSION  ?= $(shell t=$$(git describe --tags --exact-match 2>/dev/null) && echo $${t\#v} || \
                  echo $(CHART_BASE)-dev.$$(git rev-list --count HEAD 2>/dev/null || echo 0).g$$(git rev-parse --short HEAD 2>/dev/null || echo 0))
release: test-deps-deploy
	rm -rf $(DIST) && mkdir -p $(DIST)
	@for arch in $(RELEASE_ARCHES); do \
		echo "building linux/$$arch $(VERSION)"; \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -ldflags '-s -w $(LDFLAGS)' \
			-o $(DIST)/lookout-router-$(VERSION)-linux-$$arch ./router/cmd/lookout-router; \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -tags grpcnotrace -ldflags '-s -w $(LDFLAGS)' \
			-o $(DIST)/lookout-sensor-$(VERSION)-linux-$$arch ./sensor/cmd/lookout-sensor; \
	done
	$(HELM) package $(DEPLOY_CHART) --version $(CHART_VERSION) --app-version $(CHART_VERSION) -d $(DIST)
	cd $(DIST) && sha256sum * > SHA256SUMS && cat SHA256SUMS

# release-images: both images for both architectures (needs docker buildx;
# IMAGE_REPO and PUSH=--push to publish).
IMAGE_REPO ?= ghcr.io/lookout-sec
release-images:
	@command -v docker >/dev/null || { echo "release-images: no docker here; see docs/releasing.md"; exit 1; }
	for p in router sensor; do \
		docker buildx build --platform linux/amd64,linux/arm64 -f deploy/docker/$$p.Dockerfile \
			--build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) --build-arg BUILD_DATE=$(BUILD_DATE) \
			-t $(IMAGE_REPO)/lookout-$$p:$(CHART_VERSION) $(PUSH) . ; \
	done

## ---- housekeeping ---------------------------------------------------------
lint:
	$(GO) vet $(MODULES)
	@test -z "$$(gofmt -l router outputs sensor)" || { gofmt -l router outputs sensor; exit 1; }

fmt:
	gofmt -w router outputs sensor

clean:
	rm -rf $(BIN) $(DIST)
