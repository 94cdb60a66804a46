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
export KUBEBUILDER_ASSETS=${KUBEBUILDER_ASSETS:-$(hack/k8s-binaries.sh test)}
git rev-parse --verify --quiet "$base^{commit}" >/dev/null || { echo "bench-compare: $base is not a git revision" >&2; exit 2; }
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

printf '%-6s %-8s %-14s %-16s %s\n' run operator "CPU/Tenant" "alloc/Tenant" provisioning
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
    # bench: 15:04:05 provisioned in 16.1 s: 2.0 reconciles, 31.3 ms of operator CPU and 6.12 MiB allocated per Tenant
    line=$(grep -m1 'provisioned in' "$log")
    cpu=$(sed -E 's/.* ([0-9.]+) ms of operator CPU.*/\1/' <<<"$line")
    alloc=$(sed -nE 's/.* ([0-9.]+) MiB allocated.*/\1/p' <<<"$line")
    wall=$(sed -E 's/.*provisioned in ([0-9.]+ m?s).*/\1/' <<<"$line")
    echo "$who $cpu ${alloc:-0}" >>"$logs/cpu"
    printf '%-6s %-8s %-14s %-16s %s\n' "$i" "$who" "$cpu ms" "${alloc:-?} MiB" "$wall"
  done
done

median() { sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
tree="$(git rev-parse --short HEAD)$(git diff --quiet || echo -dirty)"
echo
for col in 2:"operator CPU per provisioned Tenant (ms; inflated by other work on the machine)" \
           3:"operator allocation per provisioned Tenant (MiB; the same on a shared machine)"; do
  n=${col%%:*}
  b=$(awk -v n="$n" '$1=="base"{print $n}' "$logs/cpu" | median)
  t=$(awk -v n="$n" '$1=="tree"{print $n}' "$logs/cpu" | median)
  echo "${col#*:}, $tenants Tenants, median of $rounds: base $base $b, tree $tree $t: $(awk -v b="$b" -v t="$t" 'BEGIN{ if (b > 0) printf "%.2fx", t/b; else print "n/a (the base reports none)" }')"
done
