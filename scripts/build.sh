#!/usr/bin/env bash
# Installs what is missing (scripts/install-deps.sh) and builds a preset (default: release).
#   scripts/build.sh [PRESET]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
preset=${1:-release}
cd "$root"
scripts/install-deps.sh
start=$(date +%s)
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
echo "[build] preset $preset built in $(( $(date +%s) - start ))s"
