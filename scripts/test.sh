#!/usr/bin/env bash
# Sets up (dependencies + build) and runs the whole test suite. The README's test command.
#   scripts/test.sh [PRESET]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
preset=${1:-release}
cd "$root"
scripts/build.sh "$preset"
ctest --preset "$preset"
