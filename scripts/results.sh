#!/usr/bin/env bash
# Regenerates the measurements behind docs/results.md from the shipped job files: the main job
# (examples/addition.yaml); the smoke job (examples/addition-smoke.yaml) twice, to show that two
# runs print the same table, and once more with rationalization off, side by side.
# Prints each run's table and wall time; state goes under OUTDIR (default /tmp/star-results).
#   scripts/results.sh [OUTDIR]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-/tmp/star-results}
cd "$root"
scripts/build.sh release >/dev/null
star=build/release/bin/star
mkdir -p "$out"
rm -rf "$out"/main "$out"/smoke1 "$out"/smoke2 "$out"/smoke-norat
sed 's/rationalization: true/rationalization: false/' examples/addition-smoke.yaml >"$out/smoke-norationalization.yaml"
grep -q 'rationalization: false' "$out/smoke-norationalization.yaml" || {
  echo "results.sh: examples/addition-smoke.yaml no longer says 'rationalization: true'" >&2
  exit 1
}

run() {  # NAME JOBFILE
  local start=$(date +%s)
  "$star" run "$2" --workers 2 --state-dir "$out/$1" >"$out/$1.log" 2>&1 || {
    echo "results.sh: $1 failed; see $out/$1.log" >&2
    tail -20 "$out/$1.log" >&2
    exit 1
  }
  echo "== $1: $2, $(( $(date +%s) - start )) s (cluster start to end)"
  sed -n '/^iter /,$p' "$out/$1.log"
  echo
}

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u +%F)"
run main examples/addition.yaml
run smoke1 examples/addition-smoke.yaml
run smoke2 examples/addition-smoke.yaml
run smoke-norat "$out/smoke-norationalization.yaml"
# The tables without their timing columns (generate, train and evaluate seconds), and the models.
if cmp -s <(cut -d, -f1-9,13- "$out/smoke1/results.csv") <(cut -d, -f1-9,13- "$out/smoke2/results.csv") &&
   cmp -s "$out/smoke1/jobs/smoke-1/models/m2/model.safetensors" \
          "$out/smoke2/jobs/smoke-1/models/m2/model.safetensors"; then
  echo "smoke job: the two runs' results.csv (timings aside) and last models are identical"
else
  echo "smoke job: the two runs differ"
fi
