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

.PHONY: all build generate verify-generated deps controlplane controlplane-tools test e2e fuzz bench-pst bench-migrate bench-freebusy demo demo-down vet fmt clean

all: build

build: generate
	CGO_ENABLED=0 go build -o $(BIN)/manager ./cmd/manager
	CGO_ENABLED=0 go build -o $(BIN)/mailshift ./cmd/mailshift

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

## verify-generated: fails when `make generate` would change a checked-in file.
verify-generated: generate
	@if [ -n "$$(git status --porcelain -- api config/crd config/rbac config/inprocess)" ]; then \
	  echo "generated files are stale; run 'make generate' and commit:"; git status --porcelain -- api config/crd config/rbac config/inprocess; \
	  git diff --stat -- api config/crd config/rbac config/inprocess; exit 1; fi

## deps: Debian packages for the real servers (Dovecot, Cyrus) used by tests and the demo, readpst, and the
## independent parsers the conversion tests check their output with.
deps:
	bash hack/install-deps.sh imap pst oracle ftp

## controlplane: etcd, kube-apiserver, kube-controller-manager (the real Job controller and garbage collector
## for e2e/) and kubectl, built from source into the cache.
controlplane:
	bash hack/build-controlplane.sh etcd kube-apiserver kube-controller-manager kubectl

## controlplane-tools: the same (kept for old habits: kubectl is part of controlplane now).
controlplane-tools: controlplane

vet:
	go vet ./...

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## test: unit tests, envtest controller tests and integration tests against real Dovecot and Cyrus.
# The full verbose log goes to $(CACHE)/test.log; the terminal shows every test and subtest by name (so it is
# plain which ran against Dovecot and which against Cyrus), their messages, and each package's result.
test: verify-generated fmt vet deps controlplane
	@mkdir -p $(CACHE)
	go test -v -count=1 -timeout 25m $(GO_TEST_FLAGS) ./... 2>&1 | tee $(CACHE)/test.log | \
	  grep --line-buffered -E '^\s*--- (PASS|FAIL|SKIP)|^(ok|FAIL|panic:)|^\s+\S+_test\.go:[0-9]+:'
	bash hack/fuzz-brief.sh
	@echo "tests: $$(grep -cE '^\s*--- PASS' $(CACHE)/test.log) passed, $$(grep -cE '^\s*--- FAIL' $(CACHE)/test.log) failed, $$(grep -cE '^\s*--- SKIP' $(CACHE)/test.log) skipped"

## e2e: MailboxMigrations and MigrationBatches on a real local cluster (etcd, kube-apiserver,
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

## bench-migrate: mailshift migrate IMAP to IMAP against mbsync and the server's raw APPEND ceiling, on one local
## Dovecot, on loopback and with 5 ms latency each way (BENCH_MESSAGES, BENCH_LATENCY_MESSAGES, BENCH_SKIP_LATENCY=1).
bench-migrate: deps
	bash hack/bench-migrate.sh

## bench-freebusy: free/busy of a 10,000-event calendar (1,000 recurring series): parse, expand, merge, write;
## the target is under 1 s of CPU (cpu-ms/op), with the parser and the expansion measured alone beside it.
bench-freebusy:
	go test -run '^$$' -bench 'BenchmarkFreeBusy10000|BenchmarkRead10000|BenchmarkCompute10000' -benchtime 10x \
	  ./internal/calendarsource/ ./internal/calobject/ ./internal/freebusy/

## demo: the operator doing real work on a local control plane and a local Dovecot.
demo: deps controlplane-tools build
	bash hack/demo.sh

demo-down:
	bash hack/demo.sh down

clean:
	rm -rf $(BIN)
