# mailshift: the two commands a newcomer needs are `make demo` and `make test`. Everything else is a step of
# those, usable alone.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

# Built tools and servers are cached here; CI points it outside the clone so that runs share it.
CACHE ?= $(or $(MAILSHIFT_CACHE),$(CURDIR)/.cache)
export MAILSHIFT_CACHE := $(CACHE)
BIN := $(CURDIR)/bin
CONTROLLER_GEN_VERSION := v0.20.0
CONTROLLER_GEN := $(CACHE)/bin/controller-gen-$(CONTROLLER_GEN_VERSION)
CONTROLPLANE := $(CACHE)/controlplane/bin
export KUBEBUILDER_ASSETS := $(CONTROLPLANE)
GO_TEST_FLAGS ?=

.PHONY: all build generate verify-generated deps controlplane controlplane-tools hydra test e2e fuzz bench-pst bench-migrate bench-sync bench-freebusy demo demo-down vet fmt clean

all: build

build: generate
	CGO_ENABLED=0 go build -o $(BIN)/manager ./cmd/manager
	CGO_ENABLED=0 go build -o $(BIN)/mailshift ./cmd/mailshift
	CGO_ENABLED=0 go build -o $(BIN)/kubectl-mailshift ./cmd/kubectl-mailshift

$(CONTROLLER_GEN):
	mkdir -p $(CACHE)/bin
	GOBIN=$(CACHE)/bin go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VERSION)
	mv $(CACHE)/bin/controller-gen $(CONTROLLER_GEN)

## generate: deepcopy functions, CRDs and RBAC from the Go types and markers.
generate: $(CONTROLLER_GEN)
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...
	$(CONTROLLER_GEN) crd:allowDangerousTypes=false paths=./api/... output:crd:artifacts:config=config/crd/bases
	$(CONTROLLER_GEN) rbac:roleName=mailshift-manager paths=./controllers output:rbac:artifacts:config=config/rbac
	$(CONTROLLER_GEN) rbac:roleName=mailshift-manager-jobs paths=./controllers/rbac/jobexecutor output:rbac:artifacts:config=config/rbac/jobexecutor
	$(CONTROLLER_GEN) rbac:roleName=mailshift-manager-inprocess paths=./controllers/rbac/inprocess output:rbac:artifacts:config=config/inprocess
	$(MAKE) --no-print-directory chart-generate

## verify-generated: fails when `make generate` would change a checked-in file.
verify-generated: generate
	@if [ -n "$$(git status --porcelain -- api config/crd config/rbac config/inprocess charts/mailshift/files)" ]; then \
	  echo "generated files are stale; run 'make generate' and commit:"; git status --porcelain -- api config/crd config/rbac config/inprocess charts/mailshift/files; \
	  git diff --stat -- api config/crd config/rbac config/inprocess charts/mailshift/files; exit 1; fi

## deps: Debian packages for the real servers (Dovecot, Cyrus) used by tests and the demo, readpst, the
## independent parsers the conversion tests check their output with, and the Outlook connector's toolchain
## (mingw-w64, Wine, msitools/wixl, osslsigncode).
deps:
	bash hack/install-deps.sh imap pst oracle ftp wine

## controlplane: etcd, kube-apiserver, kube-controller-manager (the real Job controller and garbage collector
## for e2e/) and kubectl, built from source into the cache.
controlplane:
	bash hack/build-controlplane.sh etcd kube-apiserver kube-controller-manager kubectl

## hydra: Ory Hydra, a real OAuth 2.0 authorization server, built from source into the cache for the Mailbox
## OAuth2 tests.
hydra:
	bash hack/build-hydra.sh

## controlplane-tools: the same (kept for old habits: kubectl is part of controlplane now).
controlplane-tools: controlplane

vet:
	go vet ./...

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## test: lint, unit tests, envtest controller tests and integration tests against real Dovecot and Cyrus, the
## packages with shared-state goroutines under the race detector.
# The full verbose log goes to $(CACHE)/test.log; the terminal shows every test and subtest by name (so it is
# plain which ran against Dovecot and which against Cyrus), their messages, and each package's result.
test: verify-generated fmt vet deps lint controlplane hydra
	@mkdir -p $(CACHE)
	@# The image's -trimpath builds for both platforms, once and alone, before the tests that need them (the
	@# image, e2e, chart and release tests) start them side by side on a cold build cache.
	go run ./hack/imagebuild/cmd/imagebuild build --version v0.0.0-warm --platforms linux/amd64,linux/arm64 \
	  --out $(CACHE)/image-warm/layout --tarball $(CACHE)/image-warm/image.tar >/dev/null
	go test -v -count=1 -timeout 25m $(GO_TEST_FLAGS) $(NON_RACE_PKGS) 2>&1 | tee $(CACHE)/test.log | \
	  grep --line-buffered -E '^\s*--- (PASS|FAIL|SKIP)|^(ok|FAIL|panic:)|^\s+\S+_test\.go:[0-9]+:'
	@# The packages whose goroutines share state run once, under the race detector (see test-race).
	go test -race -v -count=1 -timeout 30m $(GO_TEST_FLAGS) $(RACE_PKGS) 2>&1 | tee -a $(CACHE)/test.log | \
	  grep --line-buffered -E '^\s*--- (PASS|FAIL|SKIP)|^(ok|FAIL|panic:)|^\s+\S+_test\.go:[0-9]+:|^WARNING: DATA RACE'
	cd hack/chart && go vet ./... && go test -v -count=1 -timeout 20m $(GO_TEST_FLAGS) ./... 2>&1 | tee -a $(CACHE)/test.log | \
	  grep --line-buffered -E '^\s*--- (PASS|FAIL|SKIP)|^(ok|FAIL|panic:)|^\s+\S+_test\.go:[0-9]+:'
	bash hack/fuzz-brief.sh
	@echo "tests: $$(grep -cE '^\s*--- PASS' $(CACHE)/test.log) passed, $$(grep -cE '^\s*--- FAIL' $(CACHE)/test.log) failed, $$(grep -cE '^\s*--- SKIP' $(CACHE)/test.log) skipped"

## e2e: MailboxMigrations, MigrationBatches and SyncPolicies on a real local cluster (etcd, kube-apiserver,
## kube-controller-manager, a process-based stand-in for the kubelet) with a real Dovecot. `make test` runs it too.
e2e: deps controlplane
	go test -v -count=1 -timeout 25m ./e2e/... 2>&1 | tee $(CACHE)/e2e.log | \
	  grep --line-buffered -E '^\s*--- (PASS|FAIL|SKIP)|^(ok|FAIL|panic:)|^\s+\S+_test\.go:[0-9]+:'
	@! grep -qE '^\s*--- FAIL|^FAIL|^panic:' $(CACHE)/e2e.log

## fuzz: every fuzz target for FUZZTIME each (default 5s; e.g. FUZZTIME=5m make fuzz).
fuzz:
	bash hack/fuzz-brief.sh

## bench-pst: mailshift's PST reader and its whole `pst export` (eml and mbox) against readpst on the same
## fixtures, in the same run (PARTS="read export", ROUNDS=7).
bench-pst: deps
	bash hack/bench-pst.sh

## bench-migrate: mailshift migrate IMAP to IMAP against mbsync and the server's raw APPEND ceiling, per storage
## format (Dovecot Maildir, sdbox, mdbox; Cyrus) and corpus (MIME, plain text), on loopback and with 5 ms latency
## each way (BENCH_FORMATS, BENCH_CORPORA, BENCH_MESSAGES, BENCH_ROUNDS, BENCH_SKIP_LATENCY=1; see the script).
bench-migrate: deps
	bash hack/bench-migrate.sh

## bench-sync: a two-way mailshift sync cycle after 50 changes on each side, and a no-op cycle, against mbsync,
## per storage format, on loopback and with 5 ms latency each way (BENCH_FORMATS, BENCH_CORPUS, BENCH_MESSAGES,
## BENCH_ROUNDS, BENCH_SKIP_LATENCY=1; see the script).
bench-sync: deps
	bash hack/bench-sync.sh

## bench-freebusy: free/busy of a 10,000-event calendar (1,000 recurring series): parse, expand, merge, write;
## the target is under 1 s of CPU (cpu-ms/op), with the parser and the expansion measured alone beside it.
bench-freebusy:
	go test -run '^$$' -bench 'BenchmarkFreeBusy10000|BenchmarkRead10000|BenchmarkCompute10000' -benchtime 10x \
	  ./internal/calendarsource/ ./internal/calobject/ ./internal/freebusy/

## bench-scale: the manager binary on a local control plane with one Dovecot: 1,000 Mailboxes, 1,000 FolderShares
## and 200 FreeBusyPublications applied at once; time to Ready, reconciles and IMAP logins per minute at steady
## state, RSS; targets RSS < 256 MiB and at most one login per object per resync period (SCALE_MAILBOXES,
## SCALE_SHARES, SCALE_PUBLICATIONS, SCALE_WINDOW=4m, SCALE_RESYNC=2m, SCALE_MANAGER=<binary>; about 8 minutes).
## Exits 3 when a target is missed.
.PHONY: bench-scale
bench-scale: deps controlplane
	bash hack/bench-scale.sh

## lint: golangci-lint (version pinned in hack/lint.sh, built once into the cache) with .golangci.yml, on the
## main module and hack/chart.
.PHONY: lint
lint:
	bash hack/lint.sh

## demo: the operator doing real work on a local control plane and a local Dovecot.
demo: deps controlplane-tools build
	bash hack/demo.sh

demo-down:
	bash hack/demo.sh down

clean:
	rm -rf $(BIN)

## image: the container image, built without a container engine: static /manager and /mailshift for
## IMAGE_PLATFORMS as an OCI image layout in dist/image and one tar file of it; prints the index digest.
## Reproducible: times come from SOURCE_DATE_EPOCH, else the commit's time, so one commit gives one digest.
.PHONY: image push push-needs-image
IMAGE_PLATFORMS ?= linux/amd64,linux/arm64
IMAGE_LAYOUT ?= dist/image
IMAGE_TARBALL ?= dist/mailshift-image.oci.tar
IMAGE_VERSION ?= $(or $(VERSION),$(shell git describe --tags --always --dirty 2>/dev/null),dev)
image:
	go run ./hack/imagebuild/cmd/imagebuild build --version '$(IMAGE_VERSION)' --platforms '$(IMAGE_PLATFORMS)' \
	  --out '$(IMAGE_LAYOUT)' --tarball '$(IMAGE_TARBALL)'

## push: builds the image (same commit, same digest) and pushes it to IMAGE=registry/name:tag with the
## credentials of `docker login`; a registry on 127.0.0.1 or localhost is spoken to over HTTP.
push: push-needs-image image
	go run ./hack/imagebuild/cmd/imagebuild push --layout '$(IMAGE_LAYOUT)' --image '$(IMAGE)'

push-needs-image:
	@if [[ -z '$(IMAGE)' ]]; then echo "make push needs IMAGE=registry/name:tag, e.g. make push IMAGE=ghcr.io/mailshift/mailshift:v0.2.0" >&2; exit 2; fi

## release: a release into dist/ (`make release VERSION=v0.2.0`): the CLI archives for Linux, macOS and Windows
## on amd64 and arm64, the image as an OCI layout and tarball (its digest in image-digest.txt), the Helm chart,
## install.yaml (CRDs, RBAC and the manager pinned to the image digest), the krew manifest, the Outlook
## connector (DLL and MSI for x64 and x86, its MAPISVC.INF fragment), an SPDX SBOM and SHA256SUMS over all of
## them. Dates come from SOURCE_DATE_EPOCH, else the commit's time. The connector's files are Authenticode-signed
## with SIGN_CERT and SIGN_KEY (PEM files) or SIGN_CERT_PEM and SIGN_KEY_PEM (PEM text), SIGN_KEY_PASSWORD for
## an encrypted key, SIGN_TIMESTAMP_URL for a timestamp; without them the release fails, unless UNSIGNED=1 asks
## for an unsigned one that is not to be published (docs/outlook-connector.md).
.PHONY: release
DIST ?= $(CURDIR)/dist
UNSIGNED ?=
release:
	@if [[ -z "$${VERSION:-}" ]]; then echo "make release needs VERSION=vMAJOR.MINOR.PATCH[-pre], e.g. make release VERSION=v0.2.0" >&2; exit 2; fi
	@if ! [[ "$${VERSION}" =~ ^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$$ ]]; then \
	  echo "make release: VERSION=$${VERSION} is not vMAJOR.MINOR.PATCH[-pre] (e.g. v0.2.0 or v0.3.0-rc.1)" >&2; exit 2; fi
	bash hack/build-controlplane.sh kubectl
	@# The connector's toolchain (mingw-w64, wixl, msitools, osslsigncode), not the test servers of `make deps`.
	bash hack/install-deps.sh wine
	rm -rf $(DIST)
	go run ./hack/release --version "$${VERSION}" --out $(DIST) --kubectl $(CONTROLPLANE)/kubectl $(if $(filter 1,$(UNSIGNED)),--unsigned)

## chart-generate: copies the generated CRDs and Roles into the Helm chart (charts/mailshift/files); `make
## generate` should end with it. The chart's tests fail when a copy is stale.
.PHONY: chart-generate chart-test chart-package
chart-generate:
	cd hack/chart && go run ./cmd/chartsync --repo ../..

## chart-test: the Helm chart's tests (own Go module, hack/chart): render, lint, schema, a server-side dry run
## on a real kube-apiserver, and the e2e (real image from a loopback registry, install, upgrade, uninstall).
# `go vet` first compiles every test package, before the e2e's own `go build` of the image shares the cache.
chart-test: controlplane deps
	cd hack/chart && go vet ./... && go test -count=1 -timeout 20m $(GO_TEST_FLAGS) ./...

## chart-package: the chart as dist/mailshift-<CHART_VERSION>.tgz (CHART_VERSION=0.2.0 APP_VERSION=v0.2.0).
chart-package:
	@if [[ -z '$(CHART_VERSION)' || -z '$(APP_VERSION)' ]]; then echo "make chart-package needs CHART_VERSION=0.2.0 APP_VERSION=v0.2.0" >&2; exit 2; fi
	cd hack/chart && go run ./cmd/package --chart ../../charts/mailshift --version '$(CHART_VERSION)' --app-version '$(APP_VERSION)' --out $(CURDIR)/dist

## observability-test: what the manager serves and what reads it: the progress counters and per-object
## gauges on a real kube-apiserver, suspension ending Reconciling, the Argo CD health script under the Lua
## interpreter Argo CD embeds, and the alerts and dashboard (files in charts/mailshift/files) parsed with
## Prometheus' own parser and checked against the manager's registry (the last in hack/chart's module).
.PHONY: observability-test
observability-test: controlplane deps
	go test -count=1 ./config/argocd/ ./internal/enginemetrics/
	go test -count=1 -run 'TestProgressCountersCountEachReportOnce|TestResourceMetricsFollowTheCache|TestSuspended' ./controllers/
	cd hack/chart && go test -count=1 -run 'TestAlertsAndDashboardUseServedMetrics|TestCheckFindsMisspelledMetrics|TestRunbooksExist|TestAlertsFire' .

## test-race: the packages whose code runs goroutines that share state (the copy engine, the IMAP layer, the
## controllers, free/busy, the in-process run, FTP publication, mail sync) under the race detector. `make test` runs
## RACE_PKGS with -race and NON_RACE_PKGS (every other package of the main module) without it, so that no
## test runs twice. ./internal/imap... matches the IMAP layer's packages whatever they are called.
.PHONY: test-race
RACE_PKGS := ./worker/... ./internal/imap... ./internal/freebusy/... ./internal/calendarsource/... \
  ./internal/migrationrun/... ./internal/ftppublish/... ./internal/mailsync/... ./controllers/...
NON_RACE_PKGS = $(shell go list ./... | grep -vxF -e "$$(go list $(RACE_PKGS))")
test-race: deps controlplane
	go test -race -count=1 -timeout 30m $(GO_TEST_FLAGS) $(RACE_PKGS)
