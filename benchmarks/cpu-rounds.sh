#!/bin/bash
# cpu-rounds.sh R BIN... — server CPU per request (isl-cpu) of each ISL binary and of the floor server,
# interleaved: R rounds, each running every binary then the floor, so that all columns see the same
# minutes of a shared machine. Prints the median and range per binary and endpoint.
#   (cd service && GOWORK=off CGO_ENABLED=0 go build -trimpath -o /tmp/isl ./cmd/isl)
#   benchmarks/cpu-rounds.sh 7 /tmp/isl-before /tmp/isl
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/isl-cpu" ./benchmarks/cmd/isl-cpu
(cd benchmarks && GOWORK=off CGO_ENABLED=0 go build -trimpath -o "$tmp/isl-floor" ./cmd/isl-floor)
for _ in $(seq "$rounds"); do
  for bin in "$@" "$tmp/isl-floor"; do
    eps=health,validate,counterfactual
    [ "$bin" = "$tmp/isl-floor" ] && eps=health
    "$tmp/isl-cpu" --server "$bin" --endpoints "$eps" --n 10000 --c 50 --warmup 1000 |
      awk -v b="$(basename "$bin")" -F'|' 'NR > 2 { gsub(/ /, "", $2); gsub(/ /, "", $6); print b, $2, $6 }' >>"$tmp/runs"
  done
done
sort "$tmp/runs" | awk '
  { k = $1 " " $2; v[k, ++n[k]] = $3 }
  END {
    for (k in n) {
      m = n[k]
      for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[k, j] < v[k, i]) { t = v[k, i]; v[k, i] = v[k, j]; v[k, j] = t }
      med = (m % 2) ? v[k, (m + 1) / 2] : (v[k, m / 2] + v[k, m / 2 + 1]) / 2
      printf "%-28s median %.4f ms  range %.4f-%.4f  runs %d\n", k, med, v[k, 1], v[k, m], m
    }
  }' | sort
