#!/usr/bin/env bash
# Sets up (dependencies + build) and runs the whole test suite, then each fuzz target for a
# bounded time (scripts/fuzz.sh), then the whole suite again built with AddressSanitizer +
# UndefinedBehaviorSanitizer (the asan preset), then the concurrency tests under
# ThreadSanitizer (scripts/tsan.sh). The README's test command.
#   scripts/test.sh [PRESET]      STAR_FUZZ_SECONDS (default 30) per fuzz target, 0 skips them;
#                                 STAR_ASAN=0 skips the ASan+UBSan suite (about 25 minutes);
#                                 STAR_TSAN=0 skips the ThreadSanitizer tests (about 5 minutes)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
preset=${1:-release}
cd "$root"
scripts/build.sh "$preset"
ctest --preset "$preset"
fuzz_seconds=${STAR_FUZZ_SECONDS:-30}
if [[ $fuzz_seconds != 0 ]]; then
  scripts/fuzz.sh "$fuzz_seconds"
fi
if [[ ${STAR_ASAN:-1} != 0 && $preset != asan ]]; then
  scripts/build.sh asan
  ctest --preset asan
fi
if [[ ${STAR_TSAN:-1} != 0 && $preset != tsan ]]; then
  scripts/tsan.sh
fi
