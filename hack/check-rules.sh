#!/usr/bin/env bash
# `make check-rules`: renders the chart's PrometheusRule with helm and checks it with
# promtool, as Prometheus would load it: `promtool check rules` (syntax, PromQL,
# templates) and `promtool test rules` with test/monitoring/alerts_test.yaml (each
# alert fires when it should and stays quiet when it should not). promtool and helm
# are built from the Go module proxy into the cache (hack/k8s-binaries.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$("$ROOT/hack/k8s-binaries.sh" promtool)"
"$ROOT/hack/k8s-binaries.sh" helm >/dev/null
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The release is named silo, so the rules select the job silo-metrics, as the tests'
# input series are labelled. The rule file is the PrometheusRule's spec.
"$bin/helm" template silo "$ROOT/charts/silo" --namespace silo-system \
  --set monitoring.prometheusRule.enabled=true --show-only templates/prometheusrule.yaml \
  | sed -n '/^spec:/,$p' | sed '1d; s/^  //' >"$work/rules.yaml"
grep -q '^groups:' "$work/rules.yaml" || { echo "check-rules: the rendered PrometheusRule has no groups" >&2; exit 1; }
cp "$ROOT/test/monitoring/alerts_test.yaml" "$work/"

"$bin/promtool" check rules "$work/rules.yaml"
"$bin/promtool" test rules "$work/alerts_test.yaml"
