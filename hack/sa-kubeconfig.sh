#!/usr/bin/env bash
# Writes a kubeconfig that acts as a ServiceAccount (a token minted for it, valid a
# day) against the cluster of an admin's kubeconfig: how the local cluster runs the
# operator and the CSI snapshot controller as the identities they have in a cluster.
#
# Usage: hack/sa-kubeconfig.sh NAMESPACE SERVICEACCOUNT OUT
# Environment: KUBECONFIG (an admin's; default .cache/local-cluster/kubeconfig).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ADMIN_KUBECONFIG="${KUBECONFIG:-$ROOT/.cache/local-cluster/kubeconfig}"
[ $# -eq 3 ] || { echo "usage: $0 NAMESPACE SERVICEACCOUNT OUT" >&2; exit 2; }
NS=$1 SA=$2 OUT=$3

die() { printf '[sa-kubeconfig] %s\n' "$*" >&2; exit 1; }
k() { kubectl --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }

server=$(k config view --minify --raw -o jsonpath='{.clusters[0].cluster.server}')
ca=$(k config view --minify --raw --flatten -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
[ -n "$server" ] && [ -n "$ca" ] || die "cannot read the API server address and CA from $ADMIN_KUBECONFIG"
token=$(k create token "$SA" -n "$NS" --duration 24h) || die "cannot mint a token for ServiceAccount $NS/$SA"
umask 077
cat >"$OUT" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: $server
    certificate-authority-data: $ca
users:
- name: system:serviceaccount:$NS:$SA
  user:
    token: $token
contexts:
- name: $SA
  context: {cluster: local, user: "system:serviceaccount:$NS:$SA"}
current-context: $SA
YAML
