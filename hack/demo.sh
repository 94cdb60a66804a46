#!/usr/bin/env bash
# `make demo`: Silo end to end on this machine with only Go installed.
#   1. a local cluster (hack/local-cluster.sh: real control plane, kwok fake nodes;
#      pods are SIMULATED, no container runs)
#   2. the Helm chart installed into silo-system
#   3. the operator running here as the chart's ServiceAccount (hack/local-operator.sh)
#   4. sample Tenants applied, and watched until Ready
# Run it again at will: it reuses the cluster, upgrades the release and restarts the
# operator. `make demo-down` removes it all.
#
# Usage: hack/demo.sh up|down
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NS=silo-system
RELEASE=silo
TIMEOUT="${SILO_DEMO_TIMEOUT:-300}"

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

up() {
  local start=$SECONDS
  say "Silo demo. Pods are simulated by kwok: the scheduler places them on fake nodes and kwok reports them Running; no container runs."
  say "Local cluster"
  "$ROOT/hack/local-cluster.sh" up
  export KUBECONFIG="$ROOT/.cache/local-cluster/kubeconfig"
  local bin
  bin="$("$ROOT/hack/k8s-binaries.sh" cluster 2>/dev/null)"
  local helm="$bin/helm"

  say "Helm chart charts/silo -> namespace $NS"
  kubectl apply --server-side -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata:
  name: $NS
  labels:
    pod-security.kubernetes.io/enforce: restricted
YAML
  # replicaCount=0: the chart's Deployment could only get a simulated pod here; the
  # operator runs as a local process instead, with the chart's ServiceAccount and flags.
  "$helm" upgrade --install "$RELEASE" "$ROOT/charts/silo" -n "$NS" \
    -f "$ROOT/hack/demo/values.yaml" --set replicaCount=0 --wait --timeout 2m >/dev/null
  "$helm" status "$RELEASE" -n "$NS" | grep -E '^(NAME|STATUS|REVISION):' | sed 's/^/    /'

  say "Operator (local process, ServiceAccount $NS/silo)"
  SILO_NAMESPACE=$NS SILO_RELEASE=$RELEASE "$ROOT/hack/local-operator.sh" start

  say "Tenants"
  local files=()
  # Classes first, so the Tenants that name them find them.
  for f in "$ROOT"/config/samples/*tenantclass*.yaml; do [ -f "$f" ] && files+=("$f"); done
  for f in "$ROOT"/config/samples/*.yaml; do
    case "$f" in *tenantclass*) ;; *) [ -f "$f" ] && files+=("$f") ;; esac
  done
  [ ${#files[@]} -gt 0 ] || files=("$ROOT/hack/demo/tenants.yaml")
  # What the Tenants ask of the cluster: their dedicated node pools and sandboxed
  # runtimes (kwok simulates those pods like any other).
  local pools classes
  pools=$(grep -hoE 'nodePool:[[:space:]]*[a-z0-9.-]+' "${files[@]}" | awk '{print $2}' | sort -u | tr '\n' ' ' || true)
  classes=$(grep -hoE 'runtimeClassName:[[:space:]]*[a-z0-9.-]+' "${files[@]}" | awk '{print $2}' | sort -u | tr '\n' ' ' || true)
  # shellcheck disable=SC2086
  "$ROOT/hack/local-cluster.sh" pool $pools
  # shellcheck disable=SC2086
  "$ROOT/hack/local-cluster.sh" runtimeclass $classes
  for f in "${files[@]}"; do
    note "kubectl apply -f ${f#"$ROOT"/}"
    kubectl apply -f "$f" | sed 's/^/    /'
  done

  say "Waiting for every Tenant to be Ready (timeout ${TIMEOUT}s)"
  local deadline=$(( SECONDS + TIMEOUT )) total ready line
  while :; do
    total=$(kubectl get tenants --no-headers 2>/dev/null | wc -l)
    ready=$(kubectl get tenants -o go-template='{{range .items}}{{range .status.conditions}}{{if and (eq .type "Ready") (eq .status "True")}}x{{"\n"}}{{end}}{{end}}{{end}}' | grep -c x || true)
    line=$(kubectl get tenants -o go-template='{{range .items}}{{.metadata.name}}={{or .status.phase "Pending"}}({{or .status.componentsReady "-"}}) {{end}}')
    printf '    [%3ss] %s/%s Ready: %s\n' "$(( SECONDS - start ))" "$ready" "$total" "$line"
    [ "$total" -gt 0 ] && [ "$ready" -eq "$total" ] && break
    if [ $SECONDS -ge $deadline ]; then
      kubectl get tenants -o wide
      die "not every Tenant became Ready in ${TIMEOUT}s: see kubectl describe tenant <name>, and the operator's log .cache/local-operator/silo.log"
    fi
    sleep 2
  done
  kubectl wait --for=condition=Ready tenants --all --timeout=30s >/dev/null

  say "Ready in $(( SECONDS - start ))s"
  kubectl get tenants -o wide
  if kubectl get tenantclasses --no-headers 2>/dev/null | grep -q .; then
    echo
    kubectl get tenantclasses
  fi
  cat <<TXT

Where to look next (pods are simulated by kwok: Running, but no container runs):
  export KUBECONFIG=$KUBECONFIG
  kubectl describe tenant <name>                   # conditions, components, events
  kubectl describe tenantclass standard            # a class's revision and rollout (docs/fleet.md)
  kubectl get all,pvc,resourcequota,networkpolicy -n tenant-<name>
  kubectl get pods -A -o wide                      # which fake node each pod landed on
  kubectl get nodes -L topology.kubernetes.io/region -L silo.dev/node-pool
  tail -f .cache/local-operator/silo.log           # the operator's log
  make demo-down                                   # stop the operator, delete the cluster
TXT
}

down() {
  say "Stopping the operator and deleting the local cluster (pods there were simulated by kwok)"
  "$ROOT/hack/local-operator.sh" stop
  "$ROOT/hack/local-cluster.sh" down
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
