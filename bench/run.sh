#!/usr/bin/env bash
# End-to-end timings of the preflight binary: check on the example twin,
# and validate + plan on a generated twin with 10,000 instances and 1,000
# routers. Prints the median wall time of RUNS runs and the largest
# resident set size (GNU time). Usage: bench/run.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-7}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/preflight" ./cmd/preflight
"$work/preflight" gen --regions 3 --zones 3 --services 500 --instances 10000 --routers 1000 --seed 1 "$work/large" >/dev/null

measure() { # name, expected exit code, command...
  local name=$1 want=$2; shift 2
  local times=() rss=0
  for _ in $(seq "$runs"); do
    local start end code=0
    start=$(date +%s%N)
    /usr/bin/time -f '%M' -o "$work/rss" "$@" >/dev/null 2>&1 || code=$?
    end=$(date +%s%N)
    if [ "$code" != "$want" ]; then echo "$name: exit $code, want $want" >&2; exit 1; fi
    times+=($(( (end - start) / 1000000 )))
    local r; r=$(tail -1 "$work/rss")
    if [ "$r" -gt "$rss" ]; then rss=$r; fi
  done
  local median
  median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  printf '%-44s median %6d ms  (min %d, max %d; %d runs)  max RSS %d MiB\n' "$name" "$median" \
    "$(printf '%s\n' "${times[@]}" | sort -n | head -1)" "$(printf '%s\n' "${times[@]}" | sort -n | tail -1)" "$runs" $((rss / 1024))
}

measure "check examples/shop (04, blocked)" 1 "$work/preflight" check examples/shop --change examples/shop/changes/04-remove-billing-hosts-typo.yaml
measure "check examples/shop (01, pass)" 0 "$work/preflight" check examples/shop --change examples/shop/changes/01-scale-api.yaml
measure "check examples/shop (09, network change)" 1 "$work/preflight" check examples/shop --change examples/shop/changes/09-backbone-maintenance.yaml
measure "validate large (10k instances, 1k routers)" 0 "$work/preflight" validate "$work/large"
measure "plan large: drain zone r01-az1" 0 "$work/preflight" plan "$work/large" --command "drain zone r01-az1"
measure "check large: drain zone r01-az1" 1 "$work/preflight" check "$work/large" --command "drain zone r01-az1"
# The incident library: each faulty change blocked, each intended change passed.
for dir in examples/incidents/*/; do
  name=$(basename "$dir")
  for kind in faulty:1 intended:0; do
    file="$dir"changes/"${kind%:*}".yaml
    [ -f "$file" ] || file="$dir"changes/"${kind%:*}".cmd
    measure "check incident $name (${kind%:*})" "${kind#*:}" "$work/preflight" check "$dir"twin --change "$file"
  done
done
