# Silo — developer commands. `make help` lists them.
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

K8S_VERSION ?= 1.37.2
CACHE ?= $(CURDIR)/.cache
K8S_BIN := $(CACHE)/k8s/v$(K8S_VERSION)/bin
export KUBEBUILDER_ASSETS ?= $(K8S_BIN)
CONTROLLER_GEN := $(CURDIR)/bin/controller-gen
GINKGO_FLAGS ?= -ginkgo.no-color

.PHONY: help
help: ## List the targets.
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*?## "}{printf "  %-20s %s\n", $$1, $$2}'

##@ Generated code

$(CONTROLLER_GEN): go.mod
	@mkdir -p bin
	go build -o $@ sigs.k8s.io/controller-tools/cmd/controller-gen

# The PodMonitor CRD the tests serve (config/crd/external), generated from the pinned
# prometheus-operator types, whose module ships none.
PODMONITOR_TMP := $(CURDIR)/bin/podmonitor-crd

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Regenerate the CRD and RBAC manifests, and copy them into the chart.
	$(CONTROLLER_GEN) crd rbac:roleName=silo-manager paths=./api/... paths=./controllers/... \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
	$(CONTROLLER_GEN) crd paths=github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1 \
		output:crd:artifacts:config=$(PODMONITOR_TMP)
	@mv $(PODMONITOR_TMP)/monitoring.coreos.com_podmonitors.yaml config/crd/external/ && rm -rf $(PODMONITOR_TMP)
	@if [ -d charts/silo ]; then mkdir -p charts/silo/crds && rm -f charts/silo/crds/*.yaml && cp config/crd/bases/*.yaml charts/silo/crds/; fi
	@if [ -d charts/silo ]; then mkdir -p charts/silo/files/policies && rm -f charts/silo/files/policies/*.yaml && \
		for f in config/policies/*.yaml; do [ -f "$$f" ] && [ "$${f##*/}" != kustomization.yaml ] && cp "$$f" charts/silo/files/policies/; done; true; fi
	@if [ -x hack/chart-rbac.sh ]; then hack/chart-rbac.sh; fi

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Regenerate deepcopy code.
	$(CONTROLLER_GEN) object paths=./api/...

.PHONY: chart-readme
chart-readme: ## Regenerate charts/silo/README.md from Chart.yaml and the comments of values.yaml.
	go run ./hack/chart-readme charts/silo

.PHONY: verify-generated
verify-generated: manifests generate chart-readme ## Fail when generated files (CRDs, RBAC, deepcopy, the chart's copies and README) are stale.
	@if ! git diff --quiet -- api config charts || [ -n "$$(git ls-files --others --exclude-standard -- api config charts)" ]; then \
		echo "generated files are stale: run 'make manifests generate' and commit the result"; \
		git status --short -- api config charts; git --no-pager diff --stat -- api config charts; exit 1; fi
	@echo "generated files are up to date"

##@ Build

.PHONY: build
build: ## Build the operator binary into bin/silo.
	CGO_ENABLED=0 go build -trimpath -o bin/silo .

.PHONY: kubectl-silo
kubectl-silo: ## Build the kubectl plugin into bin/kubectl-silo (put bin/ on PATH: kubectl silo ...).
	CGO_ENABLED=0 go build -trimpath -o bin/kubectl-silo ./hack/kubectl-silo

.PHONY: run
run: ## Run the operator against the current kubeconfig.
	go run . --leader-elect=false

.PHONY: lint
lint: ## gofmt and go vet.
	@out=$$(gofmt -l api controllers test hack main.go); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...

##@ Tests

.PHONY: k8s-binaries
k8s-binaries: ## Build kube-apiserver and etcd for envtest (cached in .cache/).
	@SILO_CACHE=$(CACHE) hack/k8s-binaries.sh test >/dev/null

.PHONY: test
test: lint check-rules test-unit test-integration test-conformance test-e2e ## Every test tier that fits in CI (the e2e tier on the local kwok cluster: pods are simulated).

.PHONY: check-rules
check-rules: ## promtool check rules and test rules on the chart's rendered PrometheusRule (promtool and helm built into the cache).
	SILO_CACHE=$(CACHE) hack/check-rules.sh

.PHONY: test-unit
test-unit: ## Table tests of builders and status.
	go test ./api/... ./controllers/... ./hack/chart-readme/... -count=1

BENCH_TENANTS ?= 50

.PHONY: bench
bench: k8s-binaries ## Benchmark against envtest and the API server's ceiling (BENCH_TENANTS=50; BENCH_WRITE=1 updates docs/benchmarks.md).
	BENCH_TENANTS=$(BENCH_TENANTS) go run ./test/bench

.PHONY: bench-compare
bench-compare: k8s-binaries ## Operator CPU per provisioned Tenant of BENCH_BASE=<git rev> against the tree's, alternating runs in the same conditions.
	@test -n "$(BENCH_BASE)" || { echo "set BENCH_BASE to a git revision, e.g. make bench-compare BENCH_BASE=v0.1.0"; exit 2; }
	BENCH_TENANTS=$(BENCH_TENANTS) hack/bench-compare.sh $(BENCH_BASE)

.PHONY: bench-headline
bench-headline: k8s-binaries ## The headline pair on a quiet machine: 200 then 1,000 Tenants, both written to docs/benchmarks.md.
	$(MAKE) bench BENCH_TENANTS=200 BENCH_WRITE=1
	$(MAKE) bench BENCH_TENANTS=1000 BENCH_WRITE=1

.PHONY: bench-rollout
bench-rollout: k8s-binaries ## A class rollout of a new app image across BENCH_TENANTS Tenants (maxUnavailable 10%) against the API server's ceiling.
	BENCH_TENANTS=$(BENCH_TENANTS) go run ./test/bench rollout

.PHONY: bench-backup
bench-backup: k8s-binaries ## One scheduled round of snapshots (checkpoint Jobs, VolumeSnapshots, retention, status) across BENCH_TENANTS Tenants: operator writes and CPU.
	BENCH_TENANTS=$(BENCH_TENANTS) go run ./test/bench backup

.PHONY: bench-ci
bench-ci: ## The benchmark's CI smoke run: 20 Tenants, about 2 minutes; fails on writes in steady state or after a restart.
	$(MAKE) bench BENCH_TENANTS=20 BENCH_UNRELATED=1000 BENCH_DRIFT=20

CHAOS_TENANTS ?= 200
CHAOS_KILLS ?= 20

.PHONY: test-chaos
test-chaos: k8s-binaries ## Chaos: CHAOS_TENANTS=200 full Tenants while the operator is SIGKILLed CHAOS_KILLS=20 times and kube-apiserver restarts (CHAOS_SEED replays; CHAOS_WRITE=1 updates docs/chaos.md).
	CHAOS_TENANTS=$(CHAOS_TENANTS) CHAOS_KILLS=$(CHAOS_KILLS) go run ./test/chaos

.PHONY: test-chaos-smoke
test-chaos-smoke: ## The chaos tier's CI run: 20 Tenants, 5 kills, a kube-apiserver restart, 20 fuzzed specs, 5 fights.
	$(MAKE) test-chaos CHAOS_TENANTS=20 CHAOS_KILLS=5 CHAOS_FUZZ=20 CHAOS_FIGHTS=5 CHAOS_QUIET=5

.PHONY: test-integration
test-integration: k8s-binaries ## Controller behaviour against a real kube-apiserver and etcd (envtest), and the kubectl plugin's golden output.
	go test ./test/integration/... -count=1 -timeout 20m $(GINKGO_FLAGS)
	go test ./hack/kubectl-silo/... -count=1 -timeout 5m

.PHONY: test-conformance
test-conformance: k8s-binaries ## Multi-tenancy conformance (MTB profile level 1 and Silo's guardrails) on envtest; prints a table of checks.
	go test ./test/conformance/... -count=1 -v -timeout 20m $(GINKGO_FLAGS)

##@ Local cluster (real control plane, kwok fake nodes: pods are simulated, no containers)

# The fleet rollout spec (20 Tenants rolled in batches, about a minute) runs in its own
# target, test-e2e-fleet, which CI runs after make test: it keeps make test inside its
# time budget. The backup spec installs the snapshot CRDs, runs the CSI snapshot
# controller (built once per version into the cache) and restarts the operator: it
# runs in its own target too, test-e2e-backup.
E2E_FLAGS ?= '-ginkgo.label-filter=!fleet && !backup'

.PHONY: cluster-up
cluster-up: ## Start the local cluster (or reuse it); kubeconfig in .cache/local-cluster/kubeconfig.
	SILO_CACHE=$(CACHE) hack/local-cluster.sh up

.PHONY: cluster-down
cluster-down: ## Delete the local cluster.
	SILO_CACHE=$(CACHE) hack/local-cluster.sh down

.PHONY: demo
demo: ## Local cluster + chart + operator + sample Tenants, watched until Ready.
	SILO_CACHE=$(CACHE) hack/demo.sh up

.PHONY: demo-down
demo-down: ## Stop the demo's operator and delete the local cluster.
	SILO_CACHE=$(CACHE) hack/demo.sh down

.PHONY: kubectl-mtb
kubectl-mtb: ## Build the Multi-Tenancy Benchmarks CLI into the cache (KUBECTL_MTB_SRC=checkout when the module proxy does not serve it).
	@SILO_CACHE=$(CACHE) hack/kubectl-mtb.sh build

.PHONY: mtb
mtb: ## Run kubectl-mtb (profile levels 1 and 2) as two tenant admins against the local cluster, with the operator running.
	SILO_CACHE=$(CACHE) hack/kubectl-mtb.sh run

.PHONY: test-e2e-fleet
test-e2e-fleet: ## End-to-end: 20 Tenants of a class roll to a new image in batches of maxUnavailable, sampled from outside.
	$(MAKE) test-e2e E2E_FLAGS=-ginkgo.label-filter=fleet

.PHONY: test-e2e-backup
test-e2e-backup: ## End-to-end backups: the snapshot CRDs and the real CSI snapshot controller (built from the Go module proxy into the cache, once per version); no CSI driver, so Silo must report BackupFailed.
	@start=$$(date +%s); SILO_CACHE=$(CACHE) hack/snapshot-controller.sh build >/dev/null; \
	echo "=== snapshot controller built (or found in the cache) in $$(( $$(date +%s) - start ))s"
	$(MAKE) test-e2e E2E_FLAGS=-ginkgo.label-filter=backup

.PHONY: test-e2e
test-e2e: ## End-to-end: the chart installed by helm on the local cluster, the operator as its ServiceAccount.
	@start=$$(date +%s); \
	SILO_CACHE=$(CACHE) hack/local-cluster.sh up; \
	up=$$(date +%s); echo "=== local cluster up in $$((up - start))s"; \
	rc=0; SILO_CACHE=$(CACHE) go test ./test/e2e/... -count=1 -timeout 15m $(GINKGO_FLAGS) $(E2E_FLAGS) || rc=$$?; \
	end=$$(date +%s); echo "=== e2e specs in $$((end - up))s; test-e2e total $$((end - start))s"; exit $$rc
