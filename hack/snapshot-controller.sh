#!/usr/bin/env bash
# Builds the CSI snapshot controller (github.com/kubernetes-csi/external-snapshotter,
# cmd/snapshot-controller, the version below) from the Go module proxy into the
# cache, and runs it as a process against a cluster, the way the local cluster runs
# the other control-plane binaries. The end-to-end tier's `backup` specs use it.
#
# Usage: hack/snapshot-controller.sh build|start|stop|status
#   build   build the binary (cached per version in SILO_CACHE, default .cache/: a
#           second run is a no-op); prints its path
#   start   build, stop one started earlier, start it in the background against
#           KUBECONFIG (an admin's; default .cache/local-cluster/kubeconfig) as the
#           ServiceAccount kube-system/snapshot-controller with upstream's RBAC
#           (deploy/kubernetes/snapshot-controller of the same module), the identity
#           it has on a cluster installed from upstream's manifests
#   stop    stop the one started here
#   status  print the pid of the one started here; exit 1 when it does not run
#
# The snapshot CRDs come from the client module the operator pins (go.mod), which
# ships them in config/crd: `kubectl apply -f $(go list -m -f '{{.Dir}}'
# github.com/kubernetes-csi/external-snapshotter/client/v8)/config/crd`.
# Without a CSI driver no snapshot becomes ready: the controller reports why in the
# snapshot's status.error.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=hack/process.sh
. "$ROOT/hack/process.sh"
VERSION="${SNAPSHOTTER_VERSION:-v8.7.0}"
CACHE="${SILO_CACHE:-$ROOT/.cache}"
OUT="$CACHE/snapshot-controller/$VERSION"
BIN="$OUT/snapshot-controller"
WORK="$CACHE/snapshot-controller/build-$VERSION"
STATE="${SILO_SNAPSHOT_STATE:-$ROOT/.cache/snapshot-controller-run}"
PIDFILE="$STATE/pid"
ADMIN_KUBECONFIG="${KUBECONFIG:-$ROOT/.cache/local-cluster/kubeconfig}"
SA_KUBECONFIG="$STATE/kubeconfig"
MODULE=github.com/kubernetes-csi/external-snapshotter/v8

log() { printf '[snapshot-controller] %s\n' "$*" >&2; }

build() {
  if [ -x "$BIN" ]; then
    echo "$BIN"
    return
  fi
  log "building $MODULE/cmd/snapshot-controller@$VERSION"
  mkdir -p "$WORK" "$OUT"
  cat >"$WORK/go.mod" <<MOD
module snapshotcontroller

go 1.26
MOD
  cat >"$WORK/tools.go" <<'GO'
//go:build tools

package snapshotcontroller

import _ "github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller"
GO
  (cd "$WORK" && go get "$MODULE@$VERSION" >&2 && go mod tidy >&2 &&
    CGO_ENABLED=0 go build -trimpath -o "$BIN.tmp" "$MODULE/cmd/snapshot-controller")
  mv "$BIN.tmp" "$BIN"
  log "ready: $BIN"
  echo "$BIN"
}

# identity creates the controller's ServiceAccount and upstream's RBAC for it, and a
# kubeconfig that acts as it.
identity() {
  local dir
  dir=$(cd "$WORK" && go list -m -f '{{.Dir}}' "$MODULE")
  kubectl --kubeconfig "$ADMIN_KUBECONFIG" apply --server-side --force-conflicts \
    -f "$dir/deploy/kubernetes/snapshot-controller/rbac-snapshot-controller.yaml" >/dev/null
  KUBECONFIG="$ADMIN_KUBECONFIG" "$ROOT/hack/sa-kubeconfig.sh" kube-system snapshot-controller "$SA_KUBECONFIG"
}

running() { pid_running "$PIDFILE" "$BIN"; }

stop() {
  local pid=""
  if pid=$(running); then log "stopping (pid $pid)"; fi
  pid_stop "$pid" "$PIDFILE"
}

case "${1:-}" in
  build) build ;;
  start)
    build >/dev/null
    stop
    mkdir -p "$STATE"
    identity
    # Silo takes no group snapshots: without the gate off, the controller waits 30
    # seconds at start for the VolumeGroupSnapshot CRDs before it handles anything.
    "$BIN" --kubeconfig "$SA_KUBECONFIG" --leader-election=false --feature-gates=CSIVolumeGroupSnapshot=false \
      --v=2 >"$STATE/log" 2>&1 &
    echo $! >"$PIDFILE"
    log "started as system:serviceaccount:kube-system:snapshot-controller (pid $(cat "$PIDFILE")), log $STATE/log"
    ;;
  stop) stop ;;
  status) running || { log "not running"; exit 1; } ;;
  *) echo "usage: $0 build|start|stop|status" >&2; exit 2 ;;
esac
