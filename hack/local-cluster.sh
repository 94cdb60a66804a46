#!/usr/bin/env bash
# A local Kubernetes cluster with no container runtime, for `make demo` and the
# end-to-end tests: the real kube-apiserver, etcd, kube-controller-manager and
# kube-scheduler run as local processes (kwokctl's "binary" runtime), and kwok plays
# the kubelet of a few fake nodes. Pods are SIMULATED: kwok marks them Running and
# Ready, no container ever starts. Everything else is real: scheduling (node affinity,
# taints), the namespace controller, garbage collection, RBAC, admission, and volumes
# provisioned by the host-path provisioner.
#
# Usage: hack/local-cluster.sh up|down|status|kubeconfig|pool NAME...|runtimeclass NAME...
#   up            create the cluster (or reuse a healthy one), add nodes and StorageClasses
#   down          delete the cluster and its state
#   status        say whether it runs, and list its nodes
#   kubeconfig    print the path of the admin kubeconfig
#   pool          add a dedicated node pool: a node per region, labelled and tainted
#                 silo.dev/node-pool=NAME
#   runtimeclass  add a RuntimeClass (pods using it are simulated like any other)
#
# Nodes: two per region (eu-west-1, us-east-1; label topology.kubernetes.io/region),
# and the pool "dedicated" (label silo.dev/node-pool=dedicated, taint
# silo.dev/node-pool=dedicated:NoSchedule). StorageClasses: "standard" (the default)
# and local-<region>, all host-path, binding at once.
#
# State lives in .cache/local-cluster/ (kubeconfig: .cache/local-cluster/kubeconfig).
# The Kubernetes binaries come from hack/k8s-binaries.sh (built from the Go module
# proxy on first use; SILO_CACHE chooses their cache folder).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NAME="${SILO_CLUSTER_NAME:-silo}"
STATE="${SILO_CLUSTER_STATE:-$ROOT/.cache/local-cluster}"
KUBECONFIG_FILE="$STATE/kubeconfig"
export KWOK_WORKDIR="$STATE/kwok"
# Fake nodes, the dedicated pool and the regions the demo and the tests use.
REGIONS=(eu-west-1 us-east-1)
POOL="${SILO_CLUSTER_POOL:-dedicated}"
SERVICE_CIDR=10.96.0.0/16

log() { printf '[local-cluster] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# need_kubectl puts a kubectl on PATH: the one there, else one built from the Go
# module proxy into the cache (hack/k8s-binaries.sh kubectl), as the other binaries.
need_kubectl() {
  command -v kubectl >/dev/null 2>&1 && return
  log "kubectl is not on PATH: building it from the Go module proxy into the cache (once)"
  PATH="$("$ROOT/hack/k8s-binaries.sh" kubectl):$PATH"
}

binaries() {
  BIN="${SILO_CACHE:-$ROOT/.cache}/k8s/v${K8S_VERSION:-1.37.2}/bin"
  KWOKCTL="$BIN/kwokctl"
  # status and down never build anything.
  [ "${1:-}" = build ] || { [ -x "$KWOKCTL" ] || die "no kwokctl in $BIN: nothing was started (run: hack/local-cluster.sh up)"; return 0; }
  local b
  for b in kube-apiserver kube-controller-manager kube-scheduler etcd kwok kwokctl; do
    if [ ! -x "$BIN/$b" ]; then
      BIN="$("$ROOT/hack/k8s-binaries.sh" cluster)"
      break
    fi
  done
  KWOKCTL="$BIN/kwokctl"
}

k() { kubectl --kubeconfig "$KUBECONFIG_FILE" "$@"; }

exists() { "$KWOKCTL" get clusters 2>/dev/null | grep -qx "$NAME"; }

healthy() {
  [ -s "$KUBECONFIG_FILE" ] && k get --raw /readyz >/dev/null 2>&1
}

write_config() {
  mkdir -p "$STATE"
  cat >"$STATE/kwokctl.yaml" <<YAML
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
componentsPatches:
- name: kube-apiserver
  extraArgs:
  # Room for thousands of ClusterIP Services (the default range holds about 250).
  - key: service-cluster-ip-range
    value: $SERVICE_CIDR
- name: kube-controller-manager
  extraArgs:
  - key: service-cluster-ip-range
    value: $SERVICE_CIDR
  # Real PersistentVolumes for PVCs: directories under /tmp/hostpath_pv on this machine.
  - key: enable-hostpath-provisioner
    value: "true"
  # Each controller acts as its own ServiceAccount (system:serviceaccount:kube-system:
  # namespace-controller, ...), as on kubeadm and managed clusters; admission policies
  # that name those identities then behave here as they do there.
  - key: use-service-account-credentials
    value: "true"
YAML
}

create() {
  write_config
  rm -f "$STATE/kwokctl.applied.yaml"
  log "creating cluster '$NAME' (binary runtime, binaries from $BIN)"
  "$KWOKCTL" create cluster --name "$NAME" --runtime binary \
    --config "$STATE/kwokctl.yaml" \
    --kube-apiserver-binary "$BIN/kube-apiserver" \
    --kube-controller-manager-binary "$BIN/kube-controller-manager" \
    --kube-scheduler-binary "$BIN/kube-scheduler" \
    --etcd-binary "$BIN/etcd" \
    --kwok-controller-binary "$BIN/kwok" \
    --disable-qps-limits \
    --wait 2m >"$STATE/kwokctl.log" 2>&1 || { tail -n 30 "$STATE/kwokctl.log" >&2; die "kwokctl create cluster failed; full log: $STATE/kwokctl.log"; }
  cp "$STATE/kwokctl.yaml" "$STATE/kwokctl.applied.yaml"
}

node() { # name region zone [pool]
  local name=$1 region=$2 zone=$3 pool=${4:-}
  cat <<YAML
---
apiVersion: v1
kind: Node
metadata:
  name: $name
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    type: kwok
    kubernetes.io/hostname: $name
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    topology.kubernetes.io/region: $region
    topology.kubernetes.io/zone: $zone
YAML
  if [ -n "$pool" ]; then
    cat <<YAML
    silo.dev/node-pool: $pool
spec:
  taints:
  - key: silo.dev/node-pool
    value: $pool
    effect: NoSchedule
YAML
  fi
  cat <<YAML
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "110", ephemeral-storage: 1Ti}
  capacity: {cpu: "32", memory: 256Gi, pods: "110", ephemeral-storage: 1Ti}
YAML
}

storage_class() { # name default
  cat <<YAML
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: $1
  annotations:
    storageclass.kubernetes.io/is-default-class: "$2"
provisioner: kubernetes.io/host-path
reclaimPolicy: Delete
volumeBindingMode: Immediate
YAML
}

pool_nodes() { # pool: one tainted node in each region
  local r
  for r in "${REGIONS[@]}"; do node "silo-pool-$1-$r" "$r" "${r}a" "$1"; done
}

runtime_class() { # name
  cat <<YAML
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata:
  name: $1
handler: $1
YAML
}

populate() {
  log "adding fake nodes (regions ${REGIONS[*]}, pool '$POOL') and StorageClasses"
  {
    for r in "${REGIONS[@]}"; do
      node "silo-$r-a" "$r" "${r}a"
      node "silo-$r-b" "$r" "${r}b"
    done
    pool_nodes "$POOL"
    storage_class standard true
    for r in "${REGIONS[@]}"; do storage_class "local-$r" false; done
  } | k apply --server-side --force-conflicts -f - >/dev/null
  k wait --for=condition=Ready nodes --all --timeout=60s >/dev/null
}

# add_pools adds a dedicated pool (tainted nodes) per name, for Tenants that ask for one.
add_pools() {
  [ $# -gt 0 ] || return 0
  need_kubectl
  log "adding dedicated node pools: $*"
  local p
  for p in "$@"; do pool_nodes "$p"; done | k apply --server-side --force-conflicts -f - >/dev/null
  k wait --for=condition=Ready nodes --all --timeout=60s >/dev/null
}

# add_runtime_classes adds RuntimeClasses (kwok runs no container, so any handler
# name does), for Tenants with isolation.runtimeClassName.
add_runtime_classes() {
  [ $# -gt 0 ] || return 0
  need_kubectl
  log "adding RuntimeClasses: $*"
  local c
  for c in "$@"; do runtime_class "$c"; done | k apply --server-side --force-conflicts -f - >/dev/null
}

up() {
  need_kubectl
  binaries build
  local start=$SECONDS
  write_config
  if exists && ! cmp -s "$STATE/kwokctl.yaml" "$STATE/kwokctl.applied.yaml"; then
    log "the cluster configuration changed: recreating cluster '$NAME'"
    remove_volumes
    "$KWOKCTL" delete cluster --name "$NAME" >>"$STATE/kwokctl.log" 2>&1 || true
  fi
  if exists; then
    if ! healthy; then
      log "cluster '$NAME' exists but does not answer: starting it"
      "$KWOKCTL" start cluster --name "$NAME" >>"$STATE/kwokctl.log" 2>&1 || true
      "$KWOKCTL" get kubeconfig --name "$NAME" >"$KUBECONFIG_FILE" 2>/dev/null || true
      for _ in $(seq 1 30); do healthy && break; sleep 1; done
    fi
    if healthy; then
      log "reusing the running cluster '$NAME'"
    else
      log "cluster '$NAME' is broken: recreating it"
      "$KWOKCTL" delete cluster --name "$NAME" >>"$STATE/kwokctl.log" 2>&1 || true
      create
    fi
  else
    create
  fi
  "$KWOKCTL" get kubeconfig --name "$NAME" >"$KUBECONFIG_FILE.tmp"
  mv "$KUBECONFIG_FILE.tmp" "$KUBECONFIG_FILE"
  populate
  log "ready in $(( SECONDS - start ))s; pods are simulated by kwok (no containers run)"
  log "export KUBECONFIG=$KUBECONFIG_FILE"
}

# remove_volumes removes the directories the host-path provisioner made on this
# machine for this cluster's volumes (its PersistentVolumes say which).
remove_volumes() {
  healthy || return 0
  k get pv -o jsonpath='{range .items[*]}{.spec.hostPath.path}{"\n"}{end}' 2>/dev/null |
    while IFS= read -r p; do
      case "$p" in /tmp/hostpath_pv/?*) rm -rf -- "$p" ;; esac
    done
}

down() {
  binaries
  if exists; then
    remove_volumes
    "$KWOKCTL" delete cluster --name "$NAME" >/dev/null 2>&1 || die "kwokctl delete cluster --name $NAME failed"
    log "deleted cluster '$NAME'"
  else
    log "no cluster '$NAME'"
  fi
  rm -f "$KUBECONFIG_FILE" "$STATE/kwokctl.yaml" "$STATE/kwokctl.applied.yaml"
}

status() {
  binaries
  if ! exists; then
    echo "cluster '$NAME': not created (hack/local-cluster.sh up)"
    return 1
  fi
  if healthy; then
    echo "cluster '$NAME': running; KUBECONFIG=$KUBECONFIG_FILE"
    need_kubectl
    k get nodes -L topology.kubernetes.io/region -L silo.dev/node-pool
  else
    echo "cluster '$NAME': created but not answering (hack/local-cluster.sh up restarts it)"
    return 1
  fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  kubeconfig) echo "$KUBECONFIG_FILE" ;;
  pool) shift; add_pools "$@" ;;
  runtimeclass) shift; add_runtime_classes "$@" ;;
  *) echo "usage: $0 up|down|status|kubeconfig|pool NAME...|runtimeclass NAME..." >&2; exit 2 ;;
esac
