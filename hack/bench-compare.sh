#!/usr/bin/env bash
# Compares the operator of a base revision with the working tree's, in the same
# conditions: the same harness provisions BENCH_TENANTS Tenants with each operator in
# turn, BENCH_ROUNDS times alternating (base, tree, base, tree, ...), so load that
# comes and goes touches both alike. Prints the operator CPU per provisioned Tenant and
# the provisioning time of each run, and the tree's over the base's as a ratio of the
# medians. The API server's ceilings are skipped (BENCH_CEILING=0).
#
#   hack/bench-compare.sh <base-rev>      e.g. hack/bench-compare.sh v0.1.0
set -euo pipefail

base=${1:?usage: hack/bench-compare.sh <base git revision>}
tenants=${BENCH_TENANTS:-200}
rounds=${BENCH_ROUNDS:-2}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
git rev-parse --verify --quiet "$base^{commit}" >/dev/null || { echo "bench-compare: $base is not a git revision" >&2; exit 2; }
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

printf '%-10s %-8s %-14s %s\n' run operator "CPU/Tenant" provisioning
for i in $(seq 1 "$rounds"); do
  for who in base tree; do
    log="$logs/$who-$i.log"
    rev=""
    [ "$who" = base ] && rev=$base
    if ! BENCH_TENANTS=$tenants BENCH_UNRELATED=${BENCH_UNRELATED:-100} BENCH_DRIFT=${BENCH_DRIFT:-5} BENCH_CEILING=0 \
        BENCH_OPERATOR_REV=$rev go run ./test/bench >"$log" 2>&1; then
      echo "bench-compare: the $who run failed:" >&2
      tail -20 "$log" >&2
      exit 1
    fi
    # bench: 15:04:05 provisioned in 16.1 s: 2.0 reconciles and 31.3 ms of operator CPU per Tenant
    line=$(grep -m1 'provisioned in' "$log")
    cpu=$(sed -E 's/.* ([0-9.]+) ms of operator CPU.*/\1/' <<<"$line")
    wall=$(sed -E 's/.*provisioned in ([0-9.]+ m?s).*/\1/' <<<"$line")
    echo "$who $cpu" >>"$logs/cpu"
    printf '%-10s %-8s %-14s %s\n' "$i" "$who" "$cpu ms" "$wall"
  done
done

median() { sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
b=$(awk '$1=="base"{print $2}' "$logs/cpu" | median)
t=$(awk '$1=="tree"{print $2}' "$logs/cpu" | median)
echo
echo "operator CPU per provisioned Tenant, $tenants Tenants, median of $rounds: base $base $b ms, tree $(git rev-parse --short HEAD)$(git diff --quiet || echo -dirty) $t ms: $(awk -v b="$b" -v t="$t" 'BEGIN{printf "%.2fx", t/b}')"
