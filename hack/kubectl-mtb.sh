#!/usr/bin/env bash
# Builds the Multi-Tenancy Benchmarks CLI (kubectl-mtb, from the archived
# kubernetes-sigs/multi-tenancy repository) into the cache, and runs it as two
# tenant admins against Silo on the current cluster (by default the local cluster of
# hack/local-cluster.sh). Nothing of its source is kept in this repository.
#
#   hack/kubectl-mtb.sh build   # -> $SILO_CACHE/kubectl-mtb/bin/kubectl-mtb
#   hack/kubectl-mtb.sh run     # two Tenants, kubectl-mtb at profile level 2, its table
#
# Where the source comes from, in order:
#   1. the Go module proxy, module sigs.k8s.io/multi-tenancy/benchmarks/kubectl-mtb at
#      KUBECTL_MTB_VERSION (the pseudo-version of the repository's last commit);
#   2. KUBECTL_MTB_SRC: a checkout of kubernetes-sigs/multi-tenancy (or its
#      benchmarks/kubectl-mtb folder), for proxies that do not serve the module.
# The build is upstream's own (`go generate`, then `go build`), with one replace: the
# module vbom.ml/util it needs is gone from its vanity host and lives on as
# github.com/fvbommel/util. Its other dependencies come from the Go module proxy.
#
# Environment: SILO_CACHE (default .cache), KUBECONFIG (default the local cluster's,
# .cache/local-cluster/kubeconfig),
# KUBECTL_MTB_VERSION, KUBECTL_MTB_SRC.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SILO_CACHE:-$ROOT/.cache}"
case "$CACHE" in /*) ;; *) CACHE="$ROOT/$CACHE" ;; esac
MODULE=sigs.k8s.io/multi-tenancy/benchmarks/kubectl-mtb
VERSION="${KUBECTL_MTB_VERSION:-v0.0.0-20210528174024-5fa490746bf8}"
VBOM_REPLACE=github.com/fvbommel/util@v0.0.0-20160121211510-db5cfe13f5cc
DIR="$CACHE/kubectl-mtb"
BIN="$DIR/bin/kubectl-mtb"

log() { echo "[kubectl-mtb] $*" >&2; }

# source_dir prints a folder holding kubectl-mtb's go.mod.
source_dir() {
  local json dir
  if json=$(GOFLAGS=-mod=mod go mod download -json "$MODULE@$VERSION" 2>/dev/null) &&
    dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p' <<<"$json") && [ -n "$dir" ]; then
    echo "$dir"
    return
  fi
  log "the Go module proxy does not serve $MODULE@$VERSION:"
  GOFLAGS=-mod=mod go mod download -json "$MODULE@$VERSION" 2>&1 | sed -n 's/^[[:space:]]*"Error": //p' >&2 || true
  if [ -n "${KUBECTL_MTB_SRC:-}" ]; then
    for d in "$KUBECTL_MTB_SRC" "$KUBECTL_MTB_SRC/benchmarks/kubectl-mtb"; do
      if [ -f "$d/go.mod" ] && grep -q "^module $MODULE\$" "$d/go.mod"; then
        echo "$d"
        return
      fi
    done
    log "KUBECTL_MTB_SRC=$KUBECTL_MTB_SRC holds no go.mod of module $MODULE"
    exit 1
  fi
  log "set KUBECTL_MTB_SRC to a checkout of https://github.com/kubernetes-sigs/multi-tenancy"
  exit 1
}

build() {
  if [ -x "$BIN" ]; then
    echo "$BIN"
    return
  fi
  local src
  src=$(source_dir)
  log "building from $src (go generate, go build; about a minute the first time)"
  rm -rf "$DIR/src"
  mkdir -p "$DIR/src" "$DIR/bin"
  # Module cache folders are read-only; generate writes into the copy.
  (cd "$src" && tar --exclude=./releases -cf - .) | tar -xf - -C "$DIR/src"
  chmod -R u+w "$DIR/src"
  (
    cd "$DIR/src"
    export GOFLAGS=-mod=mod
    go mod edit -replace "vbom.ml/util=$VBOM_REPLACE"
    go generate ./... >&2
    go build -o "$BIN" ./cmd/kubectl-mtb
  )
  log "built $BIN"
  echo "$BIN"
}

# Two Tenants with one User owner each, as plain as a Tenant gets: every refusal the
# benchmark sees is then one of the fences, not of placement.
tenants() {
  local t
  for t in a b; do
    cat <<YAML
---
apiVersion: silo.dev/v1alpha1
kind: Tenant
metadata: {name: mtb-$t}
spec:
  owners: [{kind: User, name: mtb-admin-$t}]
  app: {image: docker.io/library/busybox:1.37}
  deletionPolicy: Delete
YAML
  done
}

run() {
  local bin
  bin=$(build)
  export KUBECONFIG="${KUBECONFIG:-${SILO_CLUSTER_STATE:-$ROOT/.cache/local-cluster}/kubeconfig}"
  command -v kubectl >/dev/null || { log "kubectl is needed on PATH"; exit 1; }
  tenants | kubectl apply -f - >&2
  for t in mtb-a mtb-b; do
    local i
    for i in $(seq 1 120); do
      kubectl -n "tenant-$t" get rolebinding silo-tenant-owners >/dev/null 2>&1 && break
      [ "$i" = 120 ] && { log "tenant-$t has no owners' RoleBinding after 60s: is the operator running?"; exit 1; }
      sleep 0.5
    done
  done
  # MTB-PL1-CC-DI-1 (imagePullPolicy Always) is the node's and the platform's
  # choice, not Silo's: see docs/security.md.
  local rc=0
  "$bin" run benchmarks -p 2 -n tenant-mtb-a,tenant-mtb-b --as mtb-admin-a,mtb-admin-b \
    -l app.kubernetes.io/managed-by=silo -s MTB-PL1-CC-DI-1 || rc=$?
  if [ "${KEEP_TENANTS:-}" != 1 ]; then
    kubectl delete tenant mtb-a mtb-b --wait=false >&2 || true
  fi
  return $rc
}

case "${1:-}" in
  build) build ;;
  run) run ;;
  *) echo "usage: $0 build|run" >&2; exit 2 ;;
esac
