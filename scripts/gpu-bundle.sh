#!/usr/bin/env bash
# Packs the release binaries into one folder that runs on a GPU machine which has PyTorch 2.11
# (cu130) installed but none of Debian's development packages and no network:
#
#   scripts/gpu-bundle.sh DIR [BUILD_DIR]     (BUILD_DIR: build/release)
#
# DIR/bin     the binaries, stripped: star, star-coordinator, star-worker, star-trainer, the
#             benchmarks, and the test binaries whose CUDA tests scripts/gpu-check.sh runs
# DIR/lib     every shared library they need except libtorch, CUDA's and glibc's (libstdc++ and
#             libgcc_s included: the target's may be older than the ones the build used)
# DIR/run     the launcher: `DIR/run star --help`, `DIR/run star-worker ...` (any program in
#             bin/). It finds libtorch and the NVIDIA libraries through the target's
#             `python3 -c 'import torch'` (STAR_PYTHON overrides python3).
# DIR/scripts, DIR/examples   what scripts/gpu-check.sh needs, and the script itself.
#
# Fails if DIR would exceed 48 MiB. The binaries need glibc 2.36 or newer on the target.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:?usage: scripts/gpu-bundle.sh DIR [BUILD_DIR]}
build=${2:-$root/build/release}
limit_bytes=$((48 * 1024 * 1024))

programs=(star star-coordinator star-worker star-trainer star-bench-generation
          star-bench-training)
# The test binaries that hold the CUDA tests (they skip on a machine without a GPU).
test_programs=(collective_test round_trainer_test llama_model_test)

for p in "${programs[@]}" "${test_programs[@]}"; do
  [[ -x $build/bin/$p ]] || { echo "gpu-bundle: $build/bin/$p is missing (build the release preset first)" >&2; exit 1; }
done

rm -rf "$out"
mkdir -p "$out/bin" "$out/lib" "$out/scripts" "$out/examples"
for p in "${programs[@]}" "${test_programs[@]}"; do
  strip --strip-all -o "$out/bin/$p" "$build/bin/$p"
done

# The libraries the loader resolves for them here, except those the target brings: libtorch and
# c10 (and the OpenMP runtime torch ships), CUDA's and NVIDIA's, and glibc's.
provided='/(torch|nvidia|cuda)/|lib(torch|c10|gomp|cuda|nccl|cudart|cupti|nvToolsExt)[^/]*$|/(libc|libm|libpthread|libdl|librt|libutil|ld-linux-x86-64)\.so'
for p in "${programs[@]}" "${test_programs[@]}"; do
  ldd "$build/bin/$p" | awk '$2 == "=>" && $3 ~ /^\// {print $3}'
done | sort -u | grep -Ev "$provided" | while read -r lib; do
  strip --strip-unneeded -o "$out/lib/$(basename "$lib")" "$(readlink -f "$lib")"
done

cat > "$out/run" <<'LAUNCHER'
#!/usr/bin/env bash
# Runs a program of this bundle with libtorch and the NVIDIA libraries of python3's torch:
#   run PROGRAM [ARGS...]      e.g. run star --help; run star run examples/addition-smoke.yaml
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python=${STAR_PYTHON:-python3}
program=${1:?usage: run PROGRAM [ARGS...] (a program in $here/bin)}
shift
[[ -x $here/bin/$program ]] || { echo "run: no program '$program' in $here/bin" >&2; exit 2; }
if ! found=$("$python" - <<'PY'
import glob, os, torch
lib = os.path.join(os.path.dirname(torch.__file__), "lib")
site = os.path.dirname(os.path.dirname(torch.__file__))
print(torch.__version__)
print(":".join([lib] + sorted(glob.glob(os.path.join(site, "nvidia", "*", "lib")))))
PY
); then
  echo "run: $python cannot import torch (set STAR_PYTHON to a python3 that has torch 2.11)" >&2
  exit 1
fi
version=$(sed -n 1p <<<"$found")
case $version in
  2.11.*) ;;
  *) echo "run: warning: torch $version found; this bundle was built against torch 2.11" >&2 ;;
esac
export LD_LIBRARY_PATH="$here/lib:$(sed -n 2p <<<"$found")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
exec "$here/bin/$program" "$@"
LAUNCHER
chmod +x "$out/run"

cp "$root/scripts/gpu-check.sh" "$root/scripts/gpu_bench.py" "$out/scripts/"
cp -r "$root/examples/tiny-char-llama" "$root/examples/addition-smoke.yaml" "$out/examples/"

bytes=$(du -sb "$out" | cut -f1)
echo "gpu-bundle: $out: $(find "$out/lib" -type f | wc -l) libraries, $((bytes / 1024 / 1024)) MiB ($bytes bytes)"
if (( bytes > limit_bytes )); then
  echo "gpu-bundle: $out is over the 48 MiB limit" >&2
  exit 1
fi
