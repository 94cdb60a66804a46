#!/usr/bin/env bash
# Generates the CustomResourceDefinitions of the Prometheus Operator's ServiceMonitor
# and PrometheusRule from its API module on the Go module proxy
# (github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring, the
# version below) with controller-gen, as that project generates them, into the
# cache. The end-to-end tier installs them to check that the chart's monitoring
# objects apply. Prints the folder on the last line of stdout.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="${PROMETHEUS_OPERATOR_VERSION:-v0.95.2}"
CACHE="${SILO_CACHE:-$ROOT/.cache}"
OUT="$CACHE/monitoring-crds/$VERSION"
WORK="$CACHE/monitoring-crds/build-$VERSION"
MODULE=github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring
CRDS=(monitoring.coreos.com_servicemonitors.yaml monitoring.coreos.com_prometheusrules.yaml)

log() { printf '[monitoring-crds] %s\n' "$*" >&2; }

cached=true
for f in "${CRDS[@]}"; do [ -s "$OUT/$f" ] || cached=false; done
if $cached; then
  echo "$OUT"
  exit 0
fi

log "generating the ServiceMonitor and PrometheusRule CRDs from $MODULE@$VERSION"
mkdir -p "$WORK" "$OUT"
cat >"$WORK/go.mod" <<MOD
module monitoringcrds

go 1.26
MOD
cat >"$WORK/tools.go" <<'GO'
//go:build tools

package monitoringcrds

import _ "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
GO
(cd "$WORK" && go get "$MODULE@$VERSION" >&2 && go mod tidy >&2)
[ -x "$ROOT/bin/controller-gen" ] || (cd "$ROOT" && go build -o bin/controller-gen sigs.k8s.io/controller-tools/cmd/controller-gen)
rm -rf "$WORK/out"
(cd "$WORK" && "$ROOT/bin/controller-gen" crd:crdVersions=v1 "paths=$MODULE/v1" "output:crd:dir=$WORK/out")
for f in "${CRDS[@]}"; do cp "$WORK/out/$f" "$OUT/$f"; done
log "ready in $OUT"
echo "$OUT"
