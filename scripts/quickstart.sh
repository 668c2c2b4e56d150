#!/usr/bin/env bash
# Sets up (dependencies + build) and runs the main job on this machine. The README's first command.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
scripts/build.sh release
exec build/release/bin/star up --check --workers 2 --trainers 2 --state-dir "$root/star-state"
