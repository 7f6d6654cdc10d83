#!/bin/bash
# cpu-rounds.sh R BIN... — server CPU per request (isl-cpu) of each ISL binary and of the floor server,
# interleaved: R rounds, each running every binary then the floor, so that all columns see the same
# minutes of a shared machine. Prints per binary and endpoint the median and range, and the median
# of the per-round ratios to the floor.
#   (cd service && GOWORK=off CGO_ENABLED=0 go build -trimpath -o /tmp/isl ./cmd/isl)
#   benchmarks/cpu-rounds.sh 7 /tmp/isl-before /tmp/isl     (N=40000 …: requests per run, default 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/isl-cpu" ./benchmarks/cmd/isl-cpu
(cd benchmarks && GOWORK=off CGO_ENABLED=0 go build -trimpath -o "$tmp/isl-floor" ./cmd/isl-floor)
for round in $(seq "$rounds"); do
  for bin in "$@" "$tmp/isl-floor"; do
    eps=health,validate,counterfactual
    [ "$bin" = "$tmp/isl-floor" ] && eps=health
    "$tmp/isl-cpu" --server "$bin" --endpoints "$eps" --n "${N:-10000}" --c 50 --warmup 1000 |
      awk -v r="$round" -v b="$(basename "$bin")" -F'|' 'NR > 2 { gsub(/ /, "", $2); gsub(/ /, "", $6); print r, b, $2, $6 }' >>"$tmp/runs"
  done
done
# The machine's speed drifts from minute to minute (a shared VM: ±10 % between rounds), so besides
# each column's median the last column is the median of the per-round ratios to the floor server
# measured in the same round.
awk -v floor="isl-floor" '
  function median(a, m,   i, j, t) {
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
  }
  { val[$1, $2 " " $3] = $4; keys[$2 " " $3] = 1; if ($2 == floor) fl[$1] = $4; last = $1 }
  END {
    for (k in keys) {
      m = 0; q = 0; lo = ""; hi = ""
      delete a; delete b
      for (r = 1; r <= last; r++) {
        if (!((r, k) in val)) continue
        v = val[r, k]; a[++m] = v
        if (lo == "" || v < lo) lo = v
        if (hi == "" || v > hi) hi = v
        if (fl[r] > 0) b[++q] = v / fl[r]
      }
      printf "%-28s median %.4f ms  range %.4f-%.4f  runs %d  x floor %.2f\n", k, median(a, m), lo, hi, m, median(b, q)
    }
  }' "$tmp/runs" | sort
