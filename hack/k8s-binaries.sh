#!/usr/bin/env bash
# Builds the Kubernetes binaries Silo's tests and local cluster need, from the Go
# module proxy only (no release download site is reachable from CI), and caches them
# under .cache/k8s/<version>/bin, keyed by version. A second run is a no-op.
#
# Usage: hack/k8s-binaries.sh [test|cluster|all|promtool|helm]
#   test     kube-apiserver, etcd                     (envtest: make test)
#   cluster  test + kube-controller-manager, kube-scheduler, kwok, kwokctl, helm
#   all      the same as cluster
#   promtool promtool only (make check-rules)
#   helm     helm only
# Prints the bin folder on the last line of stdout; progress goes to stderr.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.37.2}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
HELM_VERSION="${HELM_VERSION:-v3.19.0}"
HELM_K8S_MINOR="${HELM_K8S_MINOR:-34}"
PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-v0.316.0}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SILO_CACHE:-$ROOT/.cache}"
BIN="$CACHE/k8s/v$K8S_VERSION/bin"
TOOLBIN="$CACHE/tools/bin"
WORK="$CACHE/k8s/v$K8S_VERSION/build"
what="${1:-test}"

log() { printf '[k8s-binaries] %s\n' "$*" >&2; }

mkdir -p "$BIN" "$TOOLBIN"

want=(kube-apiserver etcd)
case "$what" in
  test) ;;
  cluster|all) want+=(kube-controller-manager kube-scheduler kwok kwokctl helm) ;;
  promtool|helm) want=("$what") ;;
  *) echo "usage: $0 [test|cluster|all|promtool|helm]" >&2; exit 2 ;;
esac

# stale reports whether a cached binary predates how this script builds it: a helm
# built without its version ldflags renders charts for Kubernetes 1.20 and fails a
# chart's kubeVersion constraint in `helm template`.
stale() {
  case "$1" in
    helm) [ "$("$BIN/helm" version --template '{{.Version}}' 2>/dev/null)" != "$HELM_VERSION" ] ;;
    *) false ;;
  esac
}

missing=()
for b in "${want[@]}"; do { [ -x "$BIN/$b" ] && ! stale "$b"; } || missing+=("$b"); done
if [ ${#missing[@]} -eq 0 ]; then
  log "cached in $BIN: ${want[*]}"
  echo "$BIN"
  exit 0
fi
log "building ${missing[*]} (Kubernetes v$K8S_VERSION) into $BIN"

need_k8s=false
for b in "${missing[@]}"; do
  case "$b" in kube-apiserver|kube-controller-manager|kube-scheduler|etcd) need_k8s=true ;; esac
done

if $need_k8s; then
  mkdir -p "$WORK"
  if [ ! -f "$WORK/go.sum" ] || ! grep -q "k8s.io/kubernetes v$K8S_VERSION" "$WORK/go.mod" 2>/dev/null; then
    log "resolving k8s.io/kubernetes@v$K8S_VERSION from the module proxy"
    modfile=$(cd "$WORK" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    staging_version="v0${K8S_VERSION#1}"
    {
      echo "module k8sbuild"
      echo
      echo "go 1.26"
      echo
      echo "require ("
      echo "	k8s.io/kubernetes v$K8S_VERSION"
      echo ")"
      echo
      echo "replace ("
      # Every "k8s.io/X => ./staging/src/k8s.io/X" becomes "k8s.io/X => k8s.io/X v0.Y.Z".
      sed -n '/^replace (/,/^)/p' "$modfile" | grep '=> ./staging/src/' \
        | awk -v v="$staging_version" '{print "\t" $1 " => " $1 " " v}'
      echo ")"
    } >"$WORK/go.mod"
    cat >"$WORK/tools.go" <<'GO'
//go:build tools

package k8sbuild

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
GO
    (cd "$WORK" && go mod tidy >&2)
  fi
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=${K8S_VERSION%%.*} -X k8s.io/component-base/version.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2) -X k8s.io/client-go/pkg/version.gitVersion=v$K8S_VERSION"
  for b in "${missing[@]}"; do
    start=$(date +%s)
    case "$b" in
      etcd) pkg=go.etcd.io/etcd/server/v3 ;;
      kube-apiserver|kube-controller-manager|kube-scheduler) pkg="k8s.io/kubernetes/cmd/$b" ;;
      *) continue ;;
    esac
    log "go build $b (kube-apiserver takes about 4 minutes on 2 cores the first time)"
    (cd "$WORK" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$BIN/$b.tmp" "$pkg")
    mv "$BIN/$b.tmp" "$BIN/$b"
    log "built $b in $(( $(date +%s) - start ))s"
  done
fi

for b in "${missing[@]}"; do
  case "$b" in
    kwok|kwokctl)
      log "go install sigs.k8s.io/kwok/cmd/$b@$KWOK_VERSION"
      GOBIN="$BIN" CGO_ENABLED=0 go install "sigs.k8s.io/kwok/cmd/$b@$KWOK_VERSION" ;;
    helm)
      # The ldflags of helm's own release build: its version, and the Kubernetes
      # version `helm template` and `helm lint` assume without a cluster (helm v3.19
      # is built against Kubernetes 1.34).
      log "go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
      helm_ldflags="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
      for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
        helm_ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$HELM_K8S_MINOR"
      done
      tmp="$(mktemp -d)"
      GOBIN="$tmp" CGO_ENABLED=0 go install -ldflags "$helm_ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
      # A rename, so a helm that is running keeps its file.
      mv "$tmp/helm" "$BIN/helm"
      rmdir "$tmp" ;;
    promtool)
      log "go install github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION (a few minutes the first time)"
      GOBIN="$BIN" CGO_ENABLED=0 go install "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION" ;;
  esac
done

log "ready in $BIN"
echo "$BIN"
