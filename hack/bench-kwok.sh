#!/usr/bin/env bash
# Benchmark measurement 8: N Tenants (app, database, cache) to Ready on the local kwok
# cluster, where the real scheduler, controllers and volume provisioner run and kwok
# simulates the pods (no container runs). Uses `make demo`'s set-up: the chart installed
# by helm and the operator running as the chart's ServiceAccount.
#
# Usage: hack/bench-kwok.sh [N]   (default 100). The last line of stdout is the result;
# progress goes to stderr. The cluster is deleted at the end.
set -euo pipefail

N="${1:-100}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TIMEOUT="${SILO_BENCH_KWOK_TIMEOUT:-900}"
log() { printf '[bench-kwok] %s\n' "$*" >&2; }

SILO_DEMO_TIMEOUT=600 "$ROOT/hack/demo.sh" up >&2
export KUBECONFIG="$ROOT/.cache/local-cluster/kubeconfig"
trap '"$ROOT/hack/demo.sh" down >&2 || true' EXIT

manifest="$(mktemp)"
for i in $(seq 1 "$N"); do
  cat >>"$manifest" <<YAML
---
apiVersion: silo.dev/v1alpha1
kind: Tenant
metadata:
  name: kwok-bench-$i
  labels: {silo.dev/bench: kwok}
spec:
  app: {image: registry.example.com/shop/app:1.4.2}
  database: {}
  cache: {}
  deletionPolicy: Delete
YAML
done

log "creating $N Tenants (app, database, cache: 3 simulated pods and a volume each)"
start=$(date +%s.%N)
kubectl apply --server-side -f "$manifest" >/dev/null
rm -f "$manifest"
ready=0
while :; do
  ready=$(kubectl get tenants -l silo.dev/bench=kwok -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' | grep -c '^Ready$' || true)
  elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}')
  log "[${elapsed}s] $ready/$N Ready"
  [ "$ready" -ge "$N" ] && break
  if awk -v e="$elapsed" -v t="$TIMEOUT" 'BEGIN{exit !(e>t)}'; then
    echo "kwok: only $ready of $N Tenants Ready after ${elapsed} s (timeout)"
    exit 1
  fi
  sleep 2
done
pods=$(kubectl get pods -A -l app.kubernetes.io/managed-by=silo --field-selector=status.phase=Running --no-headers 2>/dev/null | wc -l)
pvcs=$(kubectl get pvc -A --no-headers 2>/dev/null | grep -c ' Bound ' || true)
echo "$N Tenants Ready in ${elapsed} s ($(awk -v n="$N" -v e="$elapsed" 'BEGIN{printf "%.1f", n/e}') Tenants/s; $pods simulated pods Running, $pvcs volumes Bound)"
