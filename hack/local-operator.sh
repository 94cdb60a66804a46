#!/usr/bin/env bash
# Runs the operator on this machine against a cluster where it is installed by the
# chart, with the chart's ServiceAccount and the chart's flags: the identity, RBAC and
# configuration are those of the Deployment, only the process runs here (on the local
# cluster, kwok pods run no containers, so the Deployment's pod cannot run it).
#
# Usage: hack/local-operator.sh start|stop|status
#   start   (re)build bin/silo, mint a token for the ServiceAccount, write a kubeconfig
#           with it, stop an operator started earlier, start a new one in the background
#   stop    stop the operator started here
#   status  say whether it runs
#
# Environment: KUBECONFIG (an admin's; default .cache/local-cluster/kubeconfig),
# SILO_NAMESPACE (silo-system), SILO_RELEASE (silo), SILO_SERVICE_ACCOUNT (silo),
# SILO_PROBE_PORT (18081), SILO_METRICS_PORT (18080), SILO_OPERATOR_STATE
# (.cache/local-operator: pid, log, kubeconfig).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=hack/process.sh
. "$ROOT/hack/process.sh"
ADMIN_KUBECONFIG="${KUBECONFIG:-$ROOT/.cache/local-cluster/kubeconfig}"
NS="${SILO_NAMESPACE:-silo-system}"
RELEASE="${SILO_RELEASE:-silo}"
SA="${SILO_SERVICE_ACCOUNT:-silo}"
PROBE_PORT="${SILO_PROBE_PORT:-18081}"
METRICS_PORT="${SILO_METRICS_PORT:-18080}"
STATE="${SILO_OPERATOR_STATE:-$ROOT/.cache/local-operator}"
PIDFILE="$STATE/silo.pid"
LOG="$STATE/silo.log"
SA_KUBECONFIG="$STATE/kubeconfig"

log() { printf '[local-operator] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
k() { kubectl --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }

# running prints the pid of the operator started here, if it still runs bin/silo.
running() { pid_running "$PIDFILE" "$ROOT/bin/silo"; }

stop() {
  local pid=""
  if pid=$(running); then log "stopping the operator (pid $pid)"; fi
  pid_stop "$pid" "$PIDFILE"
}

write_kubeconfig() {
  KUBECONFIG="$ADMIN_KUBECONFIG" "$ROOT/hack/sa-kubeconfig.sh" "$NS" "$SA" "$SA_KUBECONFIG" ||
    die "is the chart installed (helm upgrade --install $RELEASE charts/silo -n $NS)?"
}

# chart_args prints the operator arguments of the chart's Deployment, one a line.
chart_args() {
  k -n "$NS" get deployment -l "app.kubernetes.io/instance=$RELEASE,app.kubernetes.io/name=silo" \
    -o go-template='{{range .items}}{{range (index .spec.template.spec.containers 0).args}}{{.}}{{"\n"}}{{end}}{{end}}'
}

start() {
  # kubectl: the one on PATH, else one built from the Go module proxy into the cache.
  command -v kubectl >/dev/null 2>&1 || PATH="$("$ROOT/hack/k8s-binaries.sh" kubectl):$PATH"
  mkdir -p "$STATE"
  log "building bin/silo"
  (cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -o bin/silo .)
  stop
  write_kubeconfig
  local args=()
  while IFS= read -r a; do
    case "$a" in
      # Served on this machine's loopback instead of the pod's ports.
      --metrics-bind-address=*|--health-probe-bind-address=*) ;;
      *) args+=("$a") ;;
    esac
  done < <(chart_args)
  [ ${#args[@]} -gt 0 ] || die "no Deployment of release $RELEASE in namespace $NS: install the chart first"
  args+=("--metrics-bind-address=127.0.0.1:$METRICS_PORT" "--health-probe-bind-address=127.0.0.1:$PROBE_PORT" "--zap-encoder=console")
  log "starting bin/silo as system:serviceaccount:$NS:$SA ${args[*]}"
  KUBECONFIG="$SA_KUBECONFIG" POD_NAMESPACE="$NS" nohup "$ROOT/bin/silo" "${args[@]}" >"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  # Ready once its informer cache has synced.
  for _ in $(seq 1 300); do
    if ! running >/dev/null; then
      tail -n 20 "$LOG" >&2
      die "the operator exited; its log is $LOG"
    fi
    if curl -sf "http://127.0.0.1:$PROBE_PORT/readyz" >/dev/null 2>&1; then
      log "operator running (pid $(cat "$PIDFILE")), log: $LOG"
      return 0
    fi
    sleep 0.2
  done
  die "the operator did not become ready within 60s; its log is $LOG"
}

status() {
  local pid
  if pid=$(running); then
    echo "operator running (pid $pid), log: $LOG"
  else
    echo "operator not running"
    return 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
