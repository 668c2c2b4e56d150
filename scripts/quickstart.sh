#!/usr/bin/env bash
# Sets up (dependencies + build) and runs the main job on this machine: the built-in STaR job on
# n-digit addition (examples/addition.yaml) with 2 workers and 2 trainer ranks. The README's
# first command.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
scripts/build.sh release
exec build/release/bin/star run examples/addition.yaml --workers 2 --state-dir "$root/star-state"
