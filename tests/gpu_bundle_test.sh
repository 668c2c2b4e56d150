#!/usr/bin/env bash
# The GPU bundle (scripts/gpu-bundle.sh) as a machine with torch but no Debian development
# packages would see it: at most 48 MiB; every library its programs load resolves into the
# bundle, the venv's torch (and its NVIDIA libraries) or glibc; and its launcher runs `star
# --help` and the daemons with an environment emptied of everything but PATH and the python3 to
# find torch with.
#   tests/gpu_bundle_test.sh BUILD_DIR PYTHON
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:?usage: gpu_bundle_test.sh BUILD_DIR PYTHON}
python=${2:?usage: gpu_bundle_test.sh BUILD_DIR PYTHON}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$root/scripts/gpu-bundle.sh" "$work/bundle" "$build"
bytes=$(du -sb "$work/bundle" | cut -f1)
(( bytes <= 48 * 1024 * 1024 )) || fail "bundle is $bytes bytes, over 48 MiB"
echo "bundle: $bytes bytes"

torch_lib=$("$python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
site=$(dirname "$(dirname "$torch_lib")")
allowed="^($work/bundle/lib/|$torch_lib/|$site/nvidia/|/lib/x86_64-linux-gnu/(libc|libm|libpthread|libdl|librt|libutil)\.so|/lib64/ld-linux)"
for program in "$work"/bundle/bin/*; do
  while read -r name arrow path rest; do
    [[ $arrow == "=>" ]] || continue
    [[ $path == "not" ]] && fail "$(basename "$program"): $name not found"
    resolved=$(readlink -f "$path")
    [[ $path =~ $allowed || $resolved =~ $allowed ]] ||
      fail "$(basename "$program"): $name resolves to $path, outside the bundle, torch and glibc"
  done < <(env -i PATH=/usr/bin:/bin LD_LIBRARY_PATH="$work/bundle/lib:$torch_lib" ldd "$program")
done
echo "every library resolves into the bundle, torch or glibc"

clean_env=(env -i "PATH=/usr/bin:/bin" "HOME=$work" "STAR_PYTHON=$python")
"${clean_env[@]}" "$work/bundle/run" star --help | grep -q "^Usage: star" || fail "run star --help"
for daemon in star-coordinator star-worker star-trainer; do
  "${clean_env[@]}" "$work/bundle/run" "$daemon" --help | grep -q "Usage: $daemon" ||
    fail "run $daemon --help"
done
set +e
output=$("${clean_env[@]}" "$work/bundle/run" star-worker --device cuda:99 2>&1)
status=$?
set -e
[[ $status == 2 && $output == *"--device: 'cuda:99' asks for CUDA device 99"* ]] ||
  fail "run star-worker --device cuda:99: exit $status: $output"
"${clean_env[@]}" "$work/bundle/run" no-such-program >/dev/null 2>&1 && fail "run accepted an unknown program"
echo "PASS"
