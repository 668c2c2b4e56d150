#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (AddressSanitizer + UndefinedBehaviorSanitizer,
# leak detection on) and runs each for a bounded time from the seeds in fuzz/corpus. Exits
# non-zero when a fuzzer finds a crash, a leak, a timeout or an out-of-memory; the input that
# did it is left in build/fuzz/findings/.
#   scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 30)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-30}
cd "$root"
build=build/fuzz
log() { echo "[fuzz $(date +%H:%M:%S)] $*"; }

if [[ ! -f $build/build.ninja ]]; then
  log "configuring $build (clang, -DSTAR_FUZZ=ON)"
  CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSTAR_FUZZ=ON > "$build.configure.log" 2>&1 || { cat "$build.configure.log"; exit 1; }
fi
log "building the fuzz targets"
cmake --build "$build" -j "$(nproc)"

mkdir -p "$build/findings"
status=0
for target in job_config tokenizer safetensors request dataset; do
  corpus="$build/corpus/$target"
  mkdir -p "$corpus"
  log "$target: ${seconds}s"
  if ! "$build/bin/${target}_fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$build/findings/${target}-" \
      "$corpus" "fuzz/corpus/$target" > "$build/$target.log" 2>&1; then
    log "$target FAILED (see $build/$target.log and $build/findings/):"
    tail -40 "$build/$target.log"
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$build/$target.log" | \
      sed "s/^/[fuzz] $target /"
  fi
done
exit $status
